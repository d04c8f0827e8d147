// Command crawl crawls websites from the command line: crawl [flags] URL...
// It writes one JSON line per URL attempted to stdout (or -o FILE) and logs
// to stderr. See README.md for the flags and the output format.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/metrics"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailures    = 1 // --fail-on-error and some URL failed
	exitUsage       = 2 // bad flags, config or seeds; nothing started
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err))
}

// errFailures reports that the crawl finished with failures under
// --fail-on-error.
var errFailures = errors.New("some URLs failed")

func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errUsage):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, errFailures):
		return exitFailures
	default:
		return exitFailures
	}
}

// run is the whole command, testable like any function. Errors are
// printed to stderr here, once.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	defer func() {
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "crawl: %v\n", err)
		}
	}()
	o, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o.Quiet {
		log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	cfg := o.crawlerConfig()
	if o.IgnoreRobots {
		log.Warn("ROBOTS.TXT IS IGNORED (--ignore-robots): this crawl does not respect site owners' rules")
	}

	out := stdout
	if o.Output != "" {
		f, err := os.OpenFile(o.Output, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return fmt.Errorf("%w: output: %v", errUsage, err)
		}
		defer f.Close()
		out = f
	}
	sink := crawler.NewJSONLines(out)
	cfg.Sink = sink

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	cfg.Observer = m
	if o.MetricsAddr != "" {
		stopServer, err := serveMetrics(o.MetricsAddr, reg, log)
		if err != nil {
			return fmt.Errorf("%w: --metrics-addr: %v", errUsage, err)
		}
		defer stopServer()
	}

	c, err := crawler.New(cfg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log.Info("crawl starting", "seeds", o.Seeds, "concurrency", o.Concurrency, "per_host", o.PerHost, "rate", o.Rate)
	sum, runErr := c.Run(ctx, o.Seeds...)
	if err := sink.Flush(); err != nil && runErr == nil {
		runErr = err
	}
	fmt.Fprintf(stderr, "crawl: done %d, failed %d, elapsed %s, %.1f pages/s\n",
		sum.Done, sum.Failed, sum.Elapsed.Round(time.Millisecond), sum.PagesPerSecond())
	if runErr != nil {
		return runErr
	}
	if o.FailOnError && sum.Failed > 0 {
		return fmt.Errorf("%w: %d", errFailures, sum.Failed)
	}
	return nil
}

// serveMetrics serves /metrics and /healthz on addr until the returned
// function is called.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("metrics listening", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
