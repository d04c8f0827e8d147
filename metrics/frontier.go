package metrics

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FrontierStats is the part of a frontier's own counters that the metrics
// export. A caller fills it from its backend's stats (frontier.Stats in
// this module), which keeps this package free of the frontier's types.
type FrontierStats struct {
	Queued     int64 // requests waiting in host queues
	Leased     int64 // requests handed out and not yet completed
	Hosts      int64 // hosts with queued or leased requests
	Duplicates int64 // requests offered whose URL had been seen before
}

// StatsFunc reads a frontier's counters. It should return promptly when
// ctx ends.
type StatsFunc func(ctx context.Context) (FrontierStats, error)

// SetFrontierStats makes every scrape read the frontier's counters through
// stats, each read bounded by Options.StatsTimeout. They are exported as
// crawl_frontier_queued_requests, crawl_frontier_leased_requests,
// crawl_frontier_active_hosts and crawl_links_dropped_total{reason="duplicate"}.
//
// A read that fails or times out is counted in
// crawl_frontier_stats_errors_total and the last values read are exported
// again. A read still running at the next scrape is waited for, not started
// again, so a stuck stats function costs one goroutine, not one per scrape.
// Until SetFrontierStats is called with a non-nil stats, the three gauges
// are absent. It is safe to call at any time; it exists apart from New
// because a crawler needs its Observer before its frontier can be asked.
func (m *Metrics) SetFrontierStats(stats StatsFunc) {
	if stats == nil {
		m.scraped.fn.Store(nil)
		return
	}
	m.scraped.fn.Store(&stats)
}

// scraped is the collector of the values computed at scrape time: the
// frontier's gauges, and crawl_links_dropped_total, one of whose reasons
// ("duplicate") is the frontier's own count.
type scraped struct {
	timeout time.Duration
	drops   [4]atomic.Int64 // by DropReasons index; "duplicate" is not kept here
	fn      atomic.Pointer[StatsFunc]

	queued, leased, hosts, droppedDesc, errorsDesc *prometheus.Desc

	mu      sync.Mutex       // serialises reads of the frontier
	pending chan statsResult // the read under way, or nil
	last    FrontierStats    // the last successful read
	have    bool             // whether last holds a read
	errors  float64          // failed or timed-out reads
}

type statsResult struct {
	stats FrontierStats
	err   error
}

const duplicate = 2 // index of "duplicate" in DropReasons

func newScraped(timeout time.Duration) *scraped {
	return &scraped{
		timeout: timeout,
		queued:  prometheus.NewDesc("crawl_frontier_queued_requests", "Requests waiting in the frontier's host queues.", nil, nil),
		leased:  prometheus.NewDesc("crawl_frontier_leased_requests", "Requests the frontier has handed to workers and not yet seen completed.", nil, nil),
		hosts:   prometheus.NewDesc("crawl_frontier_active_hosts", "Hosts with queued or leased requests.", nil, nil),
		droppedDesc: prometheus.NewDesc("crawl_links_dropped_total",
			"Links found but not followed, by reason (duplicate: the frontier had already seen the URL).", []string{"reason"}, nil),
		errorsDesc: prometheus.NewDesc("crawl_frontier_stats_errors_total",
			"Reads of the frontier's stats at scrape time that failed or timed out.", nil, nil),
	}
}

// dropped counts n links not followed for reason.
func (s *scraped) dropped(reason string, n int) {
	i := len(DropReasons) - 1 // "other"
	for j, r := range DropReasons {
		if r == reason && j != duplicate {
			i = j
			break
		}
	}
	s.drops[i].Add(int64(n))
}

// Describe implements prometheus.Collector.
func (s *scraped) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.queued, s.leased, s.hosts, s.droppedDesc, s.errorsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *scraped) Collect(ch chan<- prometheus.Metric) {
	st, have, errs := s.read()
	for i, r := range DropReasons {
		v := float64(s.drops[i].Load())
		if i == duplicate {
			v = float64(st.Duplicates)
		}
		ch <- prometheus.MustNewConstMetric(s.droppedDesc, prometheus.CounterValue, v, r)
	}
	ch <- prometheus.MustNewConstMetric(s.errorsDesc, prometheus.CounterValue, errs)
	if have {
		ch <- prometheus.MustNewConstMetric(s.queued, prometheus.GaugeValue, float64(st.Queued))
		ch <- prometheus.MustNewConstMetric(s.leased, prometheus.GaugeValue, float64(st.Leased))
		ch <- prometheus.MustNewConstMetric(s.hosts, prometheus.GaugeValue, float64(st.Hosts))
	}
}

// read asks the frontier for its stats, waiting at most the timeout, and
// returns the latest values known, whether the gauges should be exported,
// and the error count.
func (s *scraped) read() (FrontierStats, bool, float64) {
	fn := s.fn.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if fn == nil {
		return s.last, false, s.errors
	}
	if s.pending == nil {
		ch := make(chan statsResult, 1)
		s.pending = ch
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
			defer cancel()
			st, err := (*fn)(ctx)
			ch <- statsResult{st, err}
		}()
	}
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case r := <-s.pending:
		s.pending = nil
		if r.err != nil {
			s.errors++
		} else {
			s.last, s.have = r.stats, true
		}
	case <-t.C:
		s.errors++
	}
	return s.last, s.have, s.errors
}
