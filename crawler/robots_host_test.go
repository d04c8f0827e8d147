package crawler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/robots"
)

// TestRobotsHostFailures checks what a seed's record says when its host's
// robots.txt cannot be read or refuses it. A host that cannot be reached
// fails the URL as its fetch would have (issue 12 §3.1): the fetch's class,
// the crawl's retries and backoff, whether robots.txt is obeyed or not. A
// server that answers robots.txt with 5xx keeps RFC 9309's "disallow for
// now" until the retries are spent. Every record has a real fetched_at.
func TestRobotsHostFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	ln.Close()

	tests := []struct {
		name         string
		robots       int    // robots.txt status; 0: no server at all
		body         string // robots.txt body
		ignoreRobots bool
		wantClass    string
		wantAttempts int
		wantPage     int // requests for the page the server saw
	}{
		{"unreachable", 0, "", false, fetch.ClassConnect, 3, 0},
		{"unreachable, robots ignored", 0, "", true, fetch.ClassConnect, 3, 0},
		{"robots.txt 503", 503, "", false, crawler.ClassRobotsUnavailable, 3, 0},
		{"robots.txt disallows", 200, "User-agent: *\nDisallow: /\n", false, crawler.ClassRobots, 1, 0},
		{"robots.txt allows", 200, "User-agent: *\nAllow: /\n", false, "", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seed := closed
			var mu sync.Mutex
			pageRequests := 0
			if tt.robots != 0 {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == "/robots.txt" {
						w.WriteHeader(tt.robots)
						io.WriteString(w, tt.body)
						return
					}
					mu.Lock()
					pageRequests++
					mu.Unlock()
					w.Header().Set("Content-Type", "text/html")
					io.WriteString(w, "<title>page</title>")
				}))
				defer srv.Close()
				seed = srv.URL + "/"
			}
			var out bytes.Buffer
			cfg := crawler.Config{
				Rate:         -1,
				Retries:      2,
				RetryBackoff: 10 * time.Millisecond,
				IgnoreRobots: tt.ignoreRobots,
				Handler:      output.NewJSONLines(&out),
			}
			client := fetch.New(fetch.Options{})
			cfg.Fetcher = client
			if !tt.ignoreRobots {
				// A 5xx robots.txt is asked again after RetryAfter, a
				// minute by default.
				cfg.Robots = robots.New(robots.Options{Getter: client, RetryAfter: 10 * time.Millisecond})
			}
			c, err := crawler.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			// A safety net against a hang, not a measure of speed.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			before := time.Now()
			sum, err := c.Run(ctx, seed)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			var recs []crawler.Result
			for dec := json.NewDecoder(&out); dec.More(); {
				var r crawler.Result
				if err := dec.Decode(&r); err != nil {
					t.Fatal(err)
				}
				recs = append(recs, r)
			}
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1: %+v", len(recs), recs)
			}
			r := recs[0]
			if r.Error != tt.wantClass || r.Attempts != tt.wantAttempts {
				t.Errorf("record: error %q after %d attempts (%s); want %q after %d", r.Error, r.Attempts, r.Detail, tt.wantClass, tt.wantAttempts)
			}
			if r.FetchedAt.Before(before.Add(-time.Second)) {
				t.Errorf("fetched_at %v: not the time of the attempt", r.FetchedAt)
			}
			mu.Lock()
			if pageRequests != tt.wantPage {
				t.Errorf("the page was requested %d times, want %d", pageRequests, tt.wantPage)
			}
			mu.Unlock()
			wantFailed := int64(0)
			if tt.robots == 0 || tt.robots >= 500 {
				wantFailed = 1
			}
			if sum.Failed != wantFailed {
				t.Errorf("summary %+v: want %d failed", sum, wantFailed)
			}
		})
	}
}
