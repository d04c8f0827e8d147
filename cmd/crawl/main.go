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
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/disk"
	"github.com/hivecrawl/crawl/metrics"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailures    = 1 // --fail-on-error and some URL failed, or an I/O error
	exitUsage       = 2 // bad flags, config or seeds; nothing started
	exitInterrupted = 130
)

func main() {
	// Sampling allocations costs a crawl about 1.5 MB of profile buckets
	// and some CPU; only --memprofile wants them (run turns them back on).
	runtime.MemProfileRate = 0
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	stop := &interrupt{exit: os.Exit, stderr: os.Stderr}
	go stop.watch(sigs, cancel)
	err := runWith(ctx, stop, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel()
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
	default:
		return exitFailures
	}
}

// run is the whole command, testable like any function. Errors are
// printed to stderr here, once.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runWith(ctx, nil, args, nil, stdout, stderr)
}

// runWith is run with the process's handling of a second Ctrl-C (nil in
// tests: the context alone stops the crawl) and its standard input, for
// the URLs of a "-" seed or --input - (nil: none).
func runWith(ctx context.Context, stop *interrupt, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	defer func() {
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "crawl: %v\n", err)
		}
	}()
	if len(args) > 0 {
		switch args[0] {
		case "status":
			return status(ctx, args[1:], stdout)
		case "purge":
			return purge(ctx, args[1:], stdout)
		case "serve":
			return serveCommand(ctx, args[1:], stdout, stderr)
		case "worker":
			return workerCommand(ctx, args[1:], stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, versionLine())
			return nil
		case "help":
			printHelp(stdout)
			return nil
		}
	}
	o, err := parseArgsIn(args, stdin)
	switch {
	case errors.Is(err, errHelp):
		printHelp(stdout)
		return nil
	case errors.Is(err, errVersion):
		fmt.Fprintln(stdout, versionLine())
		return nil
	case err != nil:
		return err
	}
	// However the frontier behaves, a stop ends within --grace and a little.
	defer context.AfterFunc(ctx, func() { stop.quitAfter(o.Grace + stopSlack) })()

	logOut, line := progressOutput(stderr, o.Quiet) // log lines go above the status line
	level := slog.LevelInfo
	if o.Quiet {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))

	w, err := wire(ctx, o, stdout, log)
	if err != nil {
		return err
	}
	defer w.close(&err)
	if w.finished != "" {
		fmt.Fprintf(stderr, "crawl: %s\n", w.finished)
		return nil
	}
	if w.resuming != "" {
		fmt.Fprintf(logOut, "crawl: %s\n", w.resuming)
	}
	stop.setFlush(w.flush)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m, err := metrics.New(reg, metrics.Options{Version: crawler.Version})
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	if o.MetricsAddr != "" {
		stopServer, err := serveMetrics(o.MetricsAddr, reg, log)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		defer stopServer()
	}

	c, cfg, err := w.newCrawler(&o, m, m, log)
	if err != nil {
		return err
	}
	stopMessage := context.AfterFunc(ctx, func() {
		n := c.Progress().InFlight
		fmt.Fprintf(logOut, "crawl: stopping: waiting up to %s for %d %s; Ctrl-C again to quit now\n",
			o.Grace, n, plural(n, "request", "requests"))
	})
	defer stopMessage()
	log.Info("crawl starting", "seeds", redactAll(w.seeds), "concurrency", cfg.Concurrency, "per_host", cfg.PerHost, "rate", cfg.Rate)
	if o.CPUProfile != "" {
		stopProfile, err := startCPUProfile(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer stopProfile()
	}
	if o.MemProfile != "" {
		runtime.MemProfileRate = memProfileRate
		defer writeMemProfile(o.MemProfile, log)
	}
	stopProgress := startProgress(c, line, log, o.MaxPages)
	sum, runErr := c.Run(ctx, w.seeds...)
	stopMessage() // a Ctrl-C from here on ends at most the metrics' linger
	stopProgress()
	fmt.Fprintf(stderr, "crawl: %s, elapsed %s, %.1f pages/s\n",
		sum, sum.Elapsed.Round(time.Millisecond), sum.PagesPerSecond())
	w.pipe.report(stderr, sum, &o.pipelineOptions)
	if w.db != nil { // Run has flushed it
		fmt.Fprintf(stderr, "crawl: database rows written: pages %d, items %d\n", w.db.Pages(), w.db.Items())
	}
	if err := o.requestOptions.saveCookies(w.jar); err != nil && runErr == nil {
		runErr = err
	}
	if err := o.pipelineOptions.convertLinks(ctx, cfg.Normalizer, stderr); err != nil && runErr == nil {
		runErr = err
	}
	if o.MetricsAddr != "" {
		lingerMetrics(ctx, o.MetricsLinger, log)
	}
	if runErr != nil {
		return runErr
	}
	if n := sum.Failed; o.FailOnError && n > 0 {
		return fmt.Errorf("%w: %d", errFailures, n)
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

// subcommandFlags returns a subcommand's flag set, with --help.
func subcommandFlags(name string) (*pflag.FlagSet, *bool) {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	help := fs.BoolP("help", "h", false, "print this help and exit")
	return fs, help
}

// status prints the counters of a stored crawl: crawl status --state DIR,
// or of a fleet's job: crawl status --frontier URL --job NAME.
func status(ctx context.Context, args []string, stdout io.Writer) error {
	fs, help := subcommandFlags("crawl status")
	state := fs.String("state", "", "the crawl's state `dir`")
	front := fs.String("frontier", "", "the fleet's Redis `url`")
	job := fs.String("job", defaultJob, "the fleet's job `name`")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: status: %v", errUsage, flagError(fs, err))
	}
	if *help {
		printSubcommandHelp(stdout, "crawl status --state DIR | --frontier URL [--job NAME]", fs)
		return nil
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: status takes no arguments (got %q)", errUsage, fs.Args())
	}
	if *front != "" {
		return fleetStatus(ctx, *front, *job, stdout)
	}
	if *state == "" {
		return fmt.Errorf("%w: status: --state DIR or --frontier URL is required", errUsage)
	}
	st, err := disk.ReadStats(filepath.Join(*state, "frontier"))
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	printStats(stdout, st)
	return nil
}

// printStats writes frontier counters one per line, for people and scripts.
func printStats(w io.Writer, st frontier.Stats) {
	fmt.Fprintf(w, "queued  %d\nleased  %d\ndone    %d\nfailed  %d\nhosts   %d\nseen    %d\n",
		st.Queued, st.Leased, st.Done, st.Failed, st.Hosts, st.Seen)
}

// plural returns one when n is 1, else many.
func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
