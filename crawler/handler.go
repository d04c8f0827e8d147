package crawler

import (
	"context"
	"net/http"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
)

// Handler is told about every URL the crawl records, with what was fetched
// for it: the hook for pipelines that need more than the Result, such as
// the response itself (archives, saved files) or the items extracted from
// the page.
//
// HandlePage is called from many workers at once and must be safe for
// concurrent use. It is called once per recorded URL, before the Result is
// written to the Sink, and not for attempts that will be retried. ctx is
// the request's context: it outlives Run's by the grace period. An error
// stops the crawl like a Sink error: the URL is handed back to the frontier
// unrecorded (a resumed crawl fetches it again), the workers stop, and Run
// returns the error.
type Handler interface {
	HandlePage(ctx context.Context, p *Page) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, p *Page) error

// HandlePage implements Handler.
func (f HandlerFunc) HandlePage(ctx context.Context, p *Page) error { return f(ctx, p) }

// Handlers returns a Handler that calls each of hs in order, stopping at
// the first error. Nil entries are skipped.
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
	// Result is the URL's record, the one written to the Sink.
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
}

// finish hands the URL's record, with what was fetched and the items
// extracted, to the run's Handler, then records it. Without a Handler it
// is c.finish and allocates nothing. A Handler error stops the crawl like
// a Sink error: the URL goes back to the frontier unrecorded.
func (w *worker) finish(ctx context.Context, out frontier.Outcome, res *Result, status frontier.Status) frontier.Outcome {
	c := w.c
	if c.handler == nil {
		return c.finish(out, res, status)
	}
	p := &Page{Result: res}
	if w.resp != nil {
		p.Header, p.Body = w.resp.Header, w.resp.Body
	}
	if w.parsed != nil {
		p.Parsed = w.parsed
		if c.cfg.Extractor != nil {
			p.Items = c.cfg.Extractor.Extract(w.parsed)
		}
	}
	w.resp, w.parsed = nil, nil
	if err := c.handler.HandlePage(ctx, p); err != nil {
		c.sinkErr.CompareAndSwap(nil, &err)
		return c.cutOff(out)
	}
	return c.finish(out, res, status)
}
