package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/metrics"
)

func TestPageRendered(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.New(reg, metrics.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.PageRendered([]fetch.Subrequest{
		{Result: fetch.SubAllowed, Bytes: 100},
		{Result: fetch.SubAllowed, Bytes: 20},
		{Result: fetch.SubBlockedRobots},
		{Result: fetch.SubBlockedType},
		{Result: "made-up"},
	})
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	var bytes float64
	for _, f := range fams {
		switch f.GetName() {
		case "crawl_render_requests_total":
			for _, mt := range f.GetMetric() {
				got[mt.GetLabel()[0].GetValue()] = mt.GetCounter().GetValue()
			}
		case "crawl_downloaded_bytes_total":
			bytes = f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	want := map[string]float64{fetch.SubAllowed: 2, fetch.SubBlockedRobots: 1, fetch.SubBlockedPrivate: 0, fetch.SubBlockedType: 1, fetch.SubFailed: 1}
	for result, n := range want {
		if got[result] != n {
			t.Errorf("%s: %v, want %v", result, got[result], n)
		}
	}
	if len(got) != len(want) || bytes != 120 {
		t.Errorf("results %v, bytes %v; want only the closed set and 120 bytes", got, bytes)
	}
}
