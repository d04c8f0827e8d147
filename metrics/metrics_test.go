package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hivecrawl/crawl/metrics"
)

// Interface guard, kept in the test because package metrics must not import
// package crawler.
var _ interface {
	FetchStarted()
	FetchFinished(int, string, int64, time.Duration)
	Retried(string)
	RobotsBlocked()
	LinksDropped(string, int)
	Waited(time.Duration)
} = (*metrics.Metrics)(nil)

func newMetrics(t *testing.T, opts metrics.Options) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// values gathers reg into a map from series ("name{k="v",...}", labels in
// order; histograms as name_count and name_sum) to value.
func values(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := mf.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[mf.GetName()+"_count"] = float64(m.GetHistogram().GetSampleCount())
				out[mf.GetName()+"_sum"] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func TestEveryLabelStartsAtZero(t *testing.T) {
	_, reg := newMetrics(t, metrics.Options{})
	v := values(t, reg)
	for _, family := range []struct {
		name, label string
		set         []string
	}{
		{"crawl_requests_failed_total", "class", metrics.FailureClasses},
		{"crawl_retries_total", "class", metrics.RetryClasses},
		{"crawl_links_dropped_total", "reason", metrics.DropReasons},
		{"crawl_responses_total", "code", metrics.StatusClasses},
	} {
		for _, l := range family.set {
			key := fmt.Sprintf("%s{%s=%q}", family.name, family.label, l)
			if got, ok := v[key]; !ok || got != 0 {
				t.Errorf("%s = %v (present %v), want 0", key, got, ok)
			}
		}
	}
	for _, name := range []string{
		"crawl_requests_in_flight", "crawl_requests_done_total", "crawl_robots_blocked_total",
		"crawl_frontier_wait_seconds_total", "crawl_downloaded_bytes_total", "crawl_frontier_stats_errors_total",
		"crawl_fetch_duration_seconds_count", "crawl_response_size_bytes_count",
	} {
		if got, ok := v[name]; !ok || got != 0 {
			t.Errorf("%s = %v (present %v), want 0", name, got, ok)
		}
	}
	// Without a stats function the frontier gauges are absent, not zero:
	// a zero queue would be a lie.
	for _, name := range []string{"crawl_frontier_queued_requests", "crawl_frontier_leased_requests", "crawl_frontier_active_hosts"} {
		if _, ok := v[name]; ok {
			t.Errorf("%s present before SetFrontierStats", name)
		}
	}
}

func TestNamesPassLint(t *testing.T) {
	m, reg := newMetrics(t, metrics.Options{})
	m.SetFrontierStats(func(context.Context) (metrics.FrontierStats, error) { return metrics.FrontierStats{}, nil })
	m.FetchStarted()
	m.FetchFinished(200, "", 1000, time.Millisecond)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestBuildInfo(t *testing.T) {
	_, reg := newMetrics(t, metrics.Options{Version: "1.2.3"})
	want := fmt.Sprintf(`
# HELP crawl_build_info Always 1; its labels say which crawler build is running.
# TYPE crawl_build_info gauge
crawl_build_info{goversion=%q,version="1.2.3"} 1
`, runtime.Version())
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "crawl_build_info"); err != nil {
		t.Error(err)
	}
	_, reg = newMetrics(t, metrics.Options{})
	if v := values(t, reg); v[fmt.Sprintf(`crawl_build_info{goversion=%q,version="unknown"}`, runtime.Version())] != 1 {
		t.Errorf("build info without a version: %v", v)
	}
}

func TestRegisterTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := metrics.New(reg, metrics.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.New(reg, metrics.Options{}); err == nil {
		t.Error("second New on one registry succeeded")
	}
}

func TestObserverEvents(t *testing.T) {
	m, reg := newMetrics(t, metrics.Options{})
	for range 6 {
		m.FetchStarted()
	}
	m.FetchFinished(200, "", 5000, 30*time.Millisecond)
	m.FetchFinished(301, "", 0, 10*time.Millisecond)
	m.FetchFinished(404, "", 100, 10*time.Millisecond)
	m.FetchFinished(503, "", 100, 10*time.Millisecond)
	m.FetchFinished(200, "too_large", 65536, time.Second) // a response, but not a usable one
	m.FetchFinished(0, "timeout", 0, 2*time.Second)
	m.FetchStarted()
	m.FetchFinished(0, "no such class", 0, time.Millisecond)
	m.Retried("timeout")
	m.Retried("http_5xx")
	m.Retried("surprise")
	m.RobotsBlocked()
	m.LinksDropped("out_of_scope", 3)
	m.LinksDropped("max_depth", 2)
	m.LinksDropped("duplicate", 7) // the frontier counts duplicates, not the crawler
	m.LinksDropped("url_too_long", 1)
	m.Waited(1500 * time.Millisecond)

	want := map[string]float64{
		"crawl_requests_in_flight":                         0,
		"crawl_requests_done_total":                        4,
		`crawl_responses_total{code="2xx"}`:                1,
		`crawl_responses_total{code="3xx"}`:                1,
		`crawl_responses_total{code="4xx"}`:                1,
		`crawl_responses_total{code="5xx"}`:                1,
		`crawl_requests_failed_total{class="too_large"}`:   1,
		`crawl_requests_failed_total{class="timeout"}`:     1,
		`crawl_requests_failed_total{class="other"}`:       1,
		`crawl_retries_total{class="timeout"}`:             1,
		`crawl_retries_total{class="http_5xx"}`:            1,
		`crawl_retries_total{class="other"}`:               1,
		"crawl_robots_blocked_total":                       1,
		`crawl_links_dropped_total{reason="out_of_scope"}`: 3,
		`crawl_links_dropped_total{reason="max_depth"}`:    2,
		`crawl_links_dropped_total{reason="duplicate"}`:    0,
		`crawl_links_dropped_total{reason="other"}`:        8,
		"crawl_frontier_wait_seconds_total":                1.5,
		"crawl_downloaded_bytes_total":                     5000 + 100 + 100 + 65536,
		"crawl_fetch_duration_seconds_count":               7,
		"crawl_response_size_bytes_count":                  4,
		"crawl_response_size_bytes_sum":                    5200,
	}
	got := values(t, reg)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
}

func TestFrontierStats(t *testing.T) {
	m, reg := newMetrics(t, metrics.Options{StatsTimeout: 50 * time.Millisecond})
	var calls atomic.Int64
	var fail atomic.Bool
	m.SetFrontierStats(func(context.Context) (metrics.FrontierStats, error) {
		n := calls.Add(1)
		if fail.Load() {
			return metrics.FrontierStats{}, errors.New("backend down")
		}
		return metrics.FrontierStats{Queued: 10 * n, Leased: 2, Hosts: 3, Duplicates: 40}, nil
	})
	want := func(when string, queued, errs float64) {
		t.Helper()
		v := values(t, reg)
		for k, w := range map[string]float64{
			"crawl_frontier_queued_requests":                0 + queued,
			"crawl_frontier_leased_requests":                2,
			"crawl_frontier_active_hosts":                   3,
			`crawl_links_dropped_total{reason="duplicate"}`: 40,
			"crawl_frontier_stats_errors_total":             errs,
		} {
			if v[k] != w {
				t.Errorf("%s: %s = %v, want %v", when, k, v[k], w)
			}
		}
	}
	want("first scrape", 10, 0)
	want("second scrape reads again", 20, 0)
	fail.Store(true)
	want("a failed read keeps the last values", 20, 1)
}

func TestFrontierStatsTimeout(t *testing.T) {
	m, reg := newMetrics(t, metrics.Options{StatsTimeout: 20 * time.Millisecond})
	var calls atomic.Int64
	release := make(chan struct{})
	m.SetFrontierStats(func(ctx context.Context) (metrics.FrontierStats, error) {
		calls.Add(1)
		<-release // ignores ctx: the worst case
		return metrics.FrontierStats{Queued: 5, Duplicates: 1}, nil
	})
	for i := range 3 {
		start := time.Now()
		v := values(t, reg)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("scrape %d took %s with a stuck stats function", i, d)
		}
		if _, ok := v["crawl_frontier_queued_requests"]; ok {
			t.Errorf("scrape %d: gauges present before any read succeeded", i)
		}
		if v["crawl_frontier_stats_errors_total"] != float64(i+1) {
			t.Errorf("scrape %d: errors %v, want %d", i, v["crawl_frontier_stats_errors_total"], i+1)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("stats called %d times while stuck, want 1", n)
	}
	close(release)
	v := values(t, reg)
	if v["crawl_frontier_queued_requests"] != 5 || v[`crawl_links_dropped_total{reason="duplicate"}`] != 1 {
		t.Errorf("after the stuck read returned: %v", v)
	}
	m.SetFrontierStats(nil)
	v = values(t, reg)
	if _, ok := v["crawl_frontier_queued_requests"]; ok {
		t.Error("gauges present after SetFrontierStats(nil)")
	}
	if v[`crawl_links_dropped_total{reason="duplicate"}`] != 1 {
		t.Error("the duplicate counter went back after SetFrontierStats(nil)")
	}
}
