package serve

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/progress"
)

// Status is where a job is in its life.
type Status string

// The statuses of a job. Finished, Failed and Canceled are ends: a job
// leaves them only by being deleted.
const (
	Pending  Status = "pending"  // waiting for a free run slot
	Running  Status = "running"  // its crawl runs
	Paused   Status = "paused"   // stopped by a pause; resume queues it again
	Finished Status = "finished" // its crawl ran out of work
	Failed   Status = "failed"   // its crawl stopped on an error (Job.Error)
	Canceled Status = "canceled" // stopped for good by a cancel
)

// statuses lists every Status, for ?status= and the OpenAPI file.
var statuses = []Status{Pending, Running, Paused, Finished, Failed, Canceled}

// ended reports whether s is an end.
func (s Status) ended() bool { return s == Finished || s == Failed || s == Canceled }

// The files of a job's folder.
const (
	StateDir  = "state"       // the --state directory of its frontier
	PagesFile = "pages.jsonl" // its page records
	ItemsFile = "items.jsonl" // its items (when its config has rules)
	LogFile   = "log.txt"     // its log lines
	FilesDir  = "files"       // the other outputs its config names
	recFile   = "job.json"    // the job's record
)

// Counters are a job's progress, over all its runs.
type Counters struct {
	Done     int64 `json:"done"`      // pages recorded without an error
	Failed   int64 `json:"failed"`    // pages recorded with an error
	Blocked  int64 `json:"blocked"`   // pages robots.txt disallows
	Queued   int64 `json:"queued"`    // URLs waiting in the frontier; -1 when unknown
	InFlight int64 `json:"in_flight"` // requests under way
	// PagesPerSecond is the rate over the last few seconds of the run.
	PagesPerSecond float64 `json:"pages_per_second"`
	// FailedFetches counts fetches that ended in an error, by class
	// (retried ones included): what the failures chart draws.
	FailedFetches map[string]int64 `json:"failed_fetches,omitempty"`
}

// Job is what the API says about a job, and what its record file holds.
type Job struct {
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	Status Status `json:"status"`
	// Stopping is "pause" or "cancel" while a running job's crawl lets
	// its requests in flight finish.
	Stopping string          `json:"stopping,omitempty"`
	Seeds    []string        `json:"seeds"`
	Config   json.RawMessage `json:"config,omitempty"`
	Created  time.Time       `json:"created"`
	Started  *time.Time      `json:"started,omitempty"`
	Finished *time.Time      `json:"finished,omitempty"`
	// Error says why a failed job failed.
	Error    string   `json:"error,omitempty"`
	Counters Counters `json:"counters"`
	// Seq orders pending jobs: the lowest starts first.
	Seq int64 `json:"seq"`
}

func (j *Job) spec() Spec { return Spec{Name: j.Name, Seeds: j.Seeds, Config: j.Config} }

// Options configures a Server. Dir is required.
type Options struct {
	// Dir is the data directory; jobs live in Dir/jobs.
	Dir string
	// MaxRunning caps the jobs running at once. Zero means 2.
	MaxRunning int
	// KeepMetrics is how long an ended job's metrics stay on /metrics.
	// Zero means 1h.
	KeepMetrics time.Duration
	// Token, when not empty, is the bearer token every API call and
	// /metrics must carry.
	Token string
	// Log gets the server's own lines. Nil means none.
	Log *slog.Logger
	// Version labels the metrics' build info.
	Version string
	// EventInterval is the time between progress events. Zero means 1s.
	EventInterval time.Duration
}

// errPause, errCancel and errShutdown are why a run's context ended.
var (
	errPause    = errors.New("serve: paused")
	errCancel   = errors.New("serve: canceled")
	errShutdown = errors.New("serve: server stopping")
)

// Errors of the job operations, which the API maps to statuses.
var (
	ErrNotFound = errors.New("no such job")
	ErrConflict = errors.New("conflict")
	ErrStopped  = errors.New("the server is stopping")
)

// Server runs jobs and serves the API over them. Build it with New; it is
// safe for concurrent use. Shutdown stops it.
type Server struct {
	opts   Options
	crawls Crawls
	log    *slog.Logger

	ctx  context.Context // the runs' parent; ends at Shutdown
	stop context.CancelCauseFunc
	done chan struct{} // closed by Shutdown: streams end
	wg   sync.WaitGroup

	mu      sync.Mutex
	jobs    map[string]*job
	seq     int64
	running int
	closed  bool
}

// job is a Job with what the server keeps about it in memory. Its fields
// are guarded by Server.mu.
type job struct {
	rec     Job
	dir     string
	resume  bool                    // running when the server last stopped: starts first
	cancel  context.CancelCauseFunc // while running
	stop    error                   // errPause or errCancel, once asked
	changed chan struct{}           // closed and replaced at each change of rec.Status
	base    Counters                // the counters of its earlier runs
	fails   *failCounter
	reg     *prometheus.Registry // its metrics; nil until it runs here
	metrics *metrics.Metrics
}

// New opens the data directory, loads its jobs and starts those that were
// running or pending when the server last stopped.
func New(crawls Crawls, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("serve: no data directory")
	}
	opts.MaxRunning = cmp.Or(opts.MaxRunning, 2)
	opts.KeepMetrics = cmp.Or(opts.KeepMetrics, time.Hour)
	opts.EventInterval = cmp.Or(opts.EventInterval, time.Second)
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, stop := context.WithCancelCause(context.Background())
	s := &Server{opts: opts, crawls: crawls, log: log, ctx: ctx, stop: stop, done: make(chan struct{}), jobs: make(map[string]*job)}
	if err := s.load(); err != nil {
		stop(err)
		return nil, err
	}
	s.mu.Lock()
	s.kick()
	s.mu.Unlock()
	return s, nil
}

// load reads the job records under Dir/jobs.
func (s *Server) load() error {
	root := filepath.Join(s.opts.Dir, "jobs")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, recFile))
		if errors.Is(err, os.ErrNotExist) {
			continue // a job whose creation was cut short
		}
		if err != nil {
			return fmt.Errorf("serve: job %s: %w", e.Name(), err)
		}
		var rec Job
		if err := json.Unmarshal(data, &rec); err != nil || rec.ID != e.Name() {
			s.log.Warn("job record damaged: job skipped", "dir", dir, "err", err)
			continue
		}
		j := newJob(rec, dir)
		if rec.Status == Running {
			j.rec.Status, j.resume = Pending, true
			j.rec.Stopping = ""
		}
		j.rec.Counters.InFlight, j.rec.Counters.PagesPerSecond = 0, 0
		s.jobs[rec.ID] = j
		s.seq = max(s.seq, rec.Seq)
	}
	return nil
}

func newJob(rec Job, dir string) *job {
	j := &job{rec: rec, dir: dir, changed: make(chan struct{}), base: rec.Counters}
	j.fails = &failCounter{by: maps.Clone(rec.Counters.FailedFetches)}
	return j
}

// newID returns a fresh job id: 12 random hex digits.
func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// Create validates spec and queues a job for it. An invalid spec's error
// is an *InvalidError.
func (s *Server) Create(spec Spec) (Job, error) {
	id := newID()
	dir := filepath.Join(s.opts.Dir, "jobs", id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return Job{}, fmt.Errorf("serve: %w", err)
	}
	if err := s.crawls.Check(spec, dir); err != nil {
		os.RemoveAll(dir)
		return Job{}, &InvalidError{Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		os.RemoveAll(dir)
		return Job{}, ErrStopped
	}
	s.seq++
	seeds := spec.Seeds
	if seeds == nil {
		seeds = []string{}
	}
	j := newJob(Job{ID: id, Name: spec.Name, Status: Pending, Seeds: seeds, Config: spec.Config,
		Created: time.Now().UTC(), Seq: s.seq, Counters: Counters{Queued: -1}}, dir)
	j.base = j.rec.Counters
	if err := s.persist(j); err != nil {
		os.RemoveAll(dir)
		return Job{}, err
	}
	s.jobs[id] = j
	s.kick()
	return j.view(), nil
}

// InvalidError is a job spec the command's validation refused.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// view returns the job as the API shows it, credentials hidden. s.mu
// must be held.
func (j *job) view() Job {
	v := j.rec
	v.Counters.FailedFetches = maps.Clone(v.Counters.FailedFetches)
	v.Config = redactConfig(v.Config)
	v.Seeds = make([]string, len(j.rec.Seeds))
	for i, s := range j.rec.Seeds {
		v.Seeds[i] = redactURL(s)
	}
	return v
}

// persist writes j's record. s.mu must be held.
func (s *Server) persist(j *job) error {
	data, err := json.MarshalIndent(j.rec, "", "  ")
	if err != nil {
		return fmt.Errorf("serve: job %s: %w", j.rec.ID, err)
	}
	tmp := filepath.Join(j.dir, recFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("serve: job %s: %w", j.rec.ID, err)
	}
	if err := os.Rename(tmp, filepath.Join(j.dir, recFile)); err != nil {
		return fmt.Errorf("serve: job %s: %w", j.rec.ID, err)
	}
	return nil
}

// save is persist for callers with nowhere to return the error.
func (s *Server) save(j *job) {
	if err := s.persist(j); err != nil {
		s.log.Error("job record not saved", "job", j.rec.ID, "err", err)
	}
}

// setStatus changes j's status and wakes its watchers. s.mu must be held.
func (s *Server) setStatus(j *job, st Status) {
	j.rec.Status = st
	if st.ended() && j.rec.Finished == nil {
		now := time.Now().UTC()
		j.rec.Finished = &now
	}
	close(j.changed)
	j.changed = make(chan struct{})
}

// kick starts pending jobs while there are free slots: those that were
// running when the server stopped first, then by Seq. s.mu must be held.
func (s *Server) kick() {
	for s.running < s.opts.MaxRunning && !s.closed {
		var next *job
		for _, j := range s.jobs {
			if j.rec.Status != Pending {
				continue
			}
			if next == nil || (j.resume && !next.resume) || (j.resume == next.resume && j.rec.Seq < next.rec.Seq) {
				next = j
			}
		}
		if next == nil {
			return
		}
		s.start(next)
	}
}

// start runs j. s.mu must be held.
func (s *Server) start(j *job) {
	ctx, cancel := context.WithCancelCause(s.ctx)
	j.cancel, j.stop, j.resume = cancel, nil, false
	if j.rec.Started == nil {
		now := time.Now().UTC()
		j.rec.Started = &now
	}
	if j.reg == nil {
		reg := prometheus.NewRegistry()
		// New fails only on a registry that has its collectors already.
		m, _ := metrics.New(prometheus.WrapRegistererWith(prometheus.Labels{"job": j.rec.ID}, reg), metrics.Options{Version: s.opts.Version})
		j.reg, j.metrics = reg, m
	}
	s.setStatus(j, Running)
	s.save(j)
	s.running++
	s.wg.Add(1)
	go s.run(ctx, j)
}

// run runs j's crawl until it ends or its context does, then records how
// it ended.
func (s *Server) run(ctx context.Context, j *job) {
	defer s.wg.Done()
	s.mu.Lock()
	spec, base, m := j.rec.spec(), j.base, j.metrics
	s.mu.Unlock()

	logFile, err := os.OpenFile(filepath.Join(j.dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	var logOut io.Writer = io.Discard
	if err == nil {
		defer logFile.Close()
		logOut = logFile
	}
	if lt, ok := s.crawls.(LogTee); ok {
		logOut = lt.JobLog(j.rec.ID, logOut)
	}
	log := slog.New(slog.NewTextHandler(logOut, nil))

	var sum crawler.Summary
	queued := int64(-1)
	r, err := s.crawls.Open(ctx, spec, j.dir, m, observers{m, j.fails}, log)
	if err == nil {
		sum, queued, err = s.crawl(ctx, j, r, base, log)
		if cerr := r.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Error("crawl failed", "err", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	j.base.Done += sum.Done
	j.base.Failed += sum.Failed
	j.base.Blocked += sum.Blocked
	j.base.Queued = queued
	j.base.InFlight, j.base.PagesPerSecond = 0, 0
	j.base.FailedFetches = j.fails.snapshot()
	j.rec.Counters = j.base
	j.cancel = nil
	s.running--
	stop := j.stop
	j.rec.Stopping = ""
	switch {
	case err == nil:
		log.Info("job finished") // first: a reader that sees the status finds the line
		s.setStatus(j, Finished)
	case stop == errPause:
		log.Info("job paused") // first: a reader that sees the status finds the line
		s.setStatus(j, Paused)
	case stop == errCancel:
		log.Info("job canceled") // first: a reader that sees the status finds the line
		s.setStatus(j, Canceled)
	case context.Cause(ctx) == errShutdown:
		// Recorded as running: the next start resumes it.
		log.Info("job interrupted: the server is stopping; it resumes when the server starts again")
	default:
		j.rec.Error = err.Error()
		s.setStatus(j, Failed)
	}
	s.save(j)
	s.kick()
}

// crawl runs r, updating j's counters every EventInterval, and returns the
// run's summary and the frontier's queue length at its end.
func (s *Server) crawl(ctx context.Context, j *job, r *Run, base Counters, log *slog.Logger) (crawler.Summary, int64, error) {
	if r.Finished != "" {
		log.Info(r.Finished)
		return crawler.Summary{}, 0, nil
	}
	c := r.Crawl
	if r.Resuming != "" {
		log.Info(r.Resuming)
	}
	var last crawler.Progress
	src := func(ctx context.Context) progress.Snapshot {
		last = c.Progress()
		snap := progress.Snapshot{Done: last.Done, Failed: last.Failed + last.Blocked, InFlight: last.InFlight, Queued: -1}
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if st, err := c.FrontierStats(ctx); err == nil {
			snap.Queued = st.Queued
		}
		return snap
	}
	report := func(st progress.Status) {
		s.mu.Lock()
		defer s.mu.Unlock()
		cs := base
		cs.Done += last.Done
		cs.Failed += last.Failed
		cs.Blocked += last.Blocked
		cs.InFlight, cs.Queued, cs.PagesPerSecond = last.InFlight, st.Queued, st.PagesPerSecond
		cs.FailedFetches = j.fails.snapshot()
		j.rec.Counters = cs
		s.save(j)
	}
	pctx, stopProgress := context.WithCancel(context.Background())
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		progress.Run(pctx, src, progress.Options{Interval: s.opts.EventInterval, Window: 5 * time.Second, MaxPages: int64(r.MaxPages)}, report)
	}()
	log.Info("crawl starting")
	sum, err := c.Run(ctx)
	stopProgress()
	<-reported
	queued := int64(-1)
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if st, serr := c.FrontierStats(sctx); serr == nil {
		queued = st.Queued
	}
	log.Info(fmt.Sprintf("crawl: %s, elapsed %s, %.1f pages/s", sum, sum.Elapsed.Round(time.Millisecond), sum.PagesPerSecond()))
	return sum, queued, err
}

// lookup returns the job id names. s.mu must be held.
func (s *Server) lookup(id string) (*job, error) {
	j, ok := s.jobs[id]
	if !ok {
		return nil, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return j, nil
}

// Get returns the job id names, and a channel closed at its next change of
// status.
func (s *Server) Get(id string) (Job, <-chan struct{}, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.lookup(id)
	if err != nil {
		return Job{}, nil, err
	}
	return j.view(), j.changed, nil
}

// List returns the jobs, oldest first; with status not empty, only those
// in that status.
func (s *Server) List(status Status) []Job {
	s.mu.Lock()
	out := make([]Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		if status == "" || j.rec.Status == status {
			out = append(out, j.view())
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Job) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Seq, b.Seq))
	})
	return out
}

// transition runs move on the job id names, with s.mu held, and returns
// the job as it stands afterwards together with move's error: the lookup
// and locking that Pause, Resume and Cancel share.
func (s *Server) transition(id string, move func(j *job) error) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.lookup(id)
	if err != nil {
		return Job{}, err
	}
	err = move(j)
	return j.view(), err
}

// conflict is the error of an operation that j's status does not allow.
func conflict(j *job) error {
	return fmt.Errorf("job %s is %s: %w", j.rec.ID, j.rec.Status, ErrConflict)
}

// halt asks j's run to stop for cause, which the operation verb names.
// s.mu must be held.
func halt(j *job, cause error, verb string) {
	j.stop, j.rec.Stopping = cause, verb
	j.cancel(cause)
}

// Pause stops a running job, letting its requests in flight finish (it is
// paused once they have), or holds a pending one back.
func (s *Server) Pause(id string) (Job, error) {
	return s.transition(id, func(j *job) error {
		switch st := j.rec.Status; {
		case st == Running:
			if j.stop == nil {
				halt(j, errPause, "pause")
			}
		case st == Pending:
			s.setStatus(j, Paused)
			s.save(j)
		case st == Paused:
		default:
			return conflict(j)
		}
		return nil
	})
}

// Resume queues a paused job again.
func (s *Server) Resume(id string) (Job, error) {
	return s.transition(id, func(j *job) error {
		switch st := j.rec.Status; {
		case st == Paused:
			s.seq++
			j.rec.Seq = s.seq
			s.setStatus(j, Pending)
			s.save(j)
			s.kick()
		case st == Running && j.stop != nil:
			return fmt.Errorf("job %s is still stopping (%s): resume it once it has: %w", j.rec.ID, j.rec.Stopping, ErrConflict)
		case st == Running || st == Pending:
		default:
			return conflict(j)
		}
		return nil
	})
}

// Cancel stops a job for good.
func (s *Server) Cancel(id string) (Job, error) {
	return s.transition(id, func(j *job) error {
		switch st := j.rec.Status; {
		case st == Running:
			if j.stop != errCancel {
				halt(j, errCancel, "cancel")
			}
		case st == Pending || st == Paused:
			s.setStatus(j, Canceled)
			s.save(j)
		case st == Canceled:
		default:
			return conflict(j)
		}
		return nil
	})
}

// Remover is what a Crawls may also implement to remove what it keeps
// of a job elsewhere than in the job's folder (a fleet's Redis keys).
type Remover interface {
	Remove(ctx context.Context, dir string) error
}

// Delete removes a job that is not running, and its folder (and, when
// the Crawls is a Remover, what it keeps elsewhere).
func (s *Server) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.lookup(id)
	if err != nil {
		return err
	}
	if j.rec.Status == Running {
		return fmt.Errorf("job %s is running: pause or cancel it first: %w", id, ErrConflict)
	}
	if r, ok := s.crawls.(Remover); ok {
		if err := r.Remove(ctx, j.dir); err != nil {
			return fmt.Errorf("serve: delete job %s: %w", id, err)
		}
	}
	delete(s.jobs, id)
	s.setStatus(j, Canceled) // wakes its streams, which end
	if err := os.RemoveAll(j.dir); err != nil {
		return fmt.Errorf("serve: delete job %s: %w", id, err)
	}
	return nil
}

// Shutdown stops the running jobs, letting their requests in flight
// finish (each within its grace), and records them as running so that
// the next server on the directory resumes them. It returns when they
// have stopped or ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.done)
		s.stop(errShutdown)
	}
	s.mu.Unlock()
	stopped := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(stopped)
	}()
	select {
	case <-stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("serve: jobs still stopping: %w", ctx.Err())
	}
}
