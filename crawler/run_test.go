package crawler_test

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/testsite"
)

// TestRunAgain checks that every Run starts from zero: a second Run of one
// Crawler has its own MaxPages and MaxPagesPerHost budgets and counters,
// and goes on with what the first left in the frontier.
func TestRunAgain(t *testing.T) {
	cases := []struct {
		name string
		cfg  crawler.Config
		// second is the second run's seed path ("" for none), want the
		// URLs each run records.
		second string
		want   [2]int64
	}{
		// The first run leaves most of the site queued: the second goes on.
		{"max-pages", crawler.Config{MaxPages: 5}, "", [2]int64{5, 5}},
		// The first run drops the URLs over the host's budget for good:
		// the second has only its new seed, which its own budget allows.
		{"max-pages-per-host", crawler.Config{MaxPagesPerHost: 5}, "/?again", [2]int64{5, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, testsite.Options{Pages: 40, PageBytes: 256})
			cfg := tc.cfg
			cfg.Concurrency, cfg.Rate = 2, -1
			c, err := crawler.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			seeds := [][]string{{s.srv.URL + "/"}, nil}
			if tc.second != "" {
				seeds[1] = []string{s.srv.URL + tc.second}
			}
			for i := range seeds {
				sum, err := c.Run(ctx, seeds[i]...)
				if err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
				if n := sum.Done + sum.Failed + sum.Blocked; n != tc.want[i] {
					t.Errorf("run %d: recorded %d, want %d (%+v)", i+1, n, tc.want[i], sum)
				}
				if p := c.Progress(); p.Done != sum.Done || p.Blocked != sum.Blocked || p.InFlight != 0 {
					t.Errorf("run %d: Progress %+v after a run that did %d", i+1, p, sum.Done)
				}
			}
			// "/?again" is the home page under another URL: it is fetched
			// again, and nothing else is.
			if n, want := s.site.Duplicates(), len(seeds[1]); n != want {
				t.Errorf("%d pages fetched twice, want %d", n, want)
			}
		})
	}
}

// failingWriter accepts n writes, then fails every one.
type failingWriter struct {
	mu sync.Mutex
	n  int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n <= 0 {
		return 0, errors.New("disk full")
	}
	w.n--
	return len(p), nil
}

// TestFailedRecordNotCounted checks that a URL whose record could not be
// written is not counted done: the summary counts what reached the output,
// and the crawl stops with the write error.
func TestFailedRecordNotCounted(t *testing.T) {
	s := newSite(t, testsite.Options{Pages: 40, PageBytes: 256})
	w := &failingWriter{n: 3}
	sink := output.NewJSONLines(w)
	sink.FlushEvery = -1 // every line written through: the fourth fails
	c, err := crawler.New(crawler.Config{Concurrency: 1, Rate: -1, Handler: sink})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum, err := c.Run(ctx, s.srv.URL+"/")
	if err == nil {
		t.Fatal("Run succeeded over a writer that fails")
	}
	if sum.Done+sum.Failed != 3 {
		t.Errorf("summary %+v: %d URLs counted, but 3 records were written", sum, sum.Done+sum.Failed)
	}
}

// fetchOnly is a Fetcher and nothing more: no Get method for robots.txt.
type fetchOnly struct{ f *fetch.Client }

func (f fetchOnly) Fetch(ctx context.Context, rawURL string, check func(context.Context, *url.URL) error) (*fetch.Response, error) {
	return f.f.Fetch(ctx, rawURL, check)
}

// TestRobotsOverAnyFetcher checks that a Config.Fetcher of the caller's
// does not turn robots.txt off: it is fetched with that Fetcher.
func TestRobotsOverAnyFetcher(t *testing.T) {
	s := newSite(t, testsite.Options{Pages: 30, PageBytes: 256})
	c, err := crawler.New(crawler.Config{
		Concurrency: 2, Rate: -1,
		Fetcher: fetchOnly{fetch.New(fetch.Options{})},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Run(ctx, s.srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if n := s.site.Violations(); n != 0 {
		t.Errorf("%d URLs that robots.txt disallows were fetched", n)
	}
	if s.site.Unique() < 20 {
		t.Errorf("only %d pages fetched", s.site.Unique())
	}
}

// hangingFrontier is a memory frontier whose Complete never lands: it
// returns only when its context ends, as a frontier on an unreachable
// Redis server does.
type hangingFrontier struct {
	*frontier.Memory
	once sync.Once
	hung chan struct{} // closed at the first Complete call
}

func (f *hangingFrontier) Complete(ctx context.Context, _ []frontier.Outcome) error {
	f.once.Do(func() { close(f.hung) })
	<-ctx.Done()
	return ctx.Err()
}

// TestStopWhileFrontierHangs checks that a stopped crawl returns while
// its frontier cannot complete anything: after the grace period and a
// little longer, what was not completed is left to lease expiry.
func TestStopWhileFrontierHangs(t *testing.T) {
	s := newSite(t, testsite.Options{Pages: 30, PageBytes: 256})
	f := &hangingFrontier{Memory: frontier.NewMemory(frontier.Options{}), hung: make(chan struct{})}
	defer f.Close()
	c, err := crawler.New(crawler.Config{Concurrency: 2, Rate: -1, Grace: 10 * time.Millisecond, Frontier: f})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.Run(ctx, s.srv.URL+"/")
		done <- err
	}()
	<-f.hung
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v, want context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run has not returned a minute after it was stopped")
	}
}
