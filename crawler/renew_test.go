package crawler_test

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/disk"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
	"github.com/hivecrawl/crawl/testsite"
)

// TestPagesSlowerThanLeaseTime runs a Pages loop that holds each page
// for twice the frontier's lease time, on every backend: the run renews
// the leases its workers hold, so no page is fetched or yielded twice.
func TestPagesSlowerThanLeaseTime(t *testing.T) {
	const (
		ttl  = 500 * time.Millisecond
		hold = 2 * ttl
	)
	opts := frontier.Options{LeaseTTL: ttl, PerHostInFlight: -1}
	backends := []struct {
		name string
		open func(t *testing.T) crawler.Frontier
	}{
		{"memory", func(t *testing.T) crawler.Frontier {
			f := frontier.NewMemory(opts)
			t.Cleanup(func() { f.Close() })
			return f
		}},
		{"disk", func(t *testing.T) crawler.Frontier {
			f, err := disk.Open(t.TempDir(), disk.Options{Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}},
		{"redis", func(t *testing.T) crawler.Frontier {
			srv := redistest.Start(t)
			f, err := redis.Open(t.Context(), srv.URL(0), "slow-pages", redis.Options{Options: opts})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return f
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			site := testsite.New(testsite.Options{Pages: 3, LinksPerPage: 3, PageBytes: 256})
			srv := httptest.NewServer(site)
			defer srv.Close()
			c, err := crawler.New(crawler.Config{
				Frontier: b.open(t), Concurrency: 2, PerHost: 2, Rate: -1, IgnoreRobots: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			yielded := map[string]int{}
			for p, err := range c.Pages(t.Context(), srv.URL+"/") {
				if err != nil {
					t.Fatal(err)
				}
				if yielded[p.Result.URL]++; yielded[p.Result.URL] > 1 {
					// Without renewals every page held comes back: the
					// crawl would never end.
					t.Errorf("%s yielded twice", p.Result.URL)
					break
				}
				// A slow consumer: both workers wait on it with a page each,
				// for longer than a lease lasts.
				time.Sleep(hold)
			}
			if t.Failed() {
				return
			}
			if want := len(site.Reachable(0)); len(yielded) != want || site.Duplicates() != 0 {
				t.Errorf("%d pages yielded of %d reachable, %d fetched twice; want each once", len(yielded), want, site.Duplicates())
			}
		})
	}
}

// renewCounter is a Frontier that counts its Renew calls and the leases
// they renew, over a memory frontier.
type renewCounter struct {
	*frontier.Memory
	calls chan []frontier.Lease
}

func (f *renewCounter) Renew(ctx context.Context, ls []frontier.Lease) error {
	select {
	case f.calls <- append([]frontier.Lease(nil), ls...):
	default:
	}
	return f.Memory.Renew(ctx, ls)
}

// TestWorkersLeasesRenewedInBatches checks that the leases of workers
// held up are renewed together, in one call, and that a run renews
// nothing once its workers hold nothing.
func TestWorkersLeasesRenewedInBatches(t *testing.T) {
	const workers = 4
	site := testsite.New(testsite.Options{Pages: 40, LinksPerPage: 4, PageBytes: 256})
	srv := httptest.NewServer(site)
	defer srv.Close()
	f := &renewCounter{
		Memory: frontier.NewMemory(frontier.Options{LeaseTTL: 300 * time.Millisecond, PerHostInFlight: -1}),
		calls:  make(chan []frontier.Lease, 100),
	}
	defer f.Close()
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) }) // on a failure too
	held := make(chan struct{}, workers)
	c, err := crawler.New(crawler.Config{
		Frontier: f, Concurrency: workers, PerHost: workers, Rate: -1, IgnoreRobots: true, MaxPages: workers,
		Handler: crawler.HandlerFunc(func(ctx context.Context, p *crawler.Page) error {
			held <- struct{}{}
			<-release
			return nil
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	var seeds []string
	for i := range workers {
		seeds = append(seeds, srv.URL+site.Path(i))
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(t.Context(), seeds...)
		done <- err
	}()
	for range workers {
		<-held
	}
	// Every worker holds a page: the next renewal renews all of them at
	// once.
	guard := time.After(10 * time.Second)
	for all := false; !all; {
		select {
		case ls := <-f.calls:
			if len(ls) > workers {
				t.Fatalf("Renew(%d leases); %d workers hold at most %d", len(ls), workers, workers)
			}
			all = len(ls) == workers
		case <-guard:
			t.Fatalf("no Renew call renewed the %d leases the workers hold", workers)
		}
	}
	once.Do(func() { close(release) })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
