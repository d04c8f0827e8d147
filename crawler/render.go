package crawler

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/urlnorm"
)

// Renderer loads a page in a browser, runs its scripts and returns the DOM
// they built. render.Browser (package render, on Chromium) implements it;
// a library user may plug in another, such as a remote rendering service.
//
// The crawler fetches the page itself first, through its own lease,
// robots.txt check, politeness and Fetcher; Render gets that response as
// req.Document and serves it to the browser, so the page is fetched once.
// Every other request the page makes must be checked with req.Check and
// fetched with req.Subfetch (or blocked), so that robots.txt, the
// private-address guard, the crawl's headers, cookies and proxy hold for
// the browser too. Render is called from many workers at once and must be
// safe for concurrent use; it bounds its own concurrency (tabs), waiting
// under ctx for a free tab. An error with a Temporary method that
// reports true (anywhere in its chain) is worth another attempt, within
// Config.Retries (the browser crashed or hung); any other fails the page
// with class ClassRender.
type Renderer interface {
	Render(ctx context.Context, req *fetch.RenderRequest) (*fetch.Rendered, error)
}

// Render modes (Config.Render).
const (
	// RenderNever parses the HTML the server sent; no browser is used.
	RenderNever = "never"
	// RenderAlways renders every HTML page fetched as a page (not assets,
	// not error pages) with Config.Renderer and parses the rendered DOM.
	RenderAlways = "always"
)

// ClassRender: the page could not be rendered (the browser failed, or
// hung past the timeout) after all retries.
const ClassRender = fetch.ClassRender

// RenderObserver is an optional interface of an Observer: it is told
// about the requests each rendered page made (for metrics: their outcome
// and the bytes they brought).
type RenderObserver interface {
	PageRendered(subs []fetch.Subrequest)
}

// subfetcher is the method of a Fetcher (such as *fetch.Client) that
// sends a browser's subrequests through it.
type subfetcher interface {
	Subfetch(ctx context.Context, req *http.Request) (*fetch.Response, error)
}

// parsePage parses the current page, fetched as resp, from the DOM
// Config.Render asks for: the HTTP body (RenderNever), the rendered DOM
// (RenderAlways), or either as autoRender decides (RenderAuto). With stop
// set, the URL's outcome is *out (retried, cut off, recorded as failed or
// as a redirect) and there is no page.
func (w *worker) parsePage(ctx context.Context, out *frontier.Outcome, res *Result, req frontier.Request, resp *fetch.Response, base *url.URL) (_ *parse.Page, stop bool, _ error) {
	c := w.c
	if c.cfg.Renderer == nil || (c.cfg.Render != RenderAlways && c.cfg.Render != RenderAuto) {
		page, err := c.cfg.Parser.Parse(base, resp.ContentType, resp.Body)
		return page, false, err
	}
	var httpPage *parse.Page
	var key string
	compare := false
	if c.cfg.Render == RenderAuto {
		page, err := c.cfg.Parser.Parse(base, resp.ContentType, resp.Body)
		if err != nil {
			return nil, false, err
		}
		var render bool
		if key, render, compare = w.r.auto.decide(req.URL, page, resp.Body); !render {
			return page, false, nil
		}
		httpPage = page
	}
	rd, stop := w.render(ctx, out, res, req, resp)
	if stop {
		if compare {
			w.r.auto.abandon(key)
		}
		return nil, true, nil
	}
	if u, err := url.Parse(rd.FinalURL); err == nil && rd.FinalURL != "" {
		base = u
	}
	page, err := c.cfg.Parser.Parse(base, "text/html; charset=utf-8", rd.Body)
	if err != nil {
		if compare {
			w.r.auto.abandon(key)
		}
		return nil, false, err
	}
	if compare {
		w.r.auto.learn(key, foundMore(httpPage, page, c.cfg.Extractor))
	}
	return page, false, nil
}

// render renders the current page with Config.Renderer. With stop set,
// the URL's outcome is *out (retried, cut off, recorded as failed, or as
// a redirect when the page navigated away by itself).
func (w *worker) render(ctx context.Context, out *frontier.Outcome, res *Result, req frontier.Request, resp *fetch.Response) (_ *fetch.Rendered, stop bool) {
	c := w.c
	rr := &fetch.RenderRequest{Document: resp, Check: w.subCheck}
	if sf, ok := c.cfg.Fetcher.(subfetcher); ok {
		rr.Subfetch = sf.Subfetch
	}
	start := time.Now()
	rd, err := c.cfg.Renderer.Render(ctx, rr)
	res.RenderMS = time.Since(start).Milliseconds()
	if err != nil {
		switch {
		case ctx.Err() != nil:
			*out = c.cutOff(*out)
		case temporary(err) && req.Attempts < c.cfg.Retries:
			c.cfg.Observer.Retried(ClassRender)
			*out = c.retry(*out, req.Attempts, 0)
		default:
			res.Error, res.Detail = ClassRender, err.Error()
			*out = w.finish(ctx, *out, res)
		}
		return nil, true
	}
	if ro, ok := c.cfg.Observer.(RenderObserver); ok {
		ro.PageRendered(rd.Subrequests)
	}
	w.rendered = rd
	res.Rendered = true
	res.Subrequests = len(rd.Subrequests)
	for _, s := range rd.Subrequests {
		if s.Result != fetch.SubAllowed {
			res.BlockedSubrequests++
		}
		if s.XHR() {
			res.XHR = append(res.XHR, s.URL)
		}
	}
	if rd.NavigatedTo != "" {
		// The page navigated away by itself: recorded as a redirect, and
		// the target queued as one is, checked like any link.
		if canon, err := c.cfg.Normalizer.Canonical(rd.NavigatedTo); err == nil && canon != req.URL {
			res.RedirectTo = canon
			out.Links = w.follow(req, req.Depth, []string{canon})
			*out = w.finish(ctx, *out, res)
			return nil, true
		}
	}
	return rd, false
}

// subCheck checks a subrequest of a rendered page against robots.txt of
// its host, as Google's renderer does. Scope is not checked: a page's
// scripts and styles may come from elsewhere, and they are not crawled.
func (w *worker) subCheck(ctx context.Context, u *url.URL) error {
	c := w.c
	if c.cfg.Robots == nil {
		return nil
	}
	d, err := c.cfg.Robots.Check(ctx, u)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return &hopError{class: ClassRobots, detail: "robots.txt disallows " + urlnorm.Redact(u.String())}
	}
	return nil
}

// temporary reports whether a Renderer's error is worth another attempt.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
