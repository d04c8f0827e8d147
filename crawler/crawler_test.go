package crawler_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/testsite"
)

// siteUnderTest is a synthetic site plus an off-site server that counts
// every request it gets (there should be none).
type siteUnderTest struct {
	site    *testsite.Site
	srv     *httptest.Server
	offsite atomic.Int64
}

func newSite(t *testing.T, opts testsite.Options) *siteUnderTest {
	t.Helper()
	s := &siteUnderTest{}
	off := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.offsite.Add(1)
	}))
	t.Cleanup(off.Close)
	opts.OffsiteURL = off.URL
	s.site = testsite.New(opts)
	s.srv = httptest.NewServer(s.site)
	t.Cleanup(s.srv.Close)
	return s
}

// crawlSite runs a crawl of s with cfg and returns the decoded records.
func crawlSite(t *testing.T, s *siteUnderTest, cfg crawler.Config) ([]crawler.Result, crawler.Summary) {
	t.Helper()
	var out bytes.Buffer
	cfg.Handler = output.NewJSONLines(&out)
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sum, err := c.Run(ctx, s.srv.URL+"/")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var recs []crawler.Result
	dec := json.NewDecoder(&out)
	for dec.More() {
		var r crawler.Result
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output is not JSON lines: %v", err)
		}
		recs = append(recs, r)
	}
	return recs, sum
}

// pageNumber maps a canonical page URL of the site back to its number.
func pageNumber(t *testing.T, base, u string) (int, bool) {
	path := strings.TrimPrefix(u, base)
	if path == "/" {
		return 0, true
	}
	n, err := strconv.Atoi(strings.TrimPrefix(path, "/p/"))
	if err != nil || !strings.HasPrefix(path, "/p/") {
		return 0, false
	}
	return n, true
}

func TestCrawlFetchesEveryPageOnce(t *testing.T) {
	s := newSite(t, testsite.Options{Pages: 5000, LinksPerPage: 20, PageBytes: 2048})
	recs, sum := crawlSite(t, s, crawler.Config{Concurrency: 16, PerHost: 16, Rate: -1})

	reach := s.site.Reachable(0)
	for n := range reach {
		if got := s.site.Fetches(n); got != 1 {
			t.Errorf("page %d fetched %d times, want 1", n, got)
		}
	}
	if got := s.site.Unique(); got != len(reach) {
		t.Errorf("server saw %d unique pages, want %d", got, len(reach))
	}
	if d := s.site.Duplicates(); d != 0 {
		t.Errorf("%d duplicate fetches", d)
	}
	if v := s.site.Violations(); v != 0 {
		t.Errorf("%d requests to robots-disallowed paths", v)
	}
	if n := s.offsite.Load(); n != 0 {
		t.Errorf("%d off-site requests", n)
	}
	if n := s.site.RobotsFetches(); n != 1 {
		t.Errorf("robots.txt fetched %d times, want 1", n)
	}
	if n := s.site.NotFound(); n != 0 {
		t.Errorf("%d requests for pages that do not exist", n)
	}

	pages, blocked := 0, 0
	for _, r := range recs {
		switch {
		case r.Error == crawler.ClassRobots:
			blocked++
			if !strings.Contains(r.URL, "/private/") {
				t.Errorf("%s blocked by robots, but robots.txt only disallows /private/", r.URL)
			}
		case r.Error != "":
			t.Errorf("%s: unexpected error %s: %s", r.URL, r.Error, r.Detail)
		default:
			pages++
			if r.Status != 200 || r.Title == "" || r.Links == 0 || r.FetchedAt.IsZero() || r.Attempts != 1 {
				t.Errorf("incomplete record %+v", r)
			}
			// Without a depth limit the order is per host, not global, so a
			// page may be found first along a longer path; never a shorter one.
			if n, ok := pageNumber(t, s.srv.URL, r.URL); !ok || r.Depth < reach[n] {
				t.Errorf("%s: depth %d, shortest is %d", r.URL, r.Depth, reach[n])
			}
		}
	}
	if pages != len(reach) {
		t.Errorf("%d page records, want %d", pages, len(reach))
	}
	if blocked == 0 {
		t.Error("no robots-blocked records: the site links to /private/ pages")
	}
	if sum.Done != int64(pages) || sum.Blocked != int64(blocked) || sum.Failed != 0 {
		t.Errorf("summary %+v, records %d", sum, len(recs))
	}
}

func TestCrawlBudgets(t *testing.T) {
	tests := []struct {
		name string
		cfg  crawler.Config
	}{
		{"max-depth 1", crawler.Config{MaxDepth: 1}},
		{"max-depth 3", crawler.Config{MaxDepth: 3}},
		{"max-pages 57", crawler.Config{MaxPages: 57}},
		{"max-pages-per-host 30", crawler.Config{MaxPagesPerHost: 30}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSite(t, testsite.Options{Pages: 2000, LinksPerPage: 10, PageBytes: 512, DisallowPrefix: "/private/"})
			cfg := tt.cfg
			cfg.Concurrency, cfg.PerHost, cfg.Rate, cfg.IgnoreRobots = 8, 8, -1, true
			recs, _ := crawlSite(t, s, cfg)
			switch {
			case cfg.MaxDepth > 0:
				want := s.site.Reachable(cfg.MaxDepth)
				got := 0
				for _, r := range recs {
					if r.Depth > cfg.MaxDepth {
						t.Errorf("%s at depth %d > %d", r.URL, r.Depth, cfg.MaxDepth)
					}
					if n, ok := pageNumber(t, s.srv.URL, r.URL); ok {
						got++
						if _, in := want[n]; !in {
							t.Errorf("page %d fetched but not within depth %d", n, cfg.MaxDepth)
						}
					}
				}
				if got != len(want) {
					t.Errorf("%d pages fetched, want exactly %d within depth %d", got, len(want), cfg.MaxDepth)
				}
			case cfg.MaxPages > 0:
				if len(recs) != cfg.MaxPages {
					t.Errorf("%d records, want exactly %d", len(recs), cfg.MaxPages)
				}
				if got := s.site.Requests(); got > int64(cfg.MaxPages) {
					t.Errorf("server got %d requests, want at most %d", got, cfg.MaxPages)
				}
			case cfg.MaxPagesPerHost > 0:
				if got := s.site.Requests(); got != int64(cfg.MaxPagesPerHost) {
					t.Errorf("server got %d requests, want exactly %d", got, cfg.MaxPagesPerHost)
				}
			}
		})
	}
}

func TestPerHostConcurrencyCap(t *testing.T) {
	for _, perHost := range []int{1, 2, 4} {
		t.Run("per-host "+strconv.Itoa(perHost), func(t *testing.T) {
			s := newSite(t, testsite.Options{Pages: 120, LinksPerPage: 10, PageBytes: 256, Latency: 15 * time.Millisecond})
			crawlSite(t, s, crawler.Config{Concurrency: 16, PerHost: perHost, Rate: -1})
			got := s.site.MaxInFlight()
			if got > perHost {
				t.Errorf("server saw %d requests in flight, cap is %d", got, perHost)
			}
			if perHost > 1 && got < 2 {
				t.Errorf("server never saw concurrent requests (max %d): the cap was not exercised", got)
			}
		})
	}
}
