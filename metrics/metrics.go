package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FailureClasses is the closed set of failure classes; each is initialised
// at zero so that dashboards see every series from the start.
var FailureClasses = []string{
	"timeout", "dns", "connect", "tls", "reset", "too_large", "redirect_limit",
	"bad_redirect", "canceled", "invalid_url", "out_of_scope", "robots",
	"robots_unavailable", "other",
}

// RetryClasses is the closed set of retry causes.
var RetryClasses = []string{"timeout", "connect", "reset", "http_429", "http_5xx", "robots_unavailable"}

// DropReasons is the closed set of reasons a found link is not followed.
var DropReasons = []string{"out_of_scope", "max_depth"}

// Metrics is the set of crawl collectors. It is safe for concurrent use.
type Metrics struct {
	inFlight prometheus.Gauge
	done     prometheus.Counter
	failed   *prometheus.CounterVec
	retries  *prometheus.CounterVec
	robots   prometheus.Counter
	dropped  *prometheus.CounterVec
	waited   prometheus.Counter
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) (*Metrics, error) {
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
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawl_links_dropped_total",
			Help: "Links found but not followed, by reason.",
		}, []string{"reason"}),
		waited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crawl_frontier_wait_seconds_total",
			Help: "Time workers spent waiting for the frontier to hand out work (politeness or an empty queue).",
		}),
	}
	for _, c := range FailureClasses {
		m.failed.WithLabelValues(c)
	}
	for _, c := range RetryClasses {
		m.retries.WithLabelValues(c)
	}
	for _, r := range DropReasons {
		m.dropped.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{m.inFlight, m.done, m.failed, m.retries, m.robots, m.dropped, m.waited} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// FetchStarted implements crawler.Observer.
func (m *Metrics) FetchStarted() { m.inFlight.Inc() }

// FetchFinished implements crawler.Observer: a fetch with a response counts
// as done, one without (or with a body over the cap) as failed by class.
func (m *Metrics) FetchFinished(status int, class string, bytes int64, d time.Duration) {
	m.inFlight.Dec()
	if status > 0 && class != "too_large" {
		m.done.Inc()
		return
	}
	m.failed.WithLabelValues(closed(class, FailureClasses)).Inc()
}

// Retried implements crawler.Observer.
func (m *Metrics) Retried(class string) { m.retries.WithLabelValues(closed(class, RetryClasses)).Inc() }

// RobotsBlocked implements crawler.Observer.
func (m *Metrics) RobotsBlocked() { m.robots.Inc() }

// LinksDropped implements crawler.Observer.
func (m *Metrics) LinksDropped(reason string, n int) {
	m.dropped.WithLabelValues(closed(reason, DropReasons)).Add(float64(n))
}

// Waited implements crawler.Observer.
func (m *Metrics) Waited(d time.Duration) { m.waited.Add(d.Seconds()) }

// closed maps v onto a closed label set: values outside it become "other"
// (which set must then contain) or its last element.
func closed(v string, set []string) string {
	for _, s := range set {
		if s == v {
			return v
		}
	}
	return set[len(set)-1]
}
