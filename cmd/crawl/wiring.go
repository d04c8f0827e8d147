package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/output/dbsink"
	"github.com/hivecrawl/crawl/session"
)

// wiring is a crawl's parts, built once from the options by wire: the
// crawler's Config and seeds, and the outputs, with what closes them.
type wiring struct {
	cfg   crawler.Config
	seeds []string
	// records writes the page records (-o, --format).
	records recordWriter
	pipe    *pipeline
	// resuming says what a resumed --state crawl takes up again, and
	// finished that the --state crawl has nothing left to do; both are
	// empty for a new crawl.
	resuming, finished string
	// jar is the session's cookie jar (--session and the flags that
	// imply it), nil without one.
	jar *session.Jar
	// db is the --db sink, nil without one.
	db      *dbsink.Sink
	closers []func() error // called last first
}

// wire builds the crawl the options ask for: the frontier (--state or
// --frontier, which may add stored seeds to the options'), the outputs
// and the handlers, into one crawler.Config. On error, what was opened is
// closed.
func wire(ctx context.Context, o options, stdout io.Writer, log *slog.Logger) (w *wiring, err error) {
	w = &wiring{cfg: o.crawlerConfig(), seeds: o.Seeds}
	defer func() {
		if err != nil {
			w.close(&err)
			w = nil
		}
	}()
	if o.State != "" {
		st, err := openState(o.State, w.seeds, w.cfg)
		if err != nil {
			return w, err
		}
		w.closers = append(w.closers, func() error {
			if err := st.frontier.Close(); err != nil {
				return fmt.Errorf("close frontier: %w", err)
			}
			return nil
		})
		w.cfg.Frontier, w.seeds, w.resuming, w.finished = st.frontier, st.seeds, st.resuming, st.finished
		if w.finished != "" {
			return w, nil
		}
	}
	var fl *fleet
	if o.Frontier != "" {
		var seeds []string
		fl, seeds, err = openFleet(ctx, o.fleetOptions, w.seeds, w.cfg, log)
		if err != nil {
			return w, err
		}
		w.closers = append(w.closers, fl.close)
		w.cfg.Frontier, w.cfg.RobotsStore, w.seeds = fl.f, fl.f.RobotsStore(), seeds
	}

	if err := w.session(ctx, o, fl, log); err != nil {
		return w, err
	}
	o.loginOptions.apply(&w.cfg) // once the jar is made: the login needs it
	if err := w.shareLogin(ctx, fl, log); err != nil {
		return w, err
	}

	if w.cfg.DenyPrivate = denyPrivate(ctx, o.DenyPrivate, w.seeds); !w.cfg.DenyPrivate && o.DenyPrivate == nil {
		log.Info("a seed is on a private address: private addresses are allowed (--deny-private=true refuses them)")
	}
	if o.IgnoreRobots {
		log.Warn("ROBOTS.TXT IS IGNORED (--ignore-robots): this crawl does not respect site owners' rules")
	}

	// A resumed crawl, or a fleet worker started again, adds to its
	// outputs; and its records must reach them before its completions are
	// committed (or shared), or a killed process would lose them.
	resuming := o.State != "" || o.Frontier != ""
	out := stdout
	if o.Output != "" {
		f, err := openOutput(o.Output, resuming, cutTornLine)
		if err != nil {
			return w, fmt.Errorf("-o: %w", err)
		}
		w.closers = append(w.closers, f.Close)
		out = o.teeOutput(o.Output, f)
	}
	w.records = newRecordWriter(o.Format, out, resuming)
	w.pipe, err = o.pipelineOptions.setup(stdout, log, resuming, w.cfg.UserAgent)
	if err != nil {
		return w, err
	}
	w.closers = append(w.closers, w.pipe.close)
	w.cfg.Extractor = w.pipe.extractor
	if err := o.setupRender(w, o, log); err != nil {
		return w, err
	}
	if o.DB != "" {
		job := ""
		if o.Frontier != "" {
			job = o.Job
		}
		// Written through like the files: a resumable crawl's rows are
		// committed before its completions are.
		sink, closeDB, err := o.dbOptions.openDB(ctx, job, o.Rules, resuming, log)
		if err != nil {
			return w, err
		}
		w.closers = append(w.closers, closeDB)
		w.pipe.handlers = append(w.pipe.handlers, sink)
		w.db = sink
	}
	// The page records are written last, once the other outputs have the
	// page; the crawler counts them for the summary.
	w.cfg.Handler = crawler.Handlers(append(w.pipe.handlers, w.records)...)
	return w, nil
}

// session makes the cookie jar when the options ask for one: kept in the
// --state directory (cookies.txt), so that a resumed crawl sends the
// cookies the last run had; or, on a fleet, in the job's hash in Redis,
// read again every second so that a cookie one worker got is sent by all.
func (w *wiring) session(ctx context.Context, o options, fl *fleet, log *slog.Logger) error {
	if !o.wantJar() {
		return nil
	}
	var store session.Store
	switch {
	case o.State != "":
		store = session.NewFileStore(filepath.Join(o.State, cookiesFile))
	case fl != nil:
		store = session.HashStore(fl.f.SessionHash())
	}
	jar, restored, err := o.newJar(ctx, store, log)
	if err != nil {
		return fmt.Errorf("%w: session: %v", errUsage, err)
	}
	if restored > 0 {
		log.Info("session restored", "cookies", restored)
	}
	if fl != nil {
		rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() {
			defer close(done)
			jar.Refresh(rctx, sessionRefresh)
		}()
		w.closers = append(w.closers, func() error { stop(); <-done; return nil })
	}
	w.jar, w.cfg.Jar = jar, jar
	return nil
}

// sessionRefresh is how often a fleet worker reads the cookies the other
// workers stored.
const sessionRefresh = time.Second

// newCrawler builds the wired crawl's Crawler, with obs as its Observer
// and m (which obs reports to) for the proxies' and the frontier's
// metrics: what run and crawl serve's jobs do once wire is done.
func (w *wiring) newCrawler(o *options, m *metrics.Metrics, obs crawler.Observer, log *slog.Logger) (*crawler.Crawler, crawler.Config, error) {
	cfg := w.cfg
	cfg.Observer = obs
	if err := o.proxyOptions.apply(&cfg, log, m); err != nil {
		return nil, cfg, err
	}
	c, err := crawler.New(cfg)
	if err != nil {
		return nil, cfg, fmt.Errorf("%w: %v", errUsage, err)
	}
	m.SetFrontierStats(frontierStats(c))
	return c, cfg, nil
}

// flush writes out what the outputs buffer, whole lines only: the last
// thing a process quitting at once does.
func (w *wiring) flush() {
	if w.records != nil {
		_ = w.records.Flush()
	}
	if w.pipe != nil {
		_ = w.pipe.flush()
	}
}

// close closes what wire opened, last first, and sets *err to the first
// error if it is nil.
func (w *wiring) close(err *error) {
	var errs []error
	for i := len(w.closers) - 1; i >= 0; i-- {
		errs = append(errs, w.closers[i]())
	}
	w.closers = nil
	if cerr := errors.Join(errs...); cerr != nil && *err == nil {
		*err = cerr
	}
}
