package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/testsite"
)

// blameFirst is a fetch.ProxyFeedback that blames the proxy for the first
// request of each path in paths, and for nothing else.
type blameFirst struct {
	mu      sync.Mutex
	paths   map[string]bool
	blamed  []string
	reports int
}

func (b *blameFirst) ProxyResult(r fetch.ProxyResult) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.reports++
	if b.paths[r.URL.Path] {
		delete(b.paths, r.URL.Path)
		b.blamed = append(b.blamed, r.URL.Path)
		return errors.New("blamed")
	}
	return nil
}

// TestProxyFailuresRetried: a page or a sitemap whose proxy failed it is
// retried (class proxy) within Retries, so nothing is lost, and every
// request, robots.txt and the sitemap included, goes through Config.Proxy.
func TestProxyFailuresRetried(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			io.WriteString(w, "User-agent: *\nAllow: /\n")
		case "/sitemap.xml":
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://site.test/only-in-sitemap</loc></url></urlset>`)
		default:
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<html><body><a href="/linked">l</a></body></html>`)
		}
	}))
	defer srv.Close()
	p, err := testsite.NewProxy(testsite.ProxyOptions{Hosts: map[string]string{"site.test:80": srv.Listener.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fb := &blameFirst{paths: map[string]bool{"/sitemap.xml": true, "/linked": true}}
	rec := &recorder{}
	c, err := crawler.New(crawler.Config{
		Concurrency: 2, Rate: -1, Retries: 2, RetryBackoff: time.Millisecond, Sitemaps: true,
		Proxy:         func(*http.Request) (*url.URL, error) { return p.URL(), nil },
		ProxyFeedback: fb,
		Handler:       rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), "http://site.test/"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://site.test/", "http://site.test/linked", "http://site.test/only-in-sitemap"} {
		pg := rec.pages[u]
		if pg == nil || pg.Result.Status != 200 || pg.Result.Error != "" {
			t.Errorf("%s: %+v", u, pg)
		}
	}
	if r := rec.pages["http://site.test/linked"]; r != nil && r.Result.Attempts != 2 {
		t.Errorf("/linked took %d attempts, want 2", r.Result.Attempts)
	}
	if len(fb.blamed) != 2 {
		t.Errorf("blamed %v, want both paths", fb.blamed)
	}
	seen := map[string]bool{}
	for _, r := range p.Requests() {
		seen[r.Target] = true
	}
	for _, want := range []string{"http://site.test/robots.txt", "http://site.test/sitemap.xml", "http://site.test/only-in-sitemap"} {
		if !seen[want] {
			t.Errorf("the proxy never got %s", want)
		}
	}
}
