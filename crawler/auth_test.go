package crawler_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
)

// TestHeaderAndBasicAuthScope crawls a seed host behind Basic auth and an
// API host (an AuthHosts entry) that answers 403 without a secret header,
// both linking and redirecting to a canary host: every page of the first
// two is fetched, the plain header reaches the canary, and no credential
// (Authorization, Cookie, the secret header) does, by link, redirect or
// robots.txt; no record shows one.
func TestHeaderAndBasicAuthScope(t *testing.T) {
	var (
		mu     sync.Mutex
		leaks  []string
		canary = map[string]bool{} // paths the canary served
		plain  = map[string]bool{} // canary paths that got X-Trace
	)
	var site, api, canaryHost *httptest.Server
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(body))
	}
	links := func() string {
		return `<a href="/a">a</a> <a href="/away">away</a> <a href="` + canaryHost.URL + `/linked">c</a>`
	}
	site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			http.Error(w, "who?", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/robots.txt":
			w.Write([]byte("User-agent: *\nAllow: /\n"))
		case "/":
			page(w, links()+` <a href="`+api.URL+`/">api</a>`)
		case "/away":
			http.Redirect(w, r, canaryHost.URL+"/from-site", http.StatusFound)
		default:
			page(w, "<p>leaf</p>")
		}
	}))
	defer site.Close()
	api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != "k3y" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/":
			page(w, links())
		case "/away":
			http.Redirect(w, r, canaryHost.URL+"/from-api", http.StatusFound)
		default:
			page(w, "<p>leaf</p>")
		}
	}))
	defer api.Close()
	canaryHost = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		canary[r.URL.Path] = true
		plain[r.URL.Path] = r.Header.Get("X-Trace") == "1"
		for _, h := range []string{"Authorization", "Cookie", "X-Api-Key"} {
			if r.Header.Get(h) != "" {
				leaks = append(leaks, h+" on "+r.URL.Path)
			}
		}
		mu.Unlock()
		page(w, "<p>canary</p>")
	}))
	defer canaryHost.Close()

	var out bytes.Buffer
	c, err := crawler.New(crawler.Config{
		Concurrency: 2, Rate: -1, Scope: crawler.ScopeAny, MaxDepth: 2,
		Timeout: 5 * time.Second, Handler: output.NewJSONLines(&out),
		Header:        http.Header{"X-Api-Key": {"k3y"}, "Cookie": {"session=c00kie"}, "X-Trace": {"1"}},
		SecretHeaders: []string{"x-api-key"},
		AuthHosts:     []string{strings.TrimPrefix(api.URL, "http://")},
		BasicAuth:     url.UserPassword("alice", "s3cret"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sum, err := c.Run(ctx, site.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 0 {
		t.Errorf("summary %+v: failures\n%s", sum, out.String())
	}
	for _, u := range []string{site.URL + "/", site.URL + "/a", api.URL + "/", api.URL + "/a"} {
		if !strings.Contains(out.String(), `"url":"`+u+`"`) {
			t.Errorf("%s not recorded", u)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range []string{"/robots.txt", "/linked", "/from-site", "/from-api"} {
		if !canary[p] {
			t.Errorf("canary never asked for %s (asked: %v)", p, canary)
		}
	}
	if !plain["/linked"] {
		t.Error("the canary did not get the plain header X-Trace")
	}
	if len(leaks) > 0 {
		t.Errorf("credentials reached the canary: %v", leaks)
	}
	for _, secret := range []string{"s3cret", "k3y", "c00kie"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("a record shows %q", secret)
		}
	}
}
