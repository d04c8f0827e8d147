package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/testsite"
)

// startSessions serves a testsite.Sessions for the test.
func startSessions(t *testing.T, opts testsite.SessionsOptions) *testsite.Sessions {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	site := testsite.NewSessions(opts)
	if err := site.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return site
}

// writeLoginConfig writes a config file whose login: section logs in to
// site's login host with the password in a file of its own, plus extra
// lines, and returns its path.
func writeLoginConfig(t *testing.T, site *testsite.Sessions, extra string) string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte(site.Options().Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "crawl.yaml")
	yaml := "login:\n" +
		"  url: " + site.Login + "/login\n" +
		"  form: \"form#login\"\n" +
		"  fields: {user: " + site.Options().User + "}\n" +
		"  password-file: " + pw + "\n" +
		"  success: \"a.logout\"\n" +
		"  expired: \"form#login\"\n" + extra
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestSessionsAcceptance crawls the three private hosts of
// testsite.Sessions at once: one behind Basic auth (--auth-file), one
// behind a login form with a CSRF token that logs its sessions out after
// three pages (login: in the config), one that wants an API key header
// (-H, --secret-header). Every page of the three is fetched and recorded
// once; the login ran, and ran again after each forced logout, once per
// logout; and the canary host, which every page links to and /away
// redirects to, never gets an Authorization, a Cookie or the key, for
// pages, redirects or its robots.txt. No secret shows in the records or
// on stderr.
func TestSessionsAcceptance(t *testing.T) {
	site := startSessions(t, testsite.SessionsOptions{Pages: 8, LogoutAfter: 3})
	o := site.Options()
	dir := t.TempDir()
	authFile := filepath.Join(dir, "auth")
	if err := os.WriteFile(authFile, []byte(o.User+":"+o.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.jsonl")
	args := []string{"--config", writeLoginConfig(t, site, ""), "--rate", "0", "--scope", "any", "--auth-file", authFile,
		"-H", o.Header + ": " + o.Key, "--secret-header", o.Header, "-o", out,
		site.Basic + "/", site.Login + "/", site.Header + "/"}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	records := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		u, _ := rec["url"].(string)
		records[u] = append(records[u], rec)
	}
	served := site.Served()
	for _, p := range site.Pages() {
		if served[p] != 1 {
			t.Errorf("%s served %d times, want 1", p, served[p])
		}
		if rs := records[p]; len(rs) != 1 || rs[0]["status"] != float64(200) || rs[0]["error"] != nil ||
			strings.Contains(rs[0]["title"].(string), "Log in") {
			t.Errorf("%s recorded as %v, want once with status 200", p, rs)
		}
	}
	// Eight pages, three a session: three logins, whatever the number of
	// workers that found a session over at once.
	if got := site.Logins(); got != 3 {
		t.Errorf("%d logins, want 3", got)
	}

	paths, headers := site.CanaryRequests()
	asked := map[string]bool{}
	for i, h := range headers {
		asked[paths[i]] = true
		for _, name := range []string{"Authorization", "Cookie", o.Header} {
			if v := h.Get(name); v != "" {
				t.Errorf("the canary got %s: %q on %s", name, v, paths[i])
			}
		}
	}
	for _, p := range []string{"/robots.txt", "/linked/0", "/from-basic", "/from-login", "/from-header"} {
		if !asked[p] {
			t.Errorf("the canary was not asked for %s (asked: %v): the test proves less than it says", p, paths)
		}
	}
	for _, secret := range []string{o.Password, o.Key} {
		if strings.Contains(string(data)+stderr.String()+stdout.String(), secret) {
			t.Errorf("a secret (%d bytes) shows in the records or the output", len(secret))
		}
	}
}

// TestLoginErrors checks that a bad login: section is one line and exit
// 2, and that a login whose success never shows is one line and exit 1,
// after two attempts, with no page of the login host fetched.
func TestLoginErrors(t *testing.T) {
	site := startSessions(t, testsite.SessionsOptions{Success: "<p>welcome</p>"})
	seed := site.Login + "/"
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pw := write("pw", "s3cret\n")
	tests := []struct {
		name string
		yaml string
		code int
		want []string
	}{
		{"missing password file", "login:\n  url: " + site.Login + "/login\n  password-file: " + filepath.Join(dir, "nope") + "\n",
			exitUsage, []string{"login: password-file", "no such file"}},
		{"no password file", "login:\n  url: " + site.Login + "/login\n", exitUsage, []string{"password-file is missing"}},
		{"no url", "login:\n  password-file: " + pw + "\n", exitUsage, []string{"login: url is missing"}},
		{"bad url", "login:\n  url: ftp://x/login\n  password-file: " + pw + "\n", exitUsage, []string{"login: url", "http(s)"}},
		{"bad selector", "login:\n  url: " + site.Login + "/login\n  password-file: " + pw + "\n  form: \"form[\"\n",
			exitUsage, []string{`login: form "form["`, "not a CSS selector"}},
		{"bad success", "login:\n  url: " + site.Login + "/login\n  password-file: " + pw + "\n  success: \"a..b\"\n",
			exitUsage, []string{`login: success "a..b"`}},
		{"bad regexp", "login:\n  url: " + site.Login + "/login\n  password-file: " + pw + "\n  success-url: \"(\"\n",
			exitUsage, []string{`login: success-url "("`}},
		{"unknown key", "login:\n  url: " + site.Login + "/login\n  password: s3cret\n", exitUsage, []string{`unknown key "password"`}},
		{"success never shows", "login:\n  url: " + site.Login + "/login\n  password-file: " + pw + "\n  fields: {user: alice}\n  success: a.logout\n",
			exitFailures, []string{"login failed twice in a row", `success "a.logout" not found`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := write("crawl.yaml", tt.yaml)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"--config", cfg, "-q", "--rate", "0", seed}, &stdout, &stderr)
			if code := exitCode(err); code != tt.code || (tt.code == exitUsage) != errors.Is(err, errUsage) {
				t.Fatalf("exit %d (%v), want %d\n%s", code, err, tt.code, stderr.String())
			}
			t.Logf("stderr:\n%s", stderr.String())
			// A usage error is all stderr says; a crawl that ran also
			// has its summary line.
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
				if tt.code == exitUsage || strings.Contains(l, "login") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("stderr has %d lines about the login, want 1:\n%s", len(lines), stderr.String())
			}
			for _, want := range tt.want {
				if !strings.Contains(lines[0], want) {
					t.Errorf("%q lacks %q", lines[0], want)
				}
			}
			if strings.Contains(stderr.String()+stdout.String(), "s3cret") {
				t.Errorf("the output shows the password")
			}
		})
	}
	if n := len(site.LoginForms()); n != 2 {
		t.Errorf("%d login forms posted, want 2 (one login and its one retry)", n)
	}
	if n := len(site.Served()); n != 0 {
		t.Errorf("%d pages served without a login", n)
	}
}
