package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/term"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/progress"
)

// Progress report intervals: a terminal line is redrawn often; a log line
// (stderr not a terminal, such as CI) comes seldom enough to keep logs
// readable.
const (
	progressTTYInterval = 250 * time.Millisecond
	progressLogInterval = 10 * time.Second
	// statsTimeout bounds one read of the frontier's stats for a report.
	statsTimeout = 200 * time.Millisecond
)

// metricsListenAddr is the address --metrics-addr listens on: the given
// one, with an empty host (":9090", or a bare "9090") made loopback, so that
// metrics are never exposed to the network unless the user names a host
// such as 0.0.0.0.
func metricsListenAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if _, perr := strconv.ParseUint(addr, 10, 16); perr != nil {
			return "", fmt.Errorf("%q: want host:port or :port", addr)
		}
		host, port = "", addr
	}
	if port == "" {
		return "", fmt.Errorf("%q: no port", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// frontierStats adapts the crawler's frontier counters for the metrics.
func frontierStats(c *crawler.Crawler) metrics.StatsFunc {
	return func(ctx context.Context) (metrics.FrontierStats, error) {
		st, err := c.FrontierStats(ctx)
		if err != nil {
			return metrics.FrontierStats{}, err
		}
		return metrics.FrontierStats{Queued: st.Queued, Leased: st.Leased, Hosts: st.Hosts, Duplicates: st.Duplicates}, nil
	}
}

// terminalWidth reports whether w is a terminal, and its width in columns
// (0 when unknown).
func terminalWidth(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0, true
	}
	return width, true
}

// progressOutput returns where log lines should go: through a status Line
// when stderr is a terminal and progress is wanted, else stderr itself.
// line is nil when there is no status line.
func progressOutput(stderr io.Writer, quiet bool) (logOut io.Writer, line *progress.Line) {
	if quiet {
		return stderr, nil
	}
	width, tty := terminalWidth(stderr)
	if !tty {
		return stderr, nil
	}
	line = progress.NewLine(stderr, width)
	return line, line
}

// startProgress reports c's progress until the returned function is called,
// with the done and failed counts of counts (the summary's) when it is not
// nil:
// on line when there is one, else as a log line every progressLogInterval
// (which --quiet's log level silences). The returned function stops the
// reports and clears the line, so that what follows starts on a clean one.
func startProgress(c *crawler.Crawler, line *progress.Line, log *slog.Logger, maxPages int) (stop func()) {
	return startProgressEvery(c, line, log, maxPages, progressTTYInterval, progressLogInterval)
}

// startProgressEvery is startProgress with the report intervals given (on
// a terminal, and in a log), so that tests need not wait.
func startProgressEvery(c *crawler.Crawler, line *progress.Line, log *slog.Logger, maxPages int, ttyEvery, logEvery time.Duration) (stop func()) {
	if line == nil && !log.Enabled(context.Background(), slog.LevelInfo) {
		return func() {}
	}
	src := func(ctx context.Context) progress.Snapshot {
		p := c.Progress()
		s := progress.Snapshot{Done: p.Done, Failed: p.Failed, InFlight: p.InFlight, Queued: -1}
		ctx, cancel := context.WithTimeout(ctx, statsTimeout)
		defer cancel()
		if st, err := c.FrontierStats(ctx); err == nil {
			s.Queued = st.Queued // else unknown: shown as "?"
		}
		return s
	}
	opts := progress.Options{Interval: logEvery, MaxPages: int64(maxPages)}
	report := func(s progress.Status) {
		attrs := []any{"done", s.Done, "failed", s.Failed, "in_flight", s.InFlight, "queued", s.Queued,
			"pages_per_second", fmt.Sprintf("%.1f", s.PagesPerSecond), "elapsed", progress.Duration(s.Elapsed)}
		if s.MaxPages > 0 && s.ETA >= 0 {
			attrs = append(attrs, "eta", progress.Duration(s.ETA))
		}
		log.Info("progress", attrs...)
	}
	if line != nil {
		opts.Interval = ttyEvery
		report = func(s progress.Status) { line.Set("crawl: " + s.String()) }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		progress.Run(ctx, src, opts, report)
	}()
	return func() {
		cancel()
		<-done
		if line != nil {
			line.Clear()
		}
	}
}

// lingerMetrics keeps the process (and so the metrics endpoint) up for d
// after the crawl, so that a scraper catches the final values, unless ctx
// ends first (Ctrl-C ends the wait; the crawl's own result stands).
func lingerMetrics(ctx context.Context, d time.Duration, log *slog.Logger) {
	if d <= 0 || ctx.Err() != nil {
		return
	}
	log.Info("crawl over; metrics stay up (Ctrl-C ends the wait)", "for", d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
