package crawler

import (
	"context"
	"errors"
	"net/http"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
)

// Handler is told about every URL the crawl records, with what was fetched
// for it: the hook for pipelines that need more than the Result, such as
// the response itself (archives, saved files) or the items extracted from
// the page.
//
// HandlePage is called from many workers at once and must be safe for
// concurrent use. It is called once per recorded URL, and not for attempts
// that will be retried. ctx is the request's context: it outlives Run's by
// the grace period. An error stops the crawl: the URL is handed back to the
// frontier unrecorded and uncounted (a resumed crawl fetches and records it
// again), the workers stop, and Run returns the error.
//
// A Handler may implement Flusher (Run and Pages flush it before they
// return) and Borrower (it keeps no Page, so the crawler may reuse their
// memory).
type Handler interface {
	HandlePage(ctx context.Context, p *Page) error
}

// Borrower is an optional interface of a Handler. A Handler whose
// BorrowsPages returns true uses each Page, and everything it points to,
// only until HandlePage returns, and keeps nothing of it (copies aside):
// the crawler then reuses the Page and the memory of the response body for
// later URLs, which spares the garbage collector on a fast crawl. A Handler
// that does not implement it may keep every Page it is given.
type Borrower interface {
	BorrowsPages() bool
}

// Flusher is an optional interface of a Handler that buffers what it
// writes: Run and Pages call Flush before they return, whatever stopped the
// crawl, so nothing the crawl recorded is left in a buffer.
type Flusher interface {
	Flush() error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, p *Page) error

// HandlePage implements Handler.
func (f HandlerFunc) HandlePage(ctx context.Context, p *Page) error { return f(ctx, p) }

// Handlers returns a Handler that calls each of hs in order, stopping at
// the first error. Nil entries are skipped. It is a Flusher that flushes
// every handler that is one, and a Borrower when all of hs are.
func Handlers(hs ...Handler) Handler {
	list := make(handlers, 0, len(hs))
	for _, h := range hs {
		if h != nil {
			list = append(list, h)
		}
	}
	return list
}

type handlers []Handler

func (hs handlers) HandlePage(ctx context.Context, p *Page) error {
	for _, h := range hs {
		if err := h.HandlePage(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// BorrowsPages implements Borrower.
func (hs handlers) BorrowsPages() bool {
	for _, h := range hs {
		if b, ok := h.(Borrower); !ok || !b.BorrowsPages() {
			return false
		}
	}
	return true
}

// Flush implements Flusher: it flushes every handler that is a Flusher and
// returns their errors joined.
func (hs handlers) Flush() error {
	var errs []error
	for _, h := range hs {
		if f, ok := h.(Flusher); ok {
			errs = append(errs, f.Flush())
		}
	}
	return errors.Join(errs...)
}

// Extractor turns a parsed HTML page into items. *parse.Extractor, built
// from extraction rules, implements it. Extract is called from many
// workers at once and must be safe for concurrent use.
type Extractor interface {
	Extract(p *parse.Page) []parse.Item
}

// Page is one recorded URL and what was fetched for it, as a Handler and
// the Pages iterator see it. The crawler keeps no reference to a Page once
// it is handed over: the receiver may keep it and everything it points to.
type Page struct {
	// Result is the URL's record: what output.JSONLines writes as one
	// line. Result.URL is the canonical URL the crawl queued;
	// Result.FinalURL the one the response came from, after redirects.
	Result *Result
	// Header is the response header of the last hop (after redirects);
	// nil when no response came (see Result.Error).
	Header http.Header
	// Body is the response body, decompressed and at most
	// Config.MaxBodyBytes long (cut short when Result.Error is
	// "too_large"); nil when no response came.
	Body []byte
	// Parsed is the parsed page; nil unless the response was a 2xx HTML
	// page fetched as a page, not as an asset.
	Parsed *parse.Page
	// Items are what Config.Extractor found on the page, in rule order.
	Items []parse.Item
	// Rendered is what the Renderer made of the page (Body is then the
	// response as received, Parsed the rendered DOM's); nil when the page
	// was not rendered.
	Rendered *fetch.Rendered
}

// finish hands the URL's record, with what was fetched and the items
// extracted, to the run's Handler, then counts it and sets the outcome's
// final status from the record, as the Summary counts it: Failed for a
// record with an error, robots.txt's refusals aside, Done for the others;
// so the frontier's counters (crawl status) and the Summary agree. Without
// a Handler it allocates nothing. A Handler error stops the crawl: the URL
// goes back to the frontier unrecorded and uncounted, to be recorded by a
// later run.
func (w *worker) finish(ctx context.Context, out frontier.Outcome, res *Result) frontier.Outcome {
	c, r := w.c, w.r
	if r.handler != nil {
		if err := r.handler.HandlePage(ctx, w.newPage(res)); err != nil {
			r.failHandler(err)
			return c.cutOff(out)
		}
	}
	out.Status = frontier.Done
	if res.Error != "" && res.Error != ClassRobots {
		out.Status = frontier.Failed
	}
	r.count(res)
	w.counted = !res.Asset
	return out
}

// newPage builds the Page of the current URL: the worker's own, reused,
// for a borrowing Handler; a new one for a Handler that may keep it.
func (w *worker) newPage(res *Result) *Page {
	p := &w.page
	if !w.r.borrows {
		p = new(Page)
	}
	*p = Page{Result: res}
	if w.resp != nil {
		p.Header, p.Body = w.resp.Header, w.resp.Body
	}
	p.Rendered, w.rendered = w.rendered, nil
	if w.parsed != nil {
		p.Parsed = w.parsed
		if ex := w.c.cfg.Extractor; ex != nil {
			p.Items = ex.Extract(w.parsed)
		}
	}
	w.resp, w.parsed = nil, nil
	return p
}
