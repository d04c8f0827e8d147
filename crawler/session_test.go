package crawler_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
)

// TestSessionJar crawls a site whose first page sets a session cookie and
// whose other pages answer 403 without it: with Config.Jar every page is
// fetched with 200, without it they are 403. The canary host (localhost,
// where the site is 127.0.0.1), linked and redirected to, never gets the
// cookie, nor does its robots.txt request.
func TestSessionJar(t *testing.T) {
	var (
		mu     sync.Mutex
		leaks  []string
		canary = map[string]bool{}
	)
	var canaryURL string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/robots.txt":
			w.Write([]byte("User-agent: *\nAllow: /\n"))
		case "/":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s3ss", Path: "/", HttpOnly: true})
			w.Write([]byte(`<a href="/a">a</a> <a href="/away">away</a> <a href="` + canaryURL + `/linked">c</a>`))
		default:
			if c, err := r.Cookie("sid"); err != nil || c.Value != "s3ss" {
				http.Error(w, "no session", http.StatusForbidden)
				return
			}
			if r.URL.Path == "/away" {
				http.Redirect(w, r, canaryURL+"/from-site", http.StatusFound)
				return
			}
			w.Write([]byte(`<a href="/b">b</a>`))
		}
	}))
	defer site.Close()
	canaryHost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		canary[r.URL.Path] = true
		if r.Header.Get("Cookie") != "" {
			leaks = append(leaks, r.URL.Path)
		}
		mu.Unlock()
		w.Write([]byte("canary"))
	}))
	defer canaryHost.Close()
	canaryURL = strings.Replace(canaryHost.URL, "127.0.0.1", "localhost", 1)

	for _, session := range []bool{true, false} {
		cfg := crawler.Config{
			Concurrency: 2, Rate: -1, Scope: crawler.ScopeAny, MaxDepth: 2,
			Timeout: 5 * time.Second,
		}
		if session {
			jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
			if err != nil {
				t.Fatal(err)
			}
			cfg.Jar = jar
		}
		var out bytes.Buffer
		cfg.Handler = output.NewJSONLines(&out)
		c, err := crawler.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = c.Run(ctx, site.URL+"/")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		want := `,"status":403,`
		if session {
			want = `,"status":200,`
		}
		for _, u := range []string{site.URL + "/a", site.URL + "/b"} {
			if session || u == site.URL+"/a" {
				if !strings.Contains(out.String(), `"url":"`+u+`","final_url":"`+u+`"`+want) {
					t.Errorf("session %v: %s not recorded with %s\n%s", session, u, want, out.String())
				}
			}
		}
		if session && !strings.Contains(out.String(), `"final_url":"`+canaryURL+`/from-site"`) {
			t.Errorf("the redirect to the canary was not followed\n%s", out.String())
		}
		if strings.Contains(out.String(), "s3ss") {
			t.Error("a record shows the cookie")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range []string{"/robots.txt", "/linked", "/from-site"} {
		if !canary[p] {
			t.Errorf("canary never asked for %s (asked: %v)", p, canary)
		}
	}
	if len(leaks) > 0 {
		t.Errorf("the cookie reached the canary on %v", leaks)
	}
}
