package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/proxy"
	"github.com/hivecrawl/crawl/testsite"
)

// onFirst429 is a proxy.Observer that runs f at the first 429.
type onFirst429 struct {
	once sync.Once
	f    func()
}

func (o *onFirst429) ProxyRequest(result string) {
	if result == proxy.ResultStatus429 {
		o.once.Do(o.f)
	}
}

type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type results struct {
	mu sync.Mutex
	m  map[string]crawler.Result
}

func (r *results) HandlePage(_ context.Context, p *crawler.Page) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[p.Result.URL] = *p.Result
	return nil
}

// TestCrawlWaitsForBenchedProxy: with its only proxy benched (a 429), the
// crawl waits for it to come back, says so, and loses no URL.
func TestCrawlWaitsForBenchedProxy(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<a href="/1">1</a> <a href="/2">2</a> <a href="/3">3</a>`)
	}))
	defer site.Close()
	p, err := testsite.NewProxy(testsite.ProxyOptions{Hosts: map[string]string{"site.test:80": site.Listener.Addr().String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.SetStatus(http.StatusTooManyRequests) // until the pool has seen one
	logs := &lockedLog{}
	pool, err := proxy.New(proxy.Options{
		Proxies:  []*url.URL{p.URL()},
		Bench:    50 * time.Millisecond,
		Log:      slog.New(slog.NewTextHandler(logs, nil)),
		Observer: &onFirst429{f: func() { p.SetStatus(0) }},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := &results{m: map[string]crawler.Result{}}
	c, err := crawler.New(crawler.Config{
		Concurrency: 4, Rate: -1, Retries: 1, RetryBackoff: time.Millisecond,
		Proxy: pool.Proxy, ProxyFeedback: pool, Handler: rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background(), "http://site.test/")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/1", "/2", "/3"} {
		if r := rec.m["http://site.test"+path]; r.Status != 200 || r.Error != "" {
			t.Errorf("%s: %+v", path, r)
		}
	}
	if sum.Failed != 0 {
		t.Errorf("summary %v: failures", sum)
	}
	for _, want := range []string{"proxy benched", "why=status_429", "every proxy is benched"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}
