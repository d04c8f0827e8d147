package crawler

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/hivecrawl/crawl/urlnorm"
)

// run is the state of one Run or Pages call: its counters, its MaxPages
// and MaxPagesPerHost budgets, its Handler and the first Handler error. A
// run builds it at its start, so a Crawler used again starts from zero;
// Crawler.Progress reads the one under way.
type run struct {
	c       *Crawler
	handler Handler // the run's: Config.Handler, or the one Pages brings
	// borrows reports that handler uses a Page only until HandlePage
	// returns (see Borrower): response bodies are then recycled.
	borrows bool
	budget  budget

	done     atomic.Int64 // pages recorded without an error
	failed   atomic.Int64 // pages recorded with an error, blocked ones aside
	blocked  atomic.Int64 // pages robots.txt disallows
	assets   atomic.Int64 // asset URLs recorded (Config.Assets)
	inFlight atomic.Int64

	classMu  sync.Mutex
	failedBy map[string]int64 // failed, by class

	sitemapFiles atomic.Int64 // sitemap documents fetched
	sitemapURLs  atomic.Int64 // page URLs sitemaps added to the frontier

	hostMu    sync.Mutex
	hostCount map[string]int // attempts per host, for MaxPagesPerHost

	// handlerErr is the first error of the handler: the crawl stops on it.
	handlerErr atomic.Pointer[error]

	// ignored holds the query parameters learned from rel=canonical.
	ignored urlnorm.IgnoredParams

	// auto learns which pages to render (Config.Render RenderAuto).
	auto *autoRender

	// session is the login state, when Config.Login is set; nil otherwise.
	session *session
}

// newRun builds the state of a run whose records go to h.
func (c *Crawler) newRun(h Handler) *run {
	r := &run{c: c, handler: h, hostCount: make(map[string]int), failedBy: make(map[string]int64)}
	if c.cfg.Render == RenderAuto {
		r.auto = newAutoRender()
	}
	r.budget.max = int64(c.cfg.MaxPages)
	if b, ok := h.(Borrower); ok {
		r.borrows = b.BorrowsPages()
	}
	return r
}

// progress is the run's live snapshot.
func (r *run) progress() Progress {
	return Progress{Done: r.done.Load(), Failed: r.failed.Load(), Blocked: r.blocked.Load(), InFlight: r.inFlight.Load()}
}

// count counts a recorded URL by its record: an asset, a page without an
// error, a page robots.txt disallows, or a failure of the record's class.
func (r *run) count(res *Result) {
	switch {
	case res.Asset:
		r.assets.Add(1)
	case res.Error == "":
		r.done.Add(1)
	case res.Error == ClassRobots:
		r.blocked.Add(1)
	default:
		r.classMu.Lock()
		r.failedBy[res.Error]++
		r.classMu.Unlock()
		r.failed.Add(1)
	}
}

// summary returns the run's counters as a Summary (Elapsed left zero).
func (r *run) summary() Summary {
	s := Summary{Done: r.done.Load(), Failed: r.failed.Load(), Blocked: r.blocked.Load(),
		Assets: r.assets.Load(), SitemapURLs: r.sitemapURLs.Load()}
	r.classMu.Lock()
	defer r.classMu.Unlock()
	if len(r.failedBy) > 0 {
		s.FailedBy = maps.Clone(r.failedBy)
	}
	return s
}

// overHostBudget counts an attempt on host and reports whether it exceeds
// MaxPagesPerHost.
func (r *run) overHostBudget(host string) bool {
	max := r.c.cfg.MaxPagesPerHost
	if max <= 0 {
		return false
	}
	r.hostMu.Lock()
	defer r.hostMu.Unlock()
	if r.hostCount[host] >= max {
		return true
	}
	r.hostCount[host]++
	return false
}

// failHandler records the handler's first error; the workers see it and
// the crawl stops.
func (r *run) failHandler(err error) {
	r.handlerErr.CompareAndSwap(nil, &err)
}

// budget is the run's MaxPages accounting, and the only place it is kept.
// A slot is a URL that may still be recorded as a page. The leaser takes a
// slot for each lease it asks the frontier for and gives back those the
// frontier did not fill; a worker keeps the slot of a page it recorded
// (done or failed) and gives back every other: an asset, a URL over its
// host's budget, a retry, a URL handed back unrecorded.
type budget struct {
	max     int64 // zero: unlimited
	started atomic.Int64
}

// take reserves up to n slots and returns how many it got: n when the
// budget is unlimited, zero when it is spent. Only the leaser takes.
func (b *budget) take(n int) int {
	if b.max <= 0 {
		return n
	}
	n = int(min(int64(n), b.max-b.started.Load()))
	if n <= 0 {
		return 0
	}
	b.started.Add(int64(n))
	return n
}

// give returns n slots.
func (b *budget) give(n int) {
	if b.max > 0 && n > 0 {
		b.started.Add(-int64(n))
	}
}
