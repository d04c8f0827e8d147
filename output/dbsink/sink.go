package dbsink

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivecrawl/crawl/crawler"
)

// SchemaVersion is the version of the tables this package writes, kept
// in the <prefix>schema table. A database holding another version is
// refused (ErrSchemaVersion).
const SchemaVersion = 1

// ErrSchemaVersion is returned by Open when the database's tables are of
// another SchemaVersion.
var ErrSchemaVersion = errors.New("dbsink: incompatible schema version")

// Options configure a Sink. The zero value writes pages and items under
// the prefix "crawl_", without links or bodies, and commits in the
// background.
type Options struct {
	// TablePrefix starts every table's name. Empty means "crawl_". It
	// must be letters, digits and underscores, starting with a letter or
	// underscore.
	TablePrefix string
	// Job fills the pages' job column (a fleet's job name); empty leaves
	// it NULL.
	Job string
	// Links also writes <prefix>links: one row per link found on a page.
	Links bool
	// Bodies also writes <prefix>bodies: each response body, gzipped.
	Bodies bool
	// Rules names the crawl's extraction rules. A page fetched without an
	// error replaces all its items of these rules: one it no longer
	// yields is deleted. Items of other rules are left as they are. With
	// no Rules, items are only upserted by (url, rule, idx).
	Rules []string
	// WriteThrough makes HandlePage return only once the page's rows are
	// committed, so that a process killed after it loses none of them: a
	// resumable crawl needs this, as it commits the URL's completion after
	// its handlers. Concurrent pages share one commit. Off, HandlePage
	// returns once the rows are queued, the writer lets them gather into
	// batches (Linger, BatchRows), and Flush commits them.
	WriteThrough bool
	// Linger is how long, without WriteThrough, the writer lets a batch
	// gather from its first row before it commits it, unless BatchRows
	// come first or the queue is full: every transaction costs the database a commit and a
	// rewrite of the index pages its rows touch, so a few large batches
	// cost less than many small ones. A row waits at most Linger plus a
	// commit. Zero means 100ms.
	Linger time.Duration
	// BatchRows is how many rows, without WriteThrough, make a batch
	// commit before Linger. Zero means 5,000.
	BatchRows int
	// QueueRows bounds the rows waiting to be written; HandlePage waits
	// while it is reached. Zero means 20,000.
	QueueRows int
	// QueueBytes bounds the bytes of bodies and item data waiting to be
	// written, likewise. Zero means 64 MiB.
	QueueBytes int64
	// MaxBackoff caps the wait between attempts when the database is
	// unavailable. Zero means 5s.
	MaxBackoff time.Duration
	// Log receives the "database unavailable, retrying" warnings (at most
	// one every 5 seconds). Nil discards them.
	Log *slog.Logger
}

var validPrefix = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,40}$`)

// Validate reports an unusable option.
func (o Options) Validate() error {
	if o.TablePrefix != "" && !validPrefix.MatchString(o.TablePrefix) {
		return fmt.Errorf("dbsink: table prefix %q: want letters, digits and _, not starting with a digit, at most 41", o.TablePrefix)
	}
	if o.QueueRows < 0 || o.QueueBytes < 0 || o.MaxBackoff < 0 || o.Linger < 0 || o.BatchRows < 0 {
		return errors.New("dbsink: queue sizes, batch sizes and times must not be negative")
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.TablePrefix == "" {
		o.TablePrefix = "crawl_"
	}
	if o.QueueRows == 0 {
		o.QueueRows = 20000
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = 64 << 20
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.Linger == 0 {
		o.Linger = 100 * time.Millisecond
	}
	if o.BatchRows == 0 {
		o.BatchRows = 5000
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Sink is a crawler.Handler that writes every recorded URL as a row of
// <prefix>pages, and its items (and, as Options ask, its links and body)
// into their tables. Create it with Open; call Close when the crawl is
// over. It is safe for concurrent use. The caller owns the *sql.DB and
// closes it after Close.
type Sink struct {
	db   *sql.DB
	d    dialect
	opts Options
	t    tables

	mu       sync.Mutex
	cur      *batch        // rows waiting for the writer
	inflight *batch        // the batch the writer is committing
	spare    *batch        // the last committed batch's memory, for the next
	space    chan struct{} // closed when the writer takes cur
	err      error         // the first error that stopped the writer
	closed   bool

	wake   chan struct{} // cap 1: cur has rows
	urgent chan struct{} // cap 1: Flush waits, so the writer must not linger
	quit   chan struct{} // closed by Close
	exited chan struct{} // closed when the writer returns
	ctx    context.Context
	cancel context.CancelFunc

	pages, items atomic.Int64 // rows committed
	commits      atomic.Int64 // batches committed
	gzips        sync.Pool    // of *gzip.Writer
	lastWarn     atomic.Int64 // unix nanoseconds of the last retry warning
	// backoffTimer waits between attempts; a seam for tests.
	backoffTimer func(time.Duration) (<-chan time.Time, func() bool)
}

// Open checks db's schema (creating the tables when missing, refusing an
// incompatible version) and starts the sink's writer. The dialect is
// chosen by db's driver: pgx, go-sql-driver/mysql or modernc.org/sqlite.
// ctx bounds the schema check only; the writer runs until Close.
func Open(ctx context.Context, db *sql.DB, o Options) (*Sink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	d, err := dialectOf(db)
	if err != nil {
		return nil, err
	}
	s := &Sink{db: db, d: d, opts: o, t: newTables(o.TablePrefix, d.quote),
		space: make(chan struct{}), wake: make(chan struct{}, 1), urgent: make(chan struct{}, 1),
		quit: make(chan struct{}), exited: make(chan struct{}),
		backoffTimer: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		}}
	s.t.job, s.t.rules = o.Job, slices.Clone(o.Rules)
	s.cur = s.newBatch()
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.loop()
	return s, nil
}

// newBatch returns an empty batch. Without WriteThrough, its pages have
// room for a batch of BatchRows (up to 8,192), so that gathering them
// does not copy the records again each time the slice grows.
func (s *Sink) newBatch() *batch {
	b := newBatch()
	if !s.opts.WriteThrough {
		b.pages = make([]crawler.Result, 0, min(s.opts.BatchRows, s.opts.QueueRows, 8192))
	}
	return b
}

// HandlePage implements crawler.Handler: it queues the page's rows,
// waiting while the queue is full, and with Options.WriteThrough until
// they are committed. An error from an earlier batch is returned here.
func (s *Sink) HandlePage(ctx context.Context, p *crawler.Page) error {
	var rows pageRows
	if err := s.rowsOf(p, &rows); err != nil {
		return err
	}
	for {
		s.mu.Lock()
		if s.err != nil || s.closed {
			err := s.err
			s.mu.Unlock()
			if err == nil {
				err = errors.New("dbsink: sink is closed")
			}
			return err
		}
		b := s.cur
		if b.rows() == 0 || (b.rows()+rows.rows() <= s.opts.QueueRows && b.size+rows.size <= s.opts.QueueBytes) {
			if b.rows() == 0 {
				b.since = time.Now()
			}
			b.add(&rows)
			s.mu.Unlock()
			s.signal()
			if !s.opts.WriteThrough {
				return nil
			}
			select {
			case <-b.done:
				return b.err
			case <-ctx.Done():
				return fmt.Errorf("dbsink: waiting for the commit: %w", ctx.Err())
			}
		}
		space := s.space
		b.full = true // the writer must not let it linger
		s.mu.Unlock()
		s.signal()
		select {
		case <-space:
		case <-ctx.Done():
			return fmt.Errorf("dbsink: waiting for the queue: %w", ctx.Err())
		}
	}
}

// BorrowsPages implements crawler.Borrower: the rows copy what they need
// of a Page before HandlePage returns.
func (s *Sink) BorrowsPages() bool { return true }

// Flush commits every row queued before it was called, waiting for the
// database for as long as it is unavailable (until Close). It implements
// crawler.Flusher.
func (s *Sink) Flush() error {
	s.mu.Lock()
	b := s.cur
	if b.rows() == 0 {
		b = s.inflight
	}
	err := s.err
	s.mu.Unlock()
	if b == nil {
		return err
	}
	select {
	case s.urgent <- struct{}{}:
	default:
	}
	s.signal()
	select {
	case <-b.done:
		return b.err
	case <-s.exited:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.err
	}
}

// Close commits what is queued, then stops the writer. If ctx ends
// first, the rows still queued are dropped and an error says how many.
// Later HandlePage calls fail.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.quit)
	select {
	case <-s.exited:
	case <-ctx.Done():
		s.cancel()
		<-s.exited
	}
	s.cancel()
	if c, ok := s.d.(interface{ close() }); ok { // the writer is gone: its prepared statements go too
		c.close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.cur.rows(); n > 0 && s.err == nil {
		s.err = fmt.Errorf("dbsink: %d rows not written: %w", n, ctx.Err())
	}
	return s.err
}

// Pages returns the number of page rows committed.
func (s *Sink) Pages() int64 { return s.pages.Load() }

// Items returns the number of item rows committed.
func (s *Sink) Items() int64 { return s.items.Load() }

func (s *Sink) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// loop is the writer: it takes the queued rows as one batch and commits
// them, until Close, when it commits what is left and returns. With
// WriteThrough it commits as soon as rows are queued (the rows queued
// during a commit go in the next); without, it lets each batch gather
// (linger) first.
func (s *Sink) loop() {
	defer close(s.exited)
	for {
		quitting := s.wait()
		for {
			s.mu.Lock()
			b := s.cur
			if b.rows() == 0 {
				s.mu.Unlock()
				break
			}
			var next *batch
			if s.spare == nil {
				next = s.newBatch()
			} else {
				next, s.spare = s.spare, nil
				next.done = make(chan struct{})
			}
			s.cur, s.inflight = next, b
			close(s.space)
			s.space = make(chan struct{})
			failed := s.err
			s.mu.Unlock()

			err := failed
			if err == nil {
				err = s.commit(b)
			}
			if err == nil {
				s.commits.Add(1)
				s.pages.Add(int64(len(b.pages)))
				s.items.Add(int64(len(b.items)))
			}
			spare := b.recycle()
			s.mu.Lock()
			s.inflight, s.spare = nil, spare
			if err != nil && s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
			b.err = err
			close(b.done)
			if !quitting && !s.opts.WriteThrough {
				break // the next batch gathers first
			}
		}
		if quitting {
			return
		}
	}
}

// wait blocks until the writer should take the queued rows; it returns
// true when Close was called.
func (s *Sink) wait() (quitting bool) {
	if !s.opts.WriteThrough {
		return s.linger()
	}
	select {
	case <-s.wake:
		return false
	case <-s.quit:
		return true
	}
}

// linger waits until the queued batch has Options.BatchRows rows, or its
// first row has waited Options.Linger, or it is full (a HandlePage waits
// for room), or Flush is waiting (it returns false then),
// or Close was called (it returns true).
func (s *Sink) linger() (quitting bool) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		s.mu.Lock()
		n, since, full := s.cur.rows(), s.cur.since, s.cur.full
		s.mu.Unlock()
		if n >= s.opts.BatchRows || full {
			return false
		}
		var expired <-chan time.Time
		if n > 0 {
			left := s.opts.Linger - time.Since(since)
			if left <= 0 {
				return false
			}
			if t == nil {
				t = time.NewTimer(left)
			} else {
				t.Reset(left)
			}
			expired = t.C
		}
		select {
		case <-s.wake:
		case <-s.urgent:
			return false
		case <-expired:
			return false
		case <-s.quit:
			return true
		}
	}
}

// commit writes b in one transaction, retrying with backoff while the
// database is unavailable.
func (s *Sink) commit(b *batch) error {
	b.dedupe(len(s.t.rules) > 0)
	wait := 100 * time.Millisecond
	for {
		err := s.d.write(s.ctx, s.db, &s.t, b)
		if err == nil {
			return nil
		}
		if s.ctx.Err() != nil {
			return fmt.Errorf("dbsink: %d rows not written: %w", b.rows(), s.ctx.Err())
		}
		if !s.d.transient(err) {
			return fmt.Errorf("dbsink: write: %w", err)
		}
		now := time.Now().UnixNano()
		if last := s.lastWarn.Load(); now-last > int64(5*time.Second) && s.lastWarn.CompareAndSwap(last, now) {
			s.opts.Log.Warn("database unavailable, retrying", "err", err, "rows", b.rows())
		}
		c, stop := s.backoffTimer(wait)
		select {
		case <-c:
		case <-s.ctx.Done():
			stop()
		}
		wait = min(2*wait, s.opts.MaxBackoff)
	}
}

// gzipBody compresses a body for <prefix>bodies.
func (s *Sink) gzipBody(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(body)/3 + 64)
	zw, _ := s.gzips.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	} else {
		zw.Reset(&buf)
	}
	defer s.gzips.Put(zw)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Interface guards.
var (
	_ crawler.Handler  = (*Sink)(nil)
	_ crawler.Flusher  = (*Sink)(nil)
	_ crawler.Borrower = (*Sink)(nil)
)
