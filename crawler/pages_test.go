package crawler_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/testsite"
)

func TestPagesBreakStopsCleanly(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 2000, LinksPerPage: 10, PageBytes: 256})
	srv := httptest.NewServer(site)
	defer srv.Close()
	before := goleak.IgnoreCurrent() // the test server's goroutines

	obs := &startCounter{}
	c, err := crawler.New(crawler.Config{Concurrency: 8, PerHost: 8, Rate: -1, IgnoreRobots: true, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for p, err := range c.Pages(context.Background(), srv.URL+"/") {
		if err != nil {
			t.Fatal(err)
		}
		if p.Result.Status != 200 || p.Parsed == nil || len(p.Body) == 0 {
			t.Errorf("page %+v", p.Result)
		}
		if n++; n == 20 {
			break
		}
	}
	// Pages has returned: no worker is left to start a request. (The
	// server may still see one that was cut off in flight.)
	started := obs.started.Load()
	time.Sleep(50 * time.Millisecond)
	if got := obs.started.Load(); got != started {
		t.Errorf("%d requests started after the loop ended", got-started)
	}
	if started >= int64(len(site.Reachable(0))) {
		t.Errorf("the whole site was fetched (%d requests) despite the break", started)
	}
	// Idle keep-alive connections end with the server's side of them.
	srv.CloseClientConnections()
	goleak.VerifyNone(t, before)
}

// startCounter counts the requests the crawler starts.
type startCounter struct {
	crawler.NopObserver
	started atomic.Int64
}

func (o *startCounter) FetchStarted() { o.started.Add(1) }

func TestPagesBackPressure(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 300, LinksPerPage: 6, PageBytes: 256})
	srv := httptest.NewServer(site)
	defer srv.Close()
	const workers = 4
	c, err := crawler.New(crawler.Config{Concurrency: workers, PerHost: workers, Rate: -1, IgnoreRobots: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for p, err := range c.Pages(context.Background(), srv.URL+"/") {
		if err != nil {
			t.Fatal(err)
		}
		if seen[p.Result.URL] {
			t.Errorf("%s yielded twice", p.Result.URL)
		}
		seen[p.Result.URL] = true
		if len(seen) == 1 {
			// A slow consumer: the crawl must wait for it, not run ahead.
			time.Sleep(200 * time.Millisecond)
			if got := site.Requests(); got > workers+1 {
				t.Errorf("%d requests while the consumer held the first page; at most %d may wait", got, workers+1)
			}
		}
	}
	if len(seen) != len(site.Reachable(0)) || site.Duplicates() != 0 {
		t.Errorf("%d pages yielded, %d reachable, %d duplicate fetches", len(seen), len(site.Reachable(0)), site.Duplicates())
	}
}

func TestPagesReportsCancel(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 500, LinksPerPage: 6, PageBytes: 256, Latency: 5 * time.Millisecond})
	srv := httptest.NewServer(site)
	defer srv.Close()
	c, err := crawler.New(crawler.Config{Concurrency: 4, PerHost: 4, Rate: -1, IgnoreRobots: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var last error
	n := 0
	for _, err := range c.Pages(ctx, srv.URL+"/") {
		if err != nil {
			last = err
			continue
		}
		if n++; n == 10 {
			cancel()
		}
	}
	if !errors.Is(last, context.Canceled) {
		t.Errorf("last error %v, want context.Canceled", last)
	}
}
