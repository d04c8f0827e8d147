package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/proxy"
)

var _ proxy.Observer = (*metrics.Metrics)(nil)

// TestProxyMetrics: results are counted by a closed label set, the benched
// gauge reads the pool's count at scrape time, and no label names a proxy.
func TestProxyMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.ProxyRequest(proxy.ResultOK)
	m.ProxyRequest(proxy.ResultOK)
	m.ProxyRequest(proxy.ResultStatus429)
	m.ProxyRequest("http://user:pw@proxy.example:3128") // not a result: counted as error
	benched := 0
	m.SetProxiesBenched(func() int { return benched })
	benched = 2

	want := `
# HELP crawl_proxies_benched Proxies currently benched after a failure (refused, timed out, 407/403/429, ban page).
# TYPE crawl_proxies_benched gauge
crawl_proxies_benched 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "crawl_proxies_benched"); err != nil {
		t.Error(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if strings.Contains(lp.GetValue(), "://") || strings.Contains(lp.GetValue(), "pw") {
					t.Errorf("%s has label %s=%q", mf.GetName(), lp.GetName(), lp.GetValue())
				}
				if mf.GetName() == "crawl_proxy_requests_total" {
					got[lp.GetValue()] = mt.GetCounter().GetValue()
				}
			}
		}
	}
	if len(got) != len(proxy.Results()) || got["ok"] != 2 || got["status_429"] != 1 || got["error"] != 1 || got["refused"] != 0 {
		t.Errorf("crawl_proxy_requests_total = %v", got)
	}
}
