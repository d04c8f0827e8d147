package crawler_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/testsite"
)

// slowFrontier is a frontier a round trip away: each call takes delay, as
// a call to Redis or a group commit to disk does. It counts calls and the
// requests they carry.
type slowFrontier struct {
	*frontier.Memory
	delay                  time.Duration
	leaseCalls, leased     atomic.Int64
	completeCalls, settled atomic.Int64
}

func (f *slowFrontier) wait(ctx context.Context) error {
	t := time.NewTimer(f.delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *slowFrontier) Lease(ctx context.Context, max int) ([]frontier.Lease, error) {
	if err := f.wait(ctx); err != nil {
		return nil, err
	}
	ls, err := f.Memory.Lease(ctx, max)
	f.leaseCalls.Add(1)
	f.leased.Add(int64(len(ls)))
	return ls, err
}

func (f *slowFrontier) Complete(ctx context.Context, outs []frontier.Outcome) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	f.completeCalls.Add(1)
	f.settled.Add(int64(len(outs)))
	return f.Memory.Complete(ctx, outs)
}

// TestFrontierCallsAreBatched checks that workers share frontier calls: with
// a frontier that takes 20 ms a call, 16 workers lease and complete many
// URLs per call instead of one, and the crawl is still complete, each page
// fetched once, every lease completed.
func TestFrontierCallsAreBatched(t *testing.T) {
	const pages = 600
	site := testsite.New(testsite.Options{Pages: pages})
	f := siteFetcher{site}
	sf := &slowFrontier{Memory: frontier.NewMemory(frontier.Options{PerHostInFlight: 16}), delay: 20 * time.Millisecond}
	defer sf.Close()
	c, err := crawler.New(crawler.Config{
		Concurrency:  16,
		Frontier:     sf,
		Fetcher:      f,
		IgnoreRobots: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(t.Context(), "http://127.0.0.2:8080/")
	if err != nil {
		t.Fatal(err)
	}
	if site.Unique() != pages || site.Duplicates() != 0 {
		t.Fatalf("fetched %d of %d pages, %d twice (%+v)", site.Unique(), pages, site.Duplicates(), sum)
	}
	urls := sum.Done + sum.Failed
	if sf.leased.Load() != urls || sf.settled.Load() != urls {
		t.Errorf("%d URLs recorded, %d leased, %d completed; want all equal", urls, sf.leased.Load(), sf.settled.Load())
	}
	// One call per URL would take 2 × 20 ms × urls / 16 workers at best;
	// batches of several are what make a remote frontier affordable.
	for _, c := range []struct {
		name         string
		calls, items int64
	}{
		{"Lease", sf.leaseCalls.Load(), sf.leased.Load()},
		{"Complete", sf.completeCalls.Load(), sf.settled.Load()},
	} {
		// The leaser and the completer take turns, so the 16 workers make
		// two groups of about 8; 3 leaves room for a loaded machine.
		if c.calls*3 > c.items {
			t.Errorf("%d %s calls for %d URLs; want batches of 3 or more on average", c.calls, c.name, c.items)
		}
		t.Logf("%s: %d calls for %d URLs", c.name, c.calls, c.items)
	}
}
