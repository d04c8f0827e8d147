package fetch_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/publicsuffix"

	"github.com/hivecrawl/crawl/fetch"
)

// TestJar checks that Options.Jar keeps the cookies set on a redirect hop
// and sends them on the next hop, on later fetches and on Get (robots.txt),
// joined with a Cookie of Options.Header, and that the jar's host rules
// keep them from another host (localhost, not 127.0.0.1), by redirect or
// by Get. Without a jar, no cookie is kept.
func TestJar(t *testing.T) {
	var (
		mu  sync.Mutex
		got = map[string]string{} // host/path → Cookie header
	)
	var other string
	home := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got["home"+r.URL.Path] = r.Header.Get("Cookie")
		mu.Unlock()
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3ss", Path: "/"})
			http.Redirect(w, r, "/in", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other+"/landed", http.StatusFound)
		case "/in", "/later", "/robots.txt":
			if !strings.Contains(r.Header.Get("Cookie"), "sid=s3ss") {
				http.Error(w, "no session", http.StatusForbidden)
			}
		}
	}))
	canary := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got["other"+r.URL.Path] = r.Header.Get("Cookie")
		mu.Unlock()
	}))
	other = strings.Replace(canary.URL, "127.0.0.1", "localhost", 1)

	for _, withJar := range []bool{true, false} {
		opts := fetch.Options{Header: http.Header{"Cookie": {"a=1"}}, HeaderOrigins: []string{home.URL}}
		if withJar {
			jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
			if err != nil {
				t.Fatal(err)
			}
			opts.Jar = jar
		}
		c := fetch.New(opts)
		ctx := context.Background()
		want := http.StatusForbidden
		if withJar {
			want = http.StatusOK
		}
		for _, p := range []string{"/login", "/later", "/away"} {
			resp, err := c.Fetch(ctx, home.URL+p, nil)
			if err != nil {
				t.Fatalf("jar %v: %s: %v", withJar, p, err)
			}
			if p != "/away" && resp.Status != want {
				t.Errorf("jar %v: %s: status %d, want %d", withJar, p, resp.Status, want)
			}
		}
		if status, _, err := c.Get(ctx, home.URL+"/robots.txt"); err != nil || status != want {
			t.Errorf("jar %v: robots.txt: %d, %v; want %d", withJar, status, err, want)
		}
		if _, _, err := c.Get(ctx, other+"/robots.txt"); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if withJar && got["home/later"] != "a=1; sid=s3ss" {
			t.Errorf("home/later got Cookie %q, want the header's and the jar's", got["home/later"])
		}
		for k, v := range got {
			if strings.HasPrefix(k, "other") && v != "" {
				t.Errorf("jar %v: %s got Cookie %q", withJar, k, v)
			}
		}
		clear(got)
		mu.Unlock()
	}
}
