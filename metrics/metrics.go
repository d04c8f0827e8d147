package metrics

import (
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivecrawl/crawl/fetch"
)

// FailureClasses is the closed set of values of the class label of
// crawl_requests_failed_total: the failure classes (fetch.Classes) a fetch
// without a usable response can end with, which are all but those judged
// on a response (http_4xx, http_5xx, parse). Any other value is counted as
// "other".
var FailureClasses = failureClasses()

// RetryClasses is the closed set of retry causes, the class label of
// crawl_retries_total: fetch.RetryClasses and "other". Any other cause is
// counted as "other".
var RetryClasses = append(fetch.RetryClasses(), fetch.ClassOther)

// failureClasses returns fetch.Classes without the classes of a judged
// response.
func failureClasses() []string {
	var out []string
	for _, c := range fetch.Classes() {
		switch c {
		case fetch.ClassHTTP4xx, fetch.ClassHTTP5xx, fetch.ClassParse:
			continue
		}
		out = append(out, c)
	}
	return out
}

// DropReasons is the closed set of reasons a found link is not followed,
// the reason label of crawl_links_dropped_total. "duplicate" is the
// frontier's count of URLs it had already seen; any reason the crawler
// reports outside the set is counted as "other".
var DropReasons = []string{"out_of_scope", "max_depth", "duplicate", "other"}

// StatusClasses is the closed set of values of the code label of
// crawl_responses_total.
var StatusClasses = []string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// Bucket boundaries. Web pages take from a few milliseconds (a nearby
// cache) to the 30s default timeout; their bodies from a few hundred bytes
// (a redirect, an error page) to the 10 MiB default cap.
var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	sizeBuckets     = prometheus.ExponentialBuckets(256, 4, 9) // 256 B to 16 MiB
)

// Options configures New. The zero value is usable.
type Options struct {
	// Version is the version label of crawl_build_info. Empty means
	// "unknown".
	Version string
	// StatsTimeout bounds each read of the frontier's stats during a
	// scrape (see SetFrontierStats). Zero means 1s.
	StatsTimeout time.Duration
}

// Metrics is the set of crawl collectors: an Observer of the crawl and, once
// SetFrontierStats is called, a reader of the frontier's counters. It is
// safe for concurrent use.
type Metrics struct {
	inFlight  prometheus.Gauge
	done      prometheus.Counter
	failed    *prometheus.CounterVec
	responses [5]prometheus.Counter // by StatusClasses index
	retries   *prometheus.CounterVec
	robots    prometheus.Counter
	waited    prometheus.Counter
	duration  prometheus.Histogram
	size      prometheus.Histogram
	bytes     prometheus.Counter
	render    *prometheus.CounterVec
	scraped   *scraped // crawl_links_dropped_total and the frontier gauges
	proxies   *proxyMetrics
}

// New creates the collectors and registers them on reg. It does not
// register the Go and process collectors: a program registers those once
// for itself (cmd/crawl does).
func New(reg prometheus.Registerer, opts Options) (*Metrics, error) {
	if opts.Version == "" {
		opts.Version = "unknown"
	}
	if opts.StatsTimeout <= 0 {
		opts.StatsTimeout = time.Second
	}
	responses := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crawl_responses_total",
		Help: "Fetches that got an HTTP response, by status class (1xx to 5xx; other statuses are not counted here).",
	}, []string{"code"})
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "crawl_build_info",
		Help:        "Always 1; its labels say which crawler build is running.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	m := &Metrics{
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crawl_requests_in_flight",
			Help: "HTTP requests currently being fetched.",
		}),
		done: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crawl_requests_done_total",
			Help: "Fetches that got an HTTP response, whatever its status.",
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawl_requests_failed_total",
			Help: "Fetches that got no usable response, by failure class.",
		}, []string{"class"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawl_retries_total",
			Help: "Requests put back for another attempt, by cause.",
		}, []string{"class"}),
		robots: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crawl_robots_blocked_total",
			Help: "URLs not fetched because robots.txt disallows them.",
		}),
		waited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crawl_frontier_wait_seconds_total",
			Help: "Time workers spent waiting for the frontier to hand out work (politeness or an empty queue).",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crawl_fetch_duration_seconds",
			Help:    "Time from sending a request to having its body (or its error), redirects included.",
			Buckets: durationBuckets,
		}),
		size: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "crawl_response_size_bytes",
			Help:    "Body bytes read (decompressed) per fetch that got a response.",
			Buckets: sizeBuckets,
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crawl_downloaded_bytes_total",
			Help: "Body bytes read (decompressed), over all fetches.",
		}),
		scraped: newScraped(opts.StatsTimeout),
		render:  newRenderRequests(),
		proxies: newProxyMetrics(),
	}
	for i, c := range StatusClasses {
		m.responses[i] = responses.WithLabelValues(c)
	}
	for _, c := range FailureClasses {
		m.failed.WithLabelValues(c)
	}
	for _, c := range RetryClasses {
		m.retries.WithLabelValues(c)
	}
	for _, c := range []prometheus.Collector{
		m.inFlight, m.done, m.failed, responses, m.retries, m.robots, m.waited,
		m.duration, m.size, m.bytes, buildInfo, m.scraped, m.render, m.proxies.requests, m.proxies.benched,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// FetchStarted implements crawler.Observer.
func (m *Metrics) FetchStarted() { m.inFlight.Inc() }

// FetchFinished implements crawler.Observer: a fetch with a response counts
// as done and by status class; one without (or with a body over the cap)
// as failed by class.
func (m *Metrics) FetchFinished(status int, class string, bytes int64, d time.Duration) {
	m.inFlight.Dec()
	m.duration.Observe(d.Seconds())
	if bytes > 0 {
		m.bytes.Add(float64(bytes))
	}
	if status > 0 && class != fetch.ClassTooLarge {
		m.done.Inc()
		m.size.Observe(float64(bytes))
		if i := status/100 - 1; i >= 0 && i < len(m.responses) {
			m.responses[i].Inc()
		}
		return
	}
	m.failed.WithLabelValues(closed(class, FailureClasses)).Inc()
}

// Retried implements crawler.Observer.
func (m *Metrics) Retried(class string) { m.retries.WithLabelValues(closed(class, RetryClasses)).Inc() }

// RobotsBlocked implements crawler.Observer.
func (m *Metrics) RobotsBlocked() { m.robots.Inc() }

// LinksDropped implements crawler.Observer.
func (m *Metrics) LinksDropped(reason string, n int) { m.scraped.dropped(reason, n) }

// Waited implements crawler.Observer.
func (m *Metrics) Waited(d time.Duration) { m.waited.Add(d.Seconds()) }

// closed maps v onto a closed label set, which holds "other": a value
// outside the set is counted as "other".
func closed(v string, set []string) string {
	for _, s := range set {
		if s == v {
			return v
		}
	}
	return fetch.ClassOther
}
