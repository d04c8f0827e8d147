package metrics

import (
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivecrawl/crawl/proxy"
)

// ProxyResults is the closed set of values of the result label of
// crawl_proxy_requests_total: proxy.Results. Any other value is counted
// as "error". No label ever names a proxy.
var ProxyResults = proxy.Results()

// proxyMetrics are the collectors of requests through proxies.
type proxyMetrics struct {
	requests *prometheus.CounterVec
	benched  prometheus.GaugeFunc
	// count is the function SetProxiesBenched gave, nil until then.
	count atomic.Pointer[func() int]
}

func newProxyMetrics() *proxyMetrics {
	p := &proxyMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crawl_proxy_requests_total",
			Help: "Requests sent through a proxy, by result (ok, refused, timeout, status_407, status_403, status_429, banned, error).",
		}, []string{"result"}),
	}
	p.benched = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "crawl_proxies_benched",
		Help: "Proxies currently benched after a failure (refused, timed out, 407/403/429, ban page).",
	}, func() float64 {
		if f := p.count.Load(); f != nil {
			return float64((*f)())
		}
		return 0
	})
	for _, r := range ProxyResults {
		p.requests.WithLabelValues(r)
	}
	return p
}

// ProxyRequest implements proxy.Observer: one request through a proxy,
// with its result.
func (m *Metrics) ProxyRequest(result string) {
	if !slices.Contains(ProxyResults, result) {
		result = proxy.ResultError
	}
	m.proxies.requests.WithLabelValues(result).Inc()
}

// SetProxiesBenched makes every scrape read crawl_proxies_benched from
// count, such as a proxy.Pool's Benched method. Until it is called, or
// with nil, the gauge is 0.
func (m *Metrics) SetProxiesBenched(count func() int) {
	if count == nil {
		m.proxies.count.Store(nil)
		return
	}
	m.proxies.count.Store(&count)
}
