package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// sessionSite is a site on 127.0.0.1 whose first page sets the session
// cookie sid=s3ss and whose other pages answer 403 without it; /private
// also wants pre=l0aded, a cookie no page sets. Pages link and /away
// redirects to a canary on localhost (another host, for cookies), which
// notes every Cookie it is sent.
type sessionSite struct {
	site, canary *httptest.Server
	canaryURL    string // canary.URL on localhost

	mu    sync.Mutex
	leaks []string
	asked map[string]bool
}

func newSessionSite(t *testing.T) *sessionSite {
	t.Helper()
	s := &sessionSite{asked: map[string]bool{}}
	has := func(r *http.Request, name, value string) bool {
		c, err := r.Cookie(name)
		return err == nil && c.Value == value
	}
	s.site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch {
		case r.URL.Path == "/robots.txt":
			w.Write([]byte("User-agent: *\nAllow: /\n"))
		case r.URL.Path == "/":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3ss", Path: "/", HttpOnly: true, MaxAge: 3600})
			w.Write([]byte(`<a href="/a">a</a> <a href="/away">away</a> <a href="/private">p</a> <a href="` + s.canaryURL + `/linked">c</a>`))
		case r.URL.Path == "/private" && !has(r, "pre", "l0aded"):
			http.Error(w, "no pre", http.StatusForbidden)
		case !has(r, "sid", "s3ss"):
			http.Error(w, "no session", http.StatusForbidden)
		case r.URL.Path == "/away":
			http.Redirect(w, r, s.canaryURL+"/from-site", http.StatusFound)
		default:
			w.Write([]byte(`<a href="/b">b</a>`))
		}
	}))
	t.Cleanup(s.site.Close)
	s.canary = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.asked[r.URL.Path] = true
		if r.Header.Get("Cookie") != "" {
			s.leaks = append(s.leaks, r.URL.Path)
		}
		s.mu.Unlock()
		w.Write([]byte("canary"))
	}))
	t.Cleanup(s.canary.Close)
	s.canaryURL = strings.Replace(s.canary.URL, "127.0.0.1", "localhost", 1)
	return s
}

// crawl runs the crawl in process from the site's path seed with args
// and returns its records, checking that no cookie value shows in them or
// on stderr.
func (s *sessionSite) crawl(t *testing.T, seed string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	args = append([]string{"--rate", "0", "--scope", "any", "--max-depth", "2", "-o", out}, args...)
	if err := run(context.Background(), append(args, s.site.URL+seed), &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	records, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"s3ss", "l0aded"} {
		if bytes.Contains(records, []byte(secret)) || bytes.Contains(stderr.Bytes(), []byte(secret)) {
			t.Errorf("%q shows in the records or on stderr:\n%s\n%s", secret, records, stderr.String())
		}
	}
	return records
}

// status reports whether records hold path of the site, fetched
// without redirect, with the status code (as text).
func (s *sessionSite) status(records []byte, path, code string) bool {
	u := s.site.URL + path
	return bytes.Contains(records, []byte(`"url":"`+u+`","final_url":"`+u+`","status":`+code+`,`))
}

// checkCanary reports a canary that got a cookie, or was never asked for
// its robots.txt, a linked page or the redirect's target.
func (s *sessionSite) checkCanary(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range []string{"/robots.txt", "/linked", "/from-site"} {
		if !s.asked[p] {
			t.Errorf("canary never asked for %s (asked: %v)", p, s.asked)
		}
	}
	if len(s.leaks) > 0 {
		t.Errorf("a cookie reached the canary on %v", s.leaks)
	}
}

// TestSessionFlag crawls sessionSite with and without --session: with it,
// the pages behind the session cookie are fetched and the canary gets no
// cookie; without, they are 403.
func TestSessionFlag(t *testing.T) {
	s := newSessionSite(t)
	records := s.crawl(t, "/", "--session")
	for _, p := range []string{"/a", "/b"} {
		if !s.status(records, p, "200") {
			t.Errorf("--session: %s not fetched with 200\n%s", p, records)
		}
	}
	if !s.status(records, "/private", "403") {
		t.Errorf("--session: /private not 403 without pre\n%s", records)
	}
	s.checkCanary(t)

	records = s.crawl(t, "/")
	if !s.status(records, "/a", "403") {
		t.Errorf("without --session: /a not 403\n%s", records)
	}
}

// TestCookiesFiles crawls sessionSite with --cookies, a cookies.txt with
// the cookie /private wants for the site's host (an expired one, and one
// for another host), and --save-cookies: /private is fetched, the
// canary gets no cookie, and the saved file, mode 0600, holds the loaded
// cookie and the session one. A crawl that starts past the first page
// with the saved file as --cookies is let in.
func TestCookiesFiles(t *testing.T) {
	s := newSessionSite(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	file := "# Netscape HTTP Cookie File\n\n" +
		"127.0.0.1\tFALSE\t/\tFALSE\t0\tpre\tl0aded\n" +
		"127.0.0.1\tFALSE\t/\tFALSE\t1000\tsid\ts3ss\n" + // expired
		"example.com\tFALSE\t/\tFALSE\t0\tex\tl0aded\n"
	if err := os.WriteFile(in, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "saved.txt")
	records := s.crawl(t, "/", "--cookies", in, "--save-cookies", saved)
	for _, p := range []string{"/private", "/a", "/b"} {
		if !s.status(records, p, "200") {
			t.Errorf("%s not fetched with 200\n%s", p, records)
		}
	}
	s.checkCanary(t)
	fi, err := os.Stat(saved)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("--save-cookies file mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"127.0.0.1\tFALSE\t/\tFALSE\t0\tpre\tl0aded\n", "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t", "\tsid\ts3ss\n",
		"example.com\tFALSE\t/\tFALSE\t0\tex\tl0aded\n"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("saved cookies lack %q:\n%s", want, data)
		}
	}

	// The saved session lets a crawl in without the first page.
	records = s.crawl(t, "/a", "--cookies", saved)
	for _, p := range []string{"/a", "/b"} {
		if !s.status(records, p, "200") {
			t.Errorf("with the saved cookies: %s not fetched with 200\n%s", p, records)
		}
	}
	if s.status(records, "/", "200") {
		t.Error("the second crawl fetched the first page")
	}
}

// TestCookiesFileErrors checks that a missing or malformed --cookies file
// is one line naming the file (and the line), exit 2, no cookie value.
func TestCookiesFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("# ok\nh\tFALSE\t/\tFALSE\tsoon\ta\ts3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seed := "http://127.0.0.1:1/"
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing", []string{"--cookies", filepath.Join(dir, "missing.txt"), seed}, []string{"--cookies", "missing.txt", "no such file"}},
		{"malformed", []string{"--cookies", bad, seed}, []string{"--cookies", "bad.txt: line 2: expiry"}},
		{"save to no directory", []string{"--save-cookies", filepath.Join(dir, "no", "c.txt"), seed}, []string{"--save-cookies", "no such directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if code := exitCode(err); code != exitUsage {
				t.Errorf("exit %d (%v), want %d", code, err, exitUsage)
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Contains(msg, "\n") || strings.Contains(msg, "s3cret") {
				t.Errorf("stderr %q: not one line, or shows the value", msg)
			}
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr %q lacks %q", msg, want)
				}
			}
		})
	}
}
