// Command crawl crawls websites from the command line: crawl [flags] URL...
// It writes one JSON line per URL attempted to stdout (or -o FILE) and logs
// to stderr. See README.md for the flags and the output format.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/disk"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/output"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailures    = 1 // --fail-on-error and some URL failed
	exitUsage       = 2 // bad flags, config or seeds; nothing started
	exitInterrupted = 130
)

func main() {
	// Sampling allocations costs a crawl about 1.5 MB of profile buckets
	// and some CPU; only --memprofile wants them (run turns them back on).
	runtime.MemProfileRate = 0
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
	if len(args) > 0 && args[0] == "status" {
		return status(ctx, args[1:], stdout)
	}
	if len(args) > 0 && args[0] == "purge" {
		return purge(ctx, args[1:], stdout)
	}
	o, err := parseArgs(args, stderr)
	if err != nil {
		return err
	}
	logOut, line := progressOutput(stderr, o.Quiet) // log lines go above the status line
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o.Quiet {
		log = slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	cfg := o.crawlerConfig()
	// --state: locks the directory, then adds its stored seeds to o.Seeds.
	front, closeFrontier, err := frontierFor(&o, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeFrontier(); cerr != nil && err == nil {
			err = fmt.Errorf("close frontier: %w", cerr)
		}
	}()
	if front != nil {
		cfg.Frontier = front
	}
	fl, err := openFleet(ctx, &o, log) // nil unless --frontier
	if err != nil {
		return err
	}
	defer fl.close(&err)

	if cfg.DenyPrivate = o.denyPrivate(ctx); !cfg.DenyPrivate && o.DenyPrivate == nil {
		log.Info("a seed is on a private address: private addresses are allowed (--deny-private=true refuses them)")
	}
	if o.IgnoreRobots {
		log.Warn("ROBOTS.TXT IS IGNORED (--ignore-robots): this crawl does not respect site owners' rules")
	}

	// A resumed crawl, or a fleet worker started again, adds to its outputs.
	resuming := o.State != "" || o.Frontier != ""
	out := stdout
	if o.Output != "" {
		f, err := openOutput(o.Output, resuming, cutTornLine)
		if err != nil {
			return fmt.Errorf("%w: output: %v", errUsage, err)
		}
		defer f.Close()
		out = f
	}
	sink := output.NewJSONLines(out)
	if o.State != "" {
		// A record must reach the file before its completion is committed,
		// or a killed process could lose it: write every line through. It
		// is not fsynced (see the README): a sync per record, or per commit
		// of the frontier, would slow every crawl for the rare power loss.
		sink.FlushEvery = -1 // every line written through
	}
	fl.configure(&cfg, sink)
	pipe, err := o.pipelineOptions.setup(&cfg, stdout, log, resuming)
	if err != nil {
		return err
	}
	// The page records are written last, once the other outputs have the page.
	cfg.Handler = crawler.Handlers(cfg.Handler, sink)
	defer func() {
		if cerr := pipe.close(); cerr != nil && err == nil {
			err = fmt.Errorf("outputs: %w", cerr)
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg, metrics.Options{Version: crawler.Version})
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
	m.SetFrontierStats(frontierStats(c))
	log.Info("crawl starting", "seeds", o.Seeds, "concurrency", o.Concurrency, "per_host", o.PerHost, "rate", o.Rate)
	if o.CPUProfile != "" {
		stopProfile, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("%w: --cpuprofile: %v", errUsage, err)
		}
		defer stopProfile()
	}
	if o.MemProfile != "" {
		runtime.MemProfileRate = memProfileRate
		defer writeMemProfile(o.MemProfile, log)
	}
	stopProgress := startProgress(c, line, log, o.MaxPages)
	sum, runErr := c.Run(ctx, o.Seeds...)
	stopProgress()
	if err := sink.Flush(); err != nil && runErr == nil {
		runErr = err
	}
	fmt.Fprintf(stderr, "crawl: done %d, failed %d, elapsed %s, %.1f pages/s\n",
		sum.Done, sum.Failed, sum.Elapsed.Round(time.Millisecond), sum.PagesPerSecond())
	pipe.report(stderr, sum, &o.pipelineOptions)
	if o.MetricsAddr != "" {
		lingerMetrics(ctx, o.MetricsLinger, log)
	}
	if runErr != nil {
		return runErr
	}
	if o.FailOnError && sum.Failed > 0 {
		return fmt.Errorf("%w: %d", errFailures, sum.Failed)
	}
	return nil
}

// serveMetrics serves /metrics and /healthz on addr (loopback when addr
// names no host) until the returned function is called.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (func(), error) {
	addr, err := metricsListenAddr(addr)
	if err != nil {
		return nil, err
	}
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

// status prints the counters of a stored crawl: crawl status --state DIR,
// or of a fleet's job: crawl status --frontier URL --job NAME.
func status(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("crawl status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	state := fs.String("state", "", "the crawl's state `dir`")
	front := fs.String("frontier", "", "the fleet's Redis `url`")
	job := fs.String("job", defaultJob, "the fleet's job `name`")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: status: %v", errUsage, err)
	}
	if *front != "" {
		return fleetStatus(ctx, *front, *job, stdout)
	}
	if *state == "" {
		return fmt.Errorf("%w: status: --state DIR or --frontier URL is required", errUsage)
	}
	st, err := disk.ReadStats(filepath.Join(*state, "frontier"))
	if err != nil {
		return fmt.Errorf("%w: status: %v", errUsage, err)
	}
	printStats(stdout, st)
	return nil
}

// printStats writes frontier counters one per line, for people and scripts.
func printStats(w io.Writer, st frontier.Stats) {
	fmt.Fprintf(w, "queued  %d\nleased  %d\ndone    %d\nfailed  %d\nhosts   %d\nseen    %d\n",
		st.Queued, st.Leased, st.Done, st.Failed, st.Hosts, st.Seen)
}
