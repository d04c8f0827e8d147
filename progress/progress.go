package progress

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Snapshot is the counters a report is made from.
type Snapshot struct {
	Done     int64 // URLs that got a response
	Failed   int64 // URLs that failed for good
	InFlight int64 // requests being fetched
	// Queued is the frontier's queue length, or negative when unknown.
	Queued int64
}

// Status is one report: the counters plus what is derived from them.
type Status struct {
	Snapshot
	// MaxPages is Options.MaxPages; the ETA is shown only when it is
	// positive.
	MaxPages int64
	// Elapsed is the time since Run started.
	Elapsed time.Duration
	// PagesPerSecond is Done+Failed per second over the last
	// Options.Window.
	PagesPerSecond float64
	// ETA is the time left until Done+Failed reaches MaxPages at that rate;
	// negative while unknown (no MaxPages, or no progress yet).
	ETA time.Duration
}

// String renders the status on one line, such as
// "done 812  failed 3  in flight 16  queued 4210  41.7 pages/s  elapsed 19s  ETA 4s".
func (s Status) String() string {
	var b strings.Builder
	b.Grow(96)
	b.WriteString("done ")
	b.WriteString(strconv.FormatInt(s.Done, 10))
	b.WriteString("  failed ")
	b.WriteString(strconv.FormatInt(s.Failed, 10))
	b.WriteString("  in flight ")
	b.WriteString(strconv.FormatInt(s.InFlight, 10))
	b.WriteString("  queued ")
	if s.Queued < 0 {
		b.WriteString("?")
	} else {
		b.WriteString(strconv.FormatInt(s.Queued, 10))
	}
	fmt.Fprintf(&b, "  %.1f pages/s  elapsed %s", s.PagesPerSecond, Duration(s.Elapsed))
	if s.MaxPages > 0 {
		b.WriteString("  ETA ")
		if s.ETA < 0 {
			b.WriteString("?")
		} else {
			b.WriteString(Duration(s.ETA))
		}
	}
	return b.String()
}

// Duration renders d rounded to the second, as "7s", "3m05s" or "2h03m05s".
func Duration(d time.Duration) string {
	sec := int64(d.Round(time.Second) / time.Second)
	switch {
	case sec < 60:
		return fmt.Sprintf("%ds", sec)
	case sec < 3600:
		return fmt.Sprintf("%dm%02ds", sec/60, sec%60)
	default:
		return fmt.Sprintf("%dh%02dm%02ds", sec/3600, sec/60%60, sec%60)
	}
}

// Options configures Run. The zero value reports every second without an
// ETA.
type Options struct {
	// Interval is the time between reports. Zero means 1s.
	Interval time.Duration
	// Window is how far back the rate looks. Zero means 10s.
	Window time.Duration
	// MaxPages, when positive, is the crawl's page budget: reports carry an
	// ETA.
	MaxPages int64
}

// Run calls report with a fresh Status every Options.Interval until ctx
// ends. src is called from Run's goroutine, with ctx, before each report;
// report is called from Run's goroutine too. Run returns when ctx ends.
func Run(ctx context.Context, src func(context.Context) Snapshot, opts Options, report func(Status)) {
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	run(ctx, src, opts, report, time.Now, t.C)
}

// run is Run with its clock injected: now tells the time and tick says
// when to report.
func run(ctx context.Context, src func(context.Context) Snapshot, opts Options, report func(Status), now func() time.Time, tick <-chan time.Time) {
	if opts.Window <= 0 {
		opts.Window = 10 * time.Second
	}
	start := now()
	r := rater{window: opts.Window}
	r.add(start, 0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
		snap := src(ctx)
		t := now()
		finished := snap.Done + snap.Failed
		st := Status{Snapshot: snap, MaxPages: opts.MaxPages, Elapsed: t.Sub(start), ETA: -1}
		st.PagesPerSecond = r.add(t, finished)
		if left := opts.MaxPages - finished; opts.MaxPages > 0 && left <= 0 {
			st.ETA = 0
		} else if opts.MaxPages > 0 && st.PagesPerSecond > 0 {
			st.ETA = time.Duration(float64(left) / st.PagesPerSecond * float64(time.Second))
		}
		report(st)
	}
}

// rater computes a rate over a sliding window of samples.
type rater struct {
	window  time.Duration
	samples []sample // oldest first; the first may be older than window
}

type sample struct {
	at time.Time
	n  int64
}

// add records that the count was n at t and returns the rate per second
// since the oldest sample no older than the window (or the newest older
// one, if none is), so that a slow crawl still shows a rate.
func (r *rater) add(t time.Time, n int64) float64 {
	r.samples = append(r.samples, sample{t, n})
	// Keep one sample at or beyond the window's start as the baseline.
	drop := 0
	for drop+1 < len(r.samples) && t.Sub(r.samples[drop+1].at) >= r.window {
		drop++
	}
	if drop > 0 {
		r.samples = append(r.samples[:0], r.samples[drop:]...)
	}
	first := r.samples[0]
	dt := t.Sub(first.at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(n-first.n) / dt
}
