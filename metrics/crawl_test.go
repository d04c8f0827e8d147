package metrics_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/testsite"
)

// faultySite serves the synthetic site, except for a few pages that fail
// in a chosen way, and counts what it answered. The failing pages are at
// depth 3, with parents that answer normally, so every one is reached.
type faultySite struct {
	site    *testsite.Site
	answers atomic.Int64 // page requests answered in full (any status), robots.txt aside
	faults  map[string]*atomic.Int64
}

// Failing paths and what they do.
const (
	pathNotFound = "/p/7"  // 404
	pathError    = "/p/9"  // 500
	pathHang     = "/p/11" // no answer until the client gives up: timeout
	pathCut      = "/p/13" // headers, half the body, then the connection closes: reset
	pathBig      = "/p/14" // a body over the cap: too_large
)

func newFaultySite() *faultySite {
	f := &faultySite{
		site:   testsite.New(testsite.Options{Pages: 60, PageBytes: 1024}),
		faults: make(map[string]*atomic.Int64),
	}
	for _, p := range []string{pathNotFound, pathError, pathHang, pathCut, pathBig} {
		f.faults[p] = new(atomic.Int64)
	}
	return f
}

// count returns how many requests the fault at path got.
func (f *faultySite) count(path string) float64 { return float64(f.faults[path].Load()) }

func (f *faultySite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c := f.faults[r.URL.Path]; c != nil {
		c.Add(1)
	}
	switch r.URL.Path {
	case "/robots.txt":
		f.site.ServeHTTP(w, r)
		return
	case pathHang:
		<-r.Context().Done()
		return
	case pathCut:
		w.Header().Set("Content-Length", "2000")
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		w.Write(bytes.Repeat([]byte("x"), 1000))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // closes the connection mid-body
	case pathBig:
		w.Header().Set("Content-Type", "text/html")
		w.Write(bytes.Repeat([]byte("<p>big</p>"), 20_000)) // 200 kB
		return
	case pathNotFound:
		http.NotFound(w, r)
	case pathError:
		http.Error(w, "boom", http.StatusInternalServerError)
	default:
		f.site.ServeHTTP(w, r)
	}
	f.answers.Add(1)
}

// TestCrawlCounters crawls the faulty site with one retry and checks every
// counter against what the server saw.
func TestCrawlCounters(t *testing.T) {
	f := newFaultySite()
	srv := httptest.NewServer(f)
	defer srv.Close()

	m, reg := newMetrics(t, metrics.Options{})
	c, err := crawler.New(crawler.Config{
		Concurrency:  4,
		PerHost:      4,
		Rate:         -1,
		Timeout:      300 * time.Millisecond,
		MaxBodyBytes: 64 << 10,
		Retries:      1,
		RetryBackoff: time.Millisecond,
		Observer:     m,
	})
	if err != nil {
		t.Fatal(err)
	}
	m.SetFrontierStats(func(ctx context.Context) (metrics.FrontierStats, error) {
		st, err := c.FrontierStats(ctx)
		return metrics.FrontierStats{Queued: st.Queued, Leased: st.Leased, Hosts: st.Hosts, Duplicates: st.Duplicates}, err
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum, err := c.Run(ctx, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}

	// Retryable failures (timeout, reset, 5xx) are fetched twice, the
	// others once.
	for path, n := range map[string]float64{pathNotFound: 1, pathError: 2, pathHang: 2, pathCut: 2, pathBig: 1} {
		if got := f.count(path); got != n {
			t.Fatalf("server got %v requests for %s, want %v", got, path, n)
		}
	}
	// The whole closed set, so that a class counted by mistake shows too.
	var failed strings.Builder
	failed.WriteString("# HELP crawl_requests_failed_total Fetches that got no usable response, by failure class.\n")
	failed.WriteString("# TYPE crawl_requests_failed_total counter\n")
	for _, class := range metrics.FailureClasses {
		n := map[string]float64{"timeout": f.count(pathHang), "reset": f.count(pathCut), "too_large": f.count(pathBig)}[class]
		failed.WriteString(`crawl_requests_failed_total{class="` + class + `"} ` + strconv.FormatFloat(n, 'g', -1, 64) + "\n")
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(failed.String()), "crawl_requests_failed_total"); err != nil {
		t.Error(err)
	}

	answers := float64(f.answers.Load())
	st, err := c.FrontierStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"crawl_requests_done_total":                      answers,
		`crawl_responses_total{code="2xx"}`:              answers - f.count(pathNotFound) - f.count(pathError),
		`crawl_responses_total{code="4xx"}`:              f.count(pathNotFound),
		`crawl_responses_total{code="5xx"}`:              f.count(pathError),
		`crawl_retries_total{class="timeout"}`:           1,
		`crawl_retries_total{class="reset"}`:             1,
		`crawl_retries_total{class="http_5xx"}`:          1,
		`crawl_retries_total{class="connect"}`:           0,
		"crawl_requests_in_flight":                       0,
		"crawl_robots_blocked_total":                     float64(f.site.Unique()), // each page links to one disallowed URL of its own
		`crawl_links_dropped_total{reason="duplicate"}`:  float64(st.Duplicates),
		`crawl_links_dropped_total{reason="max_depth"}`:  0,
		"crawl_frontier_queued_requests":                 0,
		"crawl_frontier_leased_requests":                 0,
		"crawl_frontier_active_hosts":                    0,
		"crawl_fetch_duration_seconds_count":             answers + f.count(pathHang) + f.count(pathCut) + f.count(pathBig),
		"crawl_response_size_bytes_count":                answers,
		`crawl_requests_failed_total{class="robots"}`:    0,
		`crawl_requests_failed_total{class="canceled"}`:  0,
		`crawl_requests_failed_total{class="too_large"}`: 1,
	}
	got := values(t, reg)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if f.site.Violations() != 0 {
		t.Errorf("the crawler fetched %d disallowed URLs", f.site.Violations())
	}
	if st.Duplicates == 0 {
		t.Error("the frontier counted no duplicates on a site full of them")
	}
	// Every page links off site once.
	if got[`crawl_links_dropped_total{reason="out_of_scope"}`] < float64(f.site.Unique()) {
		t.Errorf("out-of-scope links %v, want at least one per page (%d)", got[`crawl_links_dropped_total{reason="out_of_scope"}`], f.site.Unique())
	}
	if got["crawl_frontier_wait_seconds_total"] <= 0 || got["crawl_downloaded_bytes_total"] <= 0 {
		t.Errorf("wait %v s, bytes %v: want both positive", got["crawl_frontier_wait_seconds_total"], got["crawl_downloaded_bytes_total"])
	}
	// The summary counts URLs, the metrics fetches: one URL each for the
	// timeout, the cut body and the body over the cap failed for good, and
	// the records of the 404 and the 500 carry their error too.
	if sum.Failed != 5 || sum.FailedBy["http_4xx"] != 1 || sum.FailedBy["http_5xx"] != 1 {
		t.Errorf("summary: %d failed URLs (%v), want 5 (1 http_4xx, 1 http_5xx)", sum.Failed, sum.FailedBy)
	}
}

// TestMaxDepthDrops checks the max_depth reason on a depth-limited crawl.
func TestMaxDepthDrops(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 30, LinksPerPage: 4, PageBytes: 256})
	srv := httptest.NewServer(site)
	defer srv.Close()
	m, reg := newMetrics(t, metrics.Options{})
	c, err := crawler.New(crawler.Config{Concurrency: 2, Rate: -1, MaxDepth: 1, Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Run(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	got := values(t, reg)
	if got[`crawl_links_dropped_total{reason="max_depth"}`] == 0 {
		t.Errorf("no max_depth drops on a crawl limited to depth 1: %v", got)
	}
	if got["crawl_requests_done_total"] != float64(site.Unique()) {
		t.Errorf("done %v, server served %d pages", got["crawl_requests_done_total"], site.Unique())
	}
}
