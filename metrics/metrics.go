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

// Metrics is the set of crawl collectors. It is safe for concurrent use.
type Metrics struct {
	inFlight prometheus.Gauge
	done     prometheus.Counter
	failed   *prometheus.CounterVec
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
	}
	for _, c := range FailureClasses {
		m.failed.WithLabelValues(c)
	}
	for _, c := range []prometheus.Collector{m.inFlight, m.done, m.failed} {
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
	if class == "" {
		class = "other"
	}
	m.failed.WithLabelValues(class).Inc()
}
