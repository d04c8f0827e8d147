package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// authSite is a site on three loopback hosts: one behind Basic auth
// (alice:s3cret), an API host that answers 403 without X-Api-Key: k3y
// and whose robots.txt redirects to the canary, and a canary that both
// link and redirect to, which notes every credential it is sent.
type authSite struct {
	site, api, canary *httptest.Server
	wantCookie        string // the Cookie header the site needs

	mu     sync.Mutex
	leaks  []string        // "header on path" the canary got
	asked  map[string]bool // canary paths requested
	traced bool            // the canary got the plain header
}

func newAuthSite(t *testing.T, wantCookie string) *authSite {
	t.Helper()
	s := &authSite{asked: map[string]bool{}, wantCookie: wantCookie}
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(body))
	}
	links := func() string {
		return `<a href="/a">a</a> <a href="/away">away</a> <a href="` + s.canary.URL + `/linked">c</a>`
	}
	s.site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		if got := r.Header.Get("Cookie"); got != s.wantCookie || len(r.Header.Values("Cookie")) > 1 {
			http.Error(w, "no session: "+got, http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/robots.txt":
			w.Write([]byte("User-agent: *\nAllow: /\n"))
		case "/":
			page(w, links()+` <a href="`+s.api.URL+`/">api</a>`)
		case "/away":
			http.Redirect(w, r, s.canary.URL+"/from-site", http.StatusFound)
		default:
			page(w, "<p>leaf</p>")
		}
	}))
	t.Cleanup(s.site.Close)
	s.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "k3y" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/robots.txt":
			http.Redirect(w, r, s.canary.URL+"/robots-of-api.txt", http.StatusMovedPermanently)
		case "/":
			page(w, links())
		case "/away":
			http.Redirect(w, r, s.canary.URL+"/from-api", http.StatusFound)
		default:
			page(w, "<p>leaf</p>")
		}
	}))
	t.Cleanup(s.api.Close)
	s.canary = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.asked[r.URL.Path] = true
		s.traced = s.traced || r.Header.Get("X-Trace") == "1"
		for _, h := range []string{"Authorization", "Cookie", "X-Api-Key"} {
			if r.Header.Get(h) != "" {
				s.leaks = append(s.leaks, h+" on "+r.URL.Path)
			}
		}
		s.mu.Unlock()
		page(w, "<p>canary</p>")
	}))
	t.Cleanup(s.canary.Close)
	return s
}

// check reports what the canary got, and records that miss a page of the
// site or the API host.
func (s *authSite) check(t *testing.T, records []byte) {
	t.Helper()
	for _, u := range []string{s.site.URL + "/", s.site.URL + "/a", s.api.URL + "/", s.api.URL + "/a"} {
		if !bytes.Contains(records, []byte(`"url":"`+u+`","final_url":"`+u+`","status":200,`)) {
			t.Errorf("%s not fetched with 200", u)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range []string{"/robots.txt", "/robots-of-api.txt", "/linked", "/from-site", "/from-api"} {
		if !s.asked[p] {
			t.Errorf("canary never asked for %s (asked: %v)", p, s.asked)
		}
	}
	if !s.traced {
		t.Error("the canary did not get the plain header X-Trace")
	}
	if len(s.leaks) > 0 {
		t.Errorf("credentials reached the canary: %v", s.leaks)
	}
}

// TestHeadersAndAuth runs the crawl binary with -H, --secret-header,
// --auth-host and --auth-file over authSite: every page of the two
// protected hosts is fetched, the canary gets the plain header but no
// credential (by link, redirect or robots.txt), and no secret shows in
// the records, stdout or stderr.
func TestHeadersAndAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	s := newAuthSite(t, "session=c00kie")
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("alice:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	cmd := exec.Command(buildBinary(t), "--rate", "0", "--scope", "any", "--max-depth", "2", "-o", out,
		"-H", "X-Api-Key: k3y", "--secret-header", "x-api-key", "-H", "Cookie: session=c00kie",
		"--header", "X-Trace: 1", "-H", "Accept:",
		"--auth-host", strings.TrimPrefix(s.api.URL, "http://"), "--auth-file", pw, s.site.URL+"/")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("crawl: %v\n%s", err, stderr.String())
	}
	records, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s.check(t, records)
	for name, b := range map[string][]byte{"records": records, "stdout": stdout.Bytes(), "stderr": stderr.Bytes()} {
		for _, secret := range []string{"s3cret", "k3y", "c00kie"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s show %q:\n%s", name, secret, b)
			}
		}
	}
}

// TestAuthFlag crawls authSite in process with --auth and --cookie, and
// the headers and hosts from a config file whose keys are the flags'
// names.
func TestAuthFlag(t *testing.T) {
	s := newAuthSite(t, "session=c00kie; b=2")
	dir := t.TempDir()
	conf := filepath.Join(dir, "crawl.yaml")
	yaml := "header: [\"X-Api-Key: k3y\", \"X-Trace: 1\"]\nsecret-header: [X-Api-Key]\nauth-host: [\"" + s.api.URL + "\"]\n"
	if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--config", conf, "--rate", "0", "--scope", "any", "--max-depth", "2",
		"-o", out, "--auth", "alice:s3cret", "--cookie", "session=c00kie; b=2", s.site.URL + "/"}, &bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	records, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s.check(t, records)
	if bytes.Contains(stderr.Bytes(), []byte("s3cret")) || bytes.Contains(records, []byte("s3cret")) ||
		bytes.Contains(stderr.Bytes(), []byte("c00kie")) || bytes.Contains(records, []byte("c00kie")) {
		t.Errorf("the password shows:\n%s\n%s", stderr.String(), records)
	}
}

// TestRequestFlagErrors checks that bad headers, hosts and credentials
// are one line and exit 2, and that the line never shows a secret.
func TestRequestFlagErrors(t *testing.T) {
	dir := t.TempDir()
	twoLines := filepath.Join(dir, "two")
	if err := os.WriteFile(twoLines, []byte("alice:s3cret\nbob:s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noColon := filepath.Join(dir, "nocolon")
	if err := os.WriteFile(noColon, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seed := "http://127.0.0.1:1/"
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"header without colon", []string{"-H", "nocolon", seed}, []string{`-H "nocolon"`, "Name: value"}},
		{"header without colon and a secret", []string{"-H", "Authorization Bearer s3cret", seed}, []string{`-H "Authorization…"`}},
		{"bad header name", []string{"-H", "Bad Name: s3cret", seed}, []string{`"Bad Name" is not a header name`}},
		{"line break in a value", []string{"-H", "X-A: s3cret\r\nX-B: 1", seed}, []string{"-H X-A", "line break"}},
		{"bad secret header", []string{"--secret-header", "a b", seed}, []string{"--secret-header", `"a b"`}},
		{"bad auth host", []string{"--auth-host", "ftp://example.com", seed}, []string{"--auth-host", "ftp://example.com"}},
		{"auth without colon", []string{"--auth", "s3cret", seed}, []string{"--auth", "user:password"}},
		{"auth without user", []string{"--auth", ":s3cret", seed}, []string{"--auth", "user:password"}},
		{"missing auth file", []string{"--auth-file", filepath.Join(dir, "missing"), seed}, []string{"--auth-file", "no such file"}},
		{"auth file of two lines", []string{"--auth-file", twoLines, seed}, []string{"--auth-file", "one user:password line"}},
		{"auth file without colon", []string{"--auth-file", noColon, seed}, []string{"--auth-file", "user:password"}},
		{"cookie without value", []string{"--cookie", "s3cret", seed}, []string{"--cookie", "name=value"}},
		{"auth and auth file", []string{"--auth", "a:s3cret", "--auth-file", twoLines, seed}, []string{"--auth and --auth-file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if code := exitCode(err); code != exitUsage || !errors.Is(err, errUsage) {
				t.Errorf("exit %d (%v), want %d", code, err, exitUsage)
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Contains(msg, "\n") {
				t.Errorf("stderr is not one line: %q", msg)
			}
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg+stdout.String(), "s3cret") {
				t.Errorf("stderr %q shows the secret", msg)
			}
		})
	}
}
