package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivecrawl/crawl/fetch"
)

// newRenderRequests returns crawl_render_requests_total, with every
// result of the closed set (fetch.SubrequestResults) at zero.
func newRenderRequests() *prometheus.CounterVec {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crawl_render_requests_total",
		Help: "Requests rendered pages made in the browser, by result: allowed, blocked_robots, blocked_private, blocked_type or failed.",
	}, []string{"result"})
	for _, r := range fetch.SubrequestResults() {
		v.WithLabelValues(r)
	}
	return v
}

// PageRendered implements crawler.RenderObserver: it counts the requests
// of a rendered page by result, and the bytes they brought in
// crawl_downloaded_bytes_total.
func (m *Metrics) PageRendered(subs []fetch.Subrequest) {
	for _, s := range subs {
		r := s.Result
		if !slicesContains(fetch.SubrequestResults(), r) {
			r = fetch.SubFailed
		}
		m.render.WithLabelValues(r).Inc()
		m.bytes.Add(float64(s.Bytes))
	}
}

// slicesContains reports whether set holds v.
func slicesContains(set []string, v string) bool {
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}
