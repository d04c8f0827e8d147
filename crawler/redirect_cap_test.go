package crawler_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
)

// heldHost is a server whose pages answer only when the test lets them,
// one at a time, and that counts its requests in flight (robots.txt
// included) and each page's fetches.
type heldHost struct {
	mu       sync.Mutex
	now, max int
	fetches  map[string]int
	arrived  chan struct{} // a page request is being held
	release  chan struct{} // lets one held page answer
	free     chan struct{} // closed: every page answers at once
	freeOnce sync.Once
}

func newHeldHost() *heldHost {
	return &heldHost{fetches: map[string]int{}, arrived: make(chan struct{}, 64),
		release: make(chan struct{}), free: make(chan struct{})}
}

func (h *heldHost) unblock() { h.freeOnce.Do(func() { close(h.free) }) }

func (h *heldHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.now++
	h.max = max(h.max, h.now)
	h.fetches[r.URL.Path]++
	h.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/page/") {
		h.arrived <- struct{}{}
		select {
		case <-h.release:
		case <-h.free:
		}
	}
	// Out of flight before the response goes out, so before the crawler
	// can complete the request and send the next.
	h.mu.Lock()
	h.now--
	h.mu.Unlock()
	if r.URL.Path == "/robots.txt" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	io.WriteString(w, "<html><body>ok</body></html>")
}

// TestRedirectToOtherHostKeepsItsCap: host A redirects every page to host
// B, whose pages answer only when the test releases them, while B has
// pages of its own to crawl. Two crawlers share a frontier capping each
// host at two requests in flight, as a fleet does. A redirect to B is
// fetched under a lease on B, never inline under A's lease, so B never
// sees more than two requests at once; following it inline would send
// A's requests to B past B's cap. Each crawler's connections are not
// capped per host: a fleet has one connection pool per process, so the
// frontier's cap is the only one that holds across it.
func TestRedirectToOtherHostKeepsItsCap(t *testing.T) {
	const perHost, nA, nB = 2, 4, 4
	for _, be := range capBackends() {
		t.Run(be.name, func(t *testing.T) {
			b := newHeldHost()
			srvB := httptest.NewServer(b)
			defer srvB.Close()
			defer b.unblock()
			servedA := make(chan struct{}, nA)
			srvA := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if p, ok := strings.CutPrefix(r.URL.Path, "/r/"); ok {
					http.Redirect(w, r, srvB.URL+"/page/from-a-"+p, http.StatusMovedPermanently)
					servedA <- struct{}{}
					return
				}
				http.NotFound(w, r)
			}))
			defer srvA.Close()

			var seeds []string
			for i := range nA {
				seeds = append(seeds, fmt.Sprintf("%s/r/%d", srvA.URL, i))
			}
			for i := range nB {
				seeds = append(seeds, fmt.Sprintf("%s/page/own-%d", srvB.URL, i))
			}
			fa, fb := be.open(t, frontier.Options{PerHostInFlight: perHost, LeaseTTL: time.Minute})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			sums := make([]crawler.Summary, 2)
			for i, f := range []crawler.Frontier{fa, fb} {
				c, err := crawler.New(crawler.Config{Concurrency: 8, PerHost: perHost, Rate: -1, Scope: crawler.ScopeAny,
					Frontier: f, Fetcher: fetch.New(fetch.Options{MaxConnsPerHost: 64})})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					sum, err := c.Run(ctx, seeds...)
					if err != nil {
						t.Errorf("crawler %d: %v", i, err)
					}
					sums[i] = sum
				})
			}

			// Hold B's pages until A has answered every redirect, so that
			// all the requests for B are queued or in flight at once; then
			// let them answer one at a time. More than perHost held at once
			// breaks the cap: let everything through and fail.
			held, broken := 0, false
			arrive := func() {
				held++
				if held > perHost && !broken {
					broken = true
					t.Errorf("host B got %d page requests in flight at once; its cap is %d", held, perHost)
					b.unblock()
				}
			}
			for served := 0; served < nA && !broken; {
				select {
				case <-servedA:
					served++
				case <-b.arrived:
					arrive()
				case <-ctx.Done():
					t.Fatalf("host A answered %d of %d redirects", served, nA)
				}
			}
			for released := 0; released < nA+nB && !broken; {
				if held == 0 {
					select {
					case <-b.arrived:
						arrive()
					case <-ctx.Done():
						b.unblock()
						t.Fatalf("%d of %d pages of B answered", released, nA+nB)
					}
					continue
				}
				select {
				case b.release <- struct{}{}:
					held--
					released++
				case <-b.arrived:
					arrive()
				}
			}
			wg.Wait()

			b.mu.Lock()
			defer b.mu.Unlock()
			if b.max > perHost {
				t.Errorf("host B saw %d requests in flight at once; its cap is %d", b.max, perHost)
			}
			for i := range nA {
				if n := b.fetches[fmt.Sprintf("/page/from-a-%d", i)]; n != 1 {
					t.Errorf("redirect target %d fetched %d times, want 1", i, n)
				}
			}
			// The redirects, their targets and B's own pages.
			if done := sums[0].Done + sums[1].Done; done != 2*nA+nB {
				t.Errorf("%d pages done, want %d", done, 2*nA+nB)
			}
		})
	}
}

// TestSitemapRedirectToOtherHost: a sitemap that redirects to another
// host is not followed inline either: the document there is a sitemap
// request of its own, under that host's lease, so the pages it lists have
// it, not the first host's sitemap, as their parent.
func TestSitemapRedirectToOtherHost(t *testing.T) {
	var mu sync.Mutex
	fetchesB := map[string]int{}
	var srvB *httptest.Server
	srvB = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetchesB[r.URL.Path]++
		mu.Unlock()
		switch r.URL.Path {
		case "/sitemap.xml":
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>%s/p1</loc></url><url><loc>%s/p2</loc></url></urlset>`, srvB.URL, srvB.URL)
		case "/p1", "/p2":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>ok</body></html>")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srvB.Close()
	srvA := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sitemap.xml":
			http.Redirect(w, r, srvB.URL+"/sitemap.xml", http.StatusMovedPermanently)
		case "/":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>home</body></html>")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srvA.Close()
	rec := &recorder{}
	c, err := crawler.New(crawler.Config{Concurrency: 4, PerHost: 2, Rate: -1, Scope: crawler.ScopeAny, Sitemaps: true, Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(t.Context(), srvA.URL+"/"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/p1", "/p2"} {
		got, ok := rec.pages[srvB.URL+p]
		if !ok {
			t.Errorf("%s of the other host not crawled", p)
			continue
		}
		if got.Result.Parent != srvB.URL+"/sitemap.xml" {
			t.Errorf("%s: parent %q, want the other host's sitemap, fetched as its own request", p, got.Result.Parent)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n := fetchesB["/sitemap.xml"]; n != 1 {
		t.Errorf("the other host's sitemap fetched %d times, want 1", n)
	}
}
