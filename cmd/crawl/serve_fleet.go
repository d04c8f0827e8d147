package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/serve"
)

// registryKey is the Redis hash where crawl serve --frontier lists its
// jobs for the workers: job id → fleetEntry as JSON.
const registryKey = "crawlserve:jobs"

// fleetPoll is how often a worker reads the registry, and the server a
// fleet job's counters: a pause or cancel reaches the workers within it.
const fleetPoll = time.Second

// fleetEntry is a job as the registry lists it.
type fleetEntry struct {
	Spec serve.Spec `json:"spec"`
	// Status is "running" while workers should crawl it, "stopped" once
	// they should stop (paused, canceled, or the server stopping), and
	// "finished" once its frontier is drained.
	Status string `json:"status"`
	// Epoch changes each time the job is set running: a worker runs each
	// epoch of a job once.
	Epoch int64 `json:"epoch"`
}

// registry is the jobs' list in Redis.
type registry struct{ c *goredis.Client }

func openRegistry(rawURL string) (*registry, error) {
	opts, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, errors.New("--frontier: not a redis:// URL") // its error could echo a password
	}
	return &registry{c: goredis.NewClient(opts)}, nil
}

func (r *registry) set(ctx context.Context, id string, e fleetEntry) error {
	data, _ := json.Marshal(e) // always marshals
	if err := r.c.HSet(ctx, registryKey, id, data).Err(); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

func (r *registry) setStatus(ctx context.Context, id, status string) error {
	all, err := r.all(ctx)
	if err != nil {
		return err
	}
	e, ok := all[id]
	if !ok {
		return nil
	}
	e.Status = status
	return r.set(ctx, id, e)
}

func (r *registry) all(ctx context.Context) (map[string]fleetEntry, error) {
	m, err := r.c.HGetAll(ctx, registryKey).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	out := make(map[string]fleetEntry, len(m))
	for id, v := range m {
		var e fleetEntry
		if json.Unmarshal([]byte(v), &e) == nil {
			out[id] = e
		}
	}
	return out, nil
}

// fleetCrawls is crawl serve --frontier's Crawls: a job is validated as
// on one machine, and run by the workers (crawl worker) that read the
// registry; the server only watches its frontier in Redis.
type fleetCrawls struct {
	url string
	reg *registry
}

var _ serve.Crawls = fleetCrawls{}

// Check implements serve.Crawls.
func (f fleetCrawls) Check(spec serve.Spec, dir string) error {
	_, err := jobOptions(spec, dir)
	return err
}

// Open implements serve.Crawls: it lists the job as running for the
// workers (the first to join adds its seeds) and returns its watcher.
func (f fleetCrawls) Open(ctx context.Context, spec serve.Spec, dir string, _ *metrics.Metrics, _ crawler.Observer, log *slog.Logger) (*serve.Run, error) {
	if _, err := jobOptions(spec, dir); err != nil {
		return nil, err
	}
	id := filepath.Base(dir)
	rep, err := redis.Inspect(ctx, f.url, id)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	if err := f.reg.set(ctx, id, fleetEntry{Spec: spec, Status: "running", Epoch: time.Now().UnixNano()}); err != nil {
		return nil, err
	}
	log.Info("job listed for the fleet's workers", "job", id)
	w := &fleetWatch{url: f.url, id: id, reg: f.reg, before: rep.Stats}
	w.last.Store(&rep.Stats)
	return &serve.Run{Crawl: w, Close: func() error { return nil }}, nil
}

// Remove implements serve.Remover: a deleted job leaves the registry, and
// its keys leave Redis.
func (f fleetCrawls) Remove(ctx context.Context, dir string) error {
	id := filepath.Base(dir)
	if err := f.reg.c.HDel(ctx, registryKey, id).Err(); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if _, err := redis.Purge(ctx, f.url, id); err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	return nil
}

var _ serve.Remover = fleetCrawls{}

// ReadLines implements serve.LineReader: a fleet job's lines are those
// its workers published to Redis.
func (f fleetCrawls) ReadLines(ctx context.Context, id, name string, after int64, limit int, wait time.Duration) ([]string, int64, error) {
	stream, ok := lineNames[name]
	if !ok {
		return nil, after, fmt.Errorf("fleet: no lines called %q", name)
	}
	l, err := redis.JobLines(f.reg.c, id, stream)
	if err != nil {
		return nil, after, fmt.Errorf("fleet: %w", err)
	}
	lines, next, err := l.Read(ctx, after, limit, wait)
	if err != nil {
		return nil, after, fmt.Errorf("fleet: %w", err)
	}
	return lines, next, nil
}

var _ serve.LineReader = fleetCrawls{}

// JobLog implements serve.LogTee: the server's lines about a fleet job
// join its workers' in Redis, each given serverLogTimeout, so that a
// Redis that does not answer does not hold the server's job.
func (f fleetCrawls) JobLog(id string, file io.Writer) io.Writer {
	l, err := redis.JobLines(f.reg.c, id, logLines)
	if err != nil {
		return file // not a fleet job's name: nothing in Redis to add to
	}
	return &lineTee{ctx: context.Background(), timeout: serverLogTimeout, w: file, lines: l}
}

var _ serve.LogTee = fleetCrawls{}

// serverLogTimeout bounds the publishing of one of the server's log lines
// about a fleet job.
const serverLogTimeout = 5 * time.Second

// fleetWatch is a fleet job's Crawl on the server: it waits for the
// workers to drain the job's frontier, and stops them when its run ends.
type fleetWatch struct {
	url, id string
	reg     *registry
	before  frontier.Stats // the counters when this run began
	last    atomicStats
}

// atomicStats holds the last stats read.
type atomicStats struct {
	mu sync.Mutex
	st *frontier.Stats
}

func (a *atomicStats) Store(st *frontier.Stats) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.st = st
}

func (a *atomicStats) Load() frontier.Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return *a.st
}

// Run implements serve.Crawl.
func (w *fleetWatch) Run(ctx context.Context) (crawler.Summary, error) {
	start := time.Now()
	t := time.NewTicker(fleetPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// Paused, canceled or the server stopping: the workers stop.
			err := w.reg.setStatus(context.WithoutCancel(ctx), w.id, "stopped")
			return w.summary(start), errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		rep, err := redis.Inspect(ctx, w.url, w.id)
		if err != nil {
			continue // Redis away: the workers retry, and so does this
		}
		w.last.Store(&rep.Stats)
		if st := rep.Stats; st.Seen > 0 && st.Queued == 0 && st.Leased == 0 {
			return w.summary(start), w.reg.setStatus(ctx, w.id, "finished")
		}
	}
}

func (w *fleetWatch) summary(start time.Time) crawler.Summary {
	st := w.last.Load()
	return crawler.Summary{Done: st.Done - w.before.Done, Failed: st.Failed - w.before.Failed, Elapsed: time.Since(start)}
}

// Progress implements serve.Crawl: the fleet's counters, those leased
// as in flight.
func (w *fleetWatch) Progress() crawler.Progress {
	st := w.last.Load()
	return crawler.Progress{Done: st.Done - w.before.Done, Failed: st.Failed - w.before.Failed, InFlight: st.Leased}
}

// FrontierStats implements serve.Crawl.
func (w *fleetWatch) FrontierStats(context.Context) (frontier.Stats, error) {
	return w.last.Load(), nil
}

// workerCommand is crawl worker: it crawls every running job that crawl
// serve --frontier lists in Redis, each as a fleet worker of its own job
// (its politeness shared in Redis), until stopped. Each job's records,
// items, log and other outputs go under --data DIR/jobs/ID.
func workerCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, help := subcommandFlags("crawl worker")
	front := fs.String("frontier", "", "the fleet's Redis `url`, as given to crawl serve")
	data := fs.String("data", "", "keep this worker's outputs of each job in `dir`/jobs/ID")
	metricsAddr := fs.String("metrics-addr", "", "serve /metrics, every job's with a job label, on `addr` (an empty host is 127.0.0.1)")
	maxLines := fs.Int64("max-lines", redis.DefaultMaxLines, "keep about `n` of each job's page records, items and log lines in Redis for crawl serve (older ones are trimmed)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: worker: %v", errUsage, flagError(fs, err))
	}
	if *help {
		printSubcommandHelp(stdout, "crawl worker --frontier URL --data DIR", fs)
		return nil
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("%w: worker takes no arguments (got %q)", errUsage, fs.Args())
	case *front == "" || *data == "":
		return fmt.Errorf("%w: worker: --frontier URL and --data DIR are required", errUsage)
	case *maxLines < 1:
		return fmt.Errorf("%w: worker: --max-lines %d: want 1 or more", errUsage, *maxLines)
	}
	if err := checkRedisURL(*front); err != nil {
		return fmt.Errorf("%w: worker: --frontier: %v", errUsage, err)
	}
	reg, err := openRegistry(*front)
	if err != nil {
		return fmt.Errorf("%w: worker: %v", errUsage, err)
	}
	defer reg.c.Close()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	w := &worker{url: *front, dir: *data, log: log, runs: map[string]*workerRun{}, redis: reg.c, maxLines: *maxLines,
		reg: prometheus.NewRegistry(), metrics: map[string]*metrics.Metrics{}}
	w.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if *metricsAddr != "" {
		if _, err := metricsListenAddr(*metricsAddr); err != nil {
			return fmt.Errorf("%w: worker: --metrics-addr: %v", errUsage, err)
		}
		stopServer, err := serveMetrics(*metricsAddr, w.reg, log)
		if err != nil {
			return fmt.Errorf("worker: --metrics-addr: %w", err)
		}
		defer stopServer()
	}
	defer w.stopAll()
	log.Info("worker waiting for jobs", "frontier", redact(*front))
	t := time.NewTicker(fleetPoll)
	defer t.Stop()
	for {
		jobs, err := reg.all(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("redis unavailable, retrying", "err", err)
		}
		if err == nil {
			w.sync(ctx, jobs)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// worker runs the fleet's jobs in this process.
type worker struct {
	url, dir string
	log      *slog.Logger
	// redis is the registry's client, which also publishes the jobs'
	// lines; maxLines bounds each job's streams of them.
	redis    *goredis.Client
	maxLines int64
	runs     map[string]*workerRun // by job id
	wg       sync.WaitGroup

	reg     *prometheus.Registry
	mu      sync.Mutex
	metrics map[string]*metrics.Metrics // by job id, kept from run to run
}

// jobMetrics returns the job's metrics on w.reg, with its job label.
func (w *worker) jobMetrics(id string) (*metrics.Metrics, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m, ok := w.metrics[id]; ok {
		return m, nil
	}
	m, err := metrics.New(prometheus.WrapRegistererWith(prometheus.Labels{"job": id}, w.reg), metrics.Options{Version: crawler.Version})
	if err != nil {
		return nil, err
	}
	w.metrics[id] = m
	return m, nil
}

// workerRun is one epoch of a job, run or being run here.
type workerRun struct {
	epoch  int64
	cancel context.CancelFunc
	done   chan struct{}
}

// sync starts the running jobs' new epochs and stops the runs of jobs
// that are no longer running.
func (w *worker) sync(ctx context.Context, jobs map[string]fleetEntry) {
	for id, r := range w.runs {
		if e, ok := jobs[id]; !ok || e.Status != "running" || e.Epoch != r.epoch {
			r.cancel()
			select {
			case <-r.done:
				delete(w.runs, id)
			default: // still stopping: looked at again next time
			}
		}
	}
	for id, e := range jobs {
		if e.Status != "running" {
			continue
		}
		if _, ok := w.runs[id]; ok {
			continue // this epoch is running or ran here
		}
		rctx, cancel := context.WithCancel(ctx)
		r := &workerRun{epoch: e.Epoch, cancel: cancel, done: make(chan struct{})}
		w.runs[id] = r
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			defer close(r.done)
			if err := w.run(rctx, id, e.Spec); err != nil && !errors.Is(err, context.Canceled) {
				w.log.Error("job failed on this worker", "job", id, "err", err)
			}
		}()
	}
}

// run crawls the job id as one of its fleet's workers until its frontier
// is drained or ctx ends.
func (w *worker) run(ctx context.Context, id string, spec serve.Spec) (err error) {
	dir := filepath.Join(w.dir, "jobs", id)
	o, err := jobOptions(spec, dir)
	if err != nil {
		return err
	}
	o.State, o.Frontier, o.Job = "", w.url, id
	if err := o.fleetOptions.validate(""); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, serve.FilesDir), 0o700); err != nil {
		return err
	}
	lf, err := os.OpenFile(filepath.Join(dir, serve.LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	// The lines go to Redis under a context of their own, which a pause
	// does not end: the records of the pages finishing in the grace are
	// published too. It ends once the outputs are closed, or, should
	// Redis be gone for good, publishGrace after the crawl's grace.
	pctx, stopPublishing := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPublishing()
	defer context.AfterFunc(ctx, func() {
		t := time.NewTimer(o.Grace + publishGrace)
		defer t.Stop()
		select {
		case <-t.C:
			stopPublishing()
		case <-pctx.Done():
		}
	})()
	streams := map[string]*redis.Lines{}
	for _, name := range []string{pagesLines, itemsLines, logLines} {
		if streams[name], err = redis.JobLines(w.redis, id, name); err != nil {
			return err
		}
		streams[name].SetMaxLen(w.maxLines)
	}
	o.tee = func(path string, f io.Writer) io.Writer {
		switch path {
		case o.Output:
			return &lineTee{ctx: pctx, w: f, lines: streams[pagesLines]}
		case o.Items:
			return &lineTee{ctx: pctx, w: f, lines: streams[itemsLines]}
		}
		return f
	}
	host, _ := os.Hostname()
	logTee := &lineTee{ctx: pctx, w: lf, lines: streams[logLines]}
	log := slog.New(slog.NewTextHandler(logTee, nil)).With("process", host+":"+strconv.Itoa(os.Getpid()))
	wi, err := wire(ctx, o, io.Discard, log)
	if err != nil {
		return err
	}
	defer wi.close(&err)
	m, err := w.jobMetrics(id)
	if err != nil {
		return err
	}
	c, _, err := wi.newCrawler(&o, m, m, log)
	if err != nil {
		return err
	}
	w.log.Info("job started on this worker", "job", id)
	sum, err := c.Run(ctx, wi.seeds...)
	log.Info(fmt.Sprintf("crawl: %s, elapsed %s", sum, sum.Elapsed.Round(time.Millisecond)))
	w.log.Info("job over on this worker", "job", id, "done", sum.Done, "failed", sum.Failed)
	return err
}

// stopAll stops every run and waits for them.
func (w *worker) stopAll() {
	for _, r := range w.runs {
		r.cancel()
	}
	w.wg.Wait()
}

// The names of a job's streams of lines in Redis (redis.Lines), which
// the workers publish and crawl serve reads: its page records, items and
// log.
const (
	pagesLines = "pages"
	itemsLines = "items"
	logLines   = "log"
)

// publishGrace is how long, past a job's grace, a worker that stops
// still retries publishing its lines to a Redis that does not answer.
const publishGrace = 10 * time.Second

// lineNames maps the job files the server serves to their streams.
var lineNames = map[string]string{serve.PagesFile: pagesLines, serve.ItemsFile: itemsLines, serve.LogFile: logLines}

// lineTee writes to w, then publishes each whole line to lines, with one
// round trip for the lines of one Write (a record or a log line, as the
// writers above it flush each, written through). A Write returns once
// the lines are in Redis, so that a page's record is there before its
// completion is shared. It is not safe for concurrent use: each output's
// writer, and slog's handler, write from one goroutine at a time.
type lineTee struct {
	// ctx is the worker run's publishing context, kept here because
	// io.Writer takes none.
	ctx context.Context
	// timeout, if not zero, bounds each Write's publishing.
	timeout time.Duration
	w       io.Writer
	lines   appender
	partial []byte // the start of a line that a later Write ends
	batch   [][]byte
}

// appender is where a lineTee publishes: a *redis.Lines.
type appender interface {
	Append(ctx context.Context, lines ...[]byte) error
}

var _ appender = (*redis.Lines)(nil)

func (t *lineTee) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		return n, err
	}
	t.batch = t.batch[:0]
	rest := p
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		line := rest[:i]
		if len(t.partial) > 0 {
			line = append(t.partial, line...)
			t.partial = nil
		}
		t.batch = append(t.batch, line)
		rest = rest[i+1:]
	}
	t.partial = append(t.partial, rest...)
	ctx := t.ctx
	if t.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.timeout)
		defer cancel()
	}
	if err := t.lines.Append(ctx, t.batch...); err != nil {
		return n, fmt.Errorf("publish: %w", err)
	}
	return n, nil
}
