package crawler_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
	"github.com/hivecrawl/crawl/testsite"
)

// inFlightServer serves h on one host, each request after a short
// latency, and records the most requests it had in flight at once, of
// every kind: pages, robots.txt and sitemaps.
type inFlightServer struct {
	h        http.Handler
	now, max atomic.Int64
	sitemaps atomic.Int64 // sitemap requests
}

func (s *inFlightServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.now.Add(1)
	defer s.now.Add(-1)
	for m := s.max.Load(); n > m && !s.max.CompareAndSwap(m, n); m = s.max.Load() {
	}
	if len(r.URL.Path) > 8 && r.URL.Path[:9] == "/sitemaps" || r.URL.Path == "/sitemap.xml" {
		s.sitemaps.Add(1)
	}
	time.Sleep(5 * time.Millisecond) // the server's latency, so that requests overlap
	s.h.ServeHTTP(w, r)
}

// capBackend opens two frontiers on one store, as two processes of a
// fleet do.
type capBackend struct {
	name string
	open func(t *testing.T, opts frontier.Options) (a, b crawler.Frontier)
}

// capBackends returns the memory and Redis backends.
func capBackends() []capBackend {
	return []capBackend{
		{"memory", func(t *testing.T, opts frontier.Options) (crawler.Frontier, crawler.Frontier) {
			f := frontier.NewMemory(opts)
			t.Cleanup(func() { f.Close() })
			return f, f
		}},
		{"redis", func(t *testing.T, opts frontier.Options) (crawler.Frontier, crawler.Frontier) {
			srv := redistest.Start(t)
			open := func(worker string) crawler.Frontier {
				f, err := redis.Open(t.Context(), srv.URL(0), "cap", redis.Options{Options: opts, Worker: worker})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { f.Close() })
				return f
			}
			return open("a"), open("b")
		}},
	}
}

// TestPerHostCapCoversEveryRequest crawls one host with two crawlers that
// share a frontier capping the host at one request in flight, as the
// processes of a fleet do, with sitemaps and robots.txt on: the server
// must never see two requests at once, on the memory backend and on Redis.
func TestPerHostCapCoversEveryRequest(t *testing.T) {
	for _, be := range capBackends() {
		t.Run(be.name, func(t *testing.T) {
			shop := testsite.NewShop(testsite.ShopOptions{Products: 30, PerPage: 4, SitemapOnly: true})
			s := &inFlightServer{h: shop}
			srv := httptest.NewServer(s)
			defer srv.Close()
			fa, fb := be.open(t, frontier.Options{PerHostInFlight: 1, LeaseTTL: time.Minute})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			sums := make([]crawler.Summary, 2)
			for i, f := range []crawler.Frontier{fa, fb} {
				c, err := crawler.New(crawler.Config{Concurrency: 4, PerHost: 1, Rate: -1, Sitemaps: true, Frontier: f})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					sum, err := c.Run(ctx, srv.URL+"/")
					if err != nil {
						t.Errorf("crawler %d: %v", i, err)
					}
					sums[i] = sum
				})
			}
			wg.Wait()
			if m := s.max.Load(); m != 1 {
				t.Errorf("the host saw %d requests in flight at once; its cap is 1", m)
			}
			if s.sitemaps.Load() == 0 {
				t.Error("no sitemap was fetched")
			}
			if done, want := sums[0].Done+sums[1].Done, int64(len(shop.PagePaths())); done != want {
				t.Errorf("%d pages done, the shop has %d", done, want)
			}
		})
	}
}

// TestPerHostCapHoldsPastLeaseTime is TestPerHostCapCoversEveryRequest
// with responses slower than the lease time, as on a loaded machine: a
// lease that expired while its request was in flight would let the other
// crawler send a second request to the host (and fetch the page twice).
// The workers renew what they hold, so the cap holds.
func TestPerHostCapHoldsPastLeaseTime(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for responses slower than a lease")
	}
	const leaseTTL = 600 * time.Millisecond
	pages := map[string]string{
		"/":  `<a href="/a">a</a> <a href="/b">b</a>`,
		"/a": `<a href="/b">b</a>`,
		"/b": `ok`,
	}
	for _, be := range capBackends() {
		t.Run(be.name, func(t *testing.T) {
			var fetches sync.Map // path -> *atomic.Int64
			s := &inFlightServer{h: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := fetches.LoadOrStore(r.URL.Path, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				body, ok := pages[r.URL.Path]
				if !ok {
					http.NotFound(w, r)
					return
				}
				time.Sleep(leaseTTL * 3 / 2) // slower than a lease
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<html><body>"+body+"</body></html>")
			})}
			srv := httptest.NewServer(s)
			defer srv.Close()
			fa, fb := be.open(t, frontier.Options{PerHostInFlight: 1, LeaseTTL: leaseTTL})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			for i, f := range []crawler.Frontier{fa, fb} {
				c, err := crawler.New(crawler.Config{Concurrency: 2, PerHost: 1, Rate: -1, Frontier: f, IgnoreRobots: true})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					if _, err := c.Run(ctx, srv.URL+"/"); err != nil {
						t.Errorf("crawler %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if m := s.max.Load(); m != 1 {
				t.Errorf("the host saw %d requests in flight at once; its cap is 1", m)
			}
			for p := range pages {
				n := int64(0)
				if v, ok := fetches.Load(p); ok {
					n = v.(*atomic.Int64).Load()
				}
				if n != 1 {
					t.Errorf("%s fetched %d times, want once", p, n)
				}
			}
		})
	}
}
