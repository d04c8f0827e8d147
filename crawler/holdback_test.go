package crawler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/output"
)

// TestFinalRetryAfterHoldsTheHost checks that a 429 on the last attempt,
// recorded as given up, still makes the host wait as its Retry-After asks
// before the next URL.
func TestFinalRetryAfterHoldsTheHost(t *testing.T) {
	var mu sync.Mutex
	at := map[string]time.Time{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at[r.URL.Path] = time.Now()
		mu.Unlock()
		if r.URL.Path == "/b" {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<title>ok</title>"))
	}))
	defer srv.Close()
	// One request at a time on the host, in seed order: /, /b (429, no
	// retry left), then /z, which must wait for /b's Retry-After.
	c, err := crawler.New(crawler.Config{Concurrency: 2, PerHost: 1, Rate: -1, Retries: -1, IgnoreRobots: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(t.Context(), srv.URL+"/", srv.URL+"/b", srv.URL+"/z"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	b, z := at["/b"], at["/z"]
	if b.IsZero() || z.IsZero() {
		t.Fatalf("requests %v; want /b and /z", at)
	}
	if gap := z.Sub(b); gap < 900*time.Millisecond {
		t.Errorf("/z requested %v after /b's 429 with Retry-After: 1; want the host to wait a second", gap)
	}
}

// TestStopDoesNotCountAnAttempt checks that a URL handed back because the
// crawl stopped is not charged an attempt: the crawl that takes it up again
// records it as first tried then.
func TestStopDoesNotCountAnAttempt(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{}, 1)
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case started <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<title>ok</title>"))
	}))
	defer srv.Close()
	defer once.Do(func() { close(release) })
	f := frontier.NewMemory(frontier.Options{PerHostInFlight: -1})
	defer f.Close()
	cfg := crawler.Config{Concurrency: 1, Rate: -1, IgnoreRobots: true, Frontier: f, Grace: time.Millisecond}
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started // the fetch of /slow is under way: stop the crawl
		cancel()
	}()
	if _, err := c.Run(ctx, srv.URL+"/slow"); err == nil {
		t.Fatal("Run stopped by its context returned no error")
	}
	once.Do(func() { close(release) })
	var out bytes.Buffer
	cfg.Handler = output.NewJSONLines(&out)
	c, err = crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	var rec crawler.Result
	if err := json.Unmarshal(out.Bytes(), &rec); err != nil {
		t.Fatalf("record %q: %v", out.String(), err)
	}
	if rec.Attempts != 1 || rec.Error != "" {
		t.Errorf("resumed record: attempts %d, error %q; want 1 attempt and no error", rec.Attempts, rec.Error)
	}
}
