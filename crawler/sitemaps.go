package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/robots"
	"github.com/hivecrawl/crawl/sitemap"
)

// Sitemaps are fetched like any request: queued in the frontier as
// frontier.KindSitemap, leased when their host is ready and under its
// in-flight cap, fetched by a worker. So they keep the crawl's politeness
// (the host's rate, Crawl-delay and cap, across the processes of a fleet),
// and a stopped crawl resumes them. A sitemap's request Depth is how deep
// it nests below the start (/sitemap.xml of a seed's origin, depth 0),
// capped by SitemapLimits.MaxDepth. The start also lists the origin's
// robots.txt Sitemap lines, as further sitemaps of depth 0. Sitemaps are
// not recorded; the pages they list are queued at depth 0, scoped like
// links.

// sitemapBatch is how many sitemap URLs go to the frontier in one Add.
const sitemapBatch = 512

// maxSitemapURLs caps the URLs sitemaps add to the frontier in one run
// (MaxPages caps it further): a site's 1,000 sitemaps of 50,000 URLs each
// would otherwise fill the frontier with 50 million before the first page.
const maxSitemapURLs = 1_000_000

// sitemapLister is what the robots checker offers when it can list a
// host's Sitemap lines; *robots.Cache does.
type sitemapLister interface {
	Sitemaps(ctx context.Context, u *url.URL) ([]string, error)
}

// sitemapStarts returns the start sitemap of each seed's origin: its
// /sitemap.xml, as a KindSitemap request.
func sitemapStarts(seeds []frontier.Request) []frontier.Request {
	var starts []frontier.Request
	done := make(map[string]bool)
	for _, s := range seeds {
		u, err := url.Parse(s.URL)
		if err != nil || done[u.Host] {
			continue
		}
		done[u.Host] = true
		starts = append(starts, frontier.Request{URL: u.Scheme + "://" + u.Host + "/sitemap.xml", Kind: frontier.KindSitemap})
	}
	return starts
}

// sitemapLimit is how many page URLs the run's sitemaps may add.
func (r *run) sitemapLimit() int64 {
	limit := int64(maxSitemapURLs)
	if m := r.c.cfg.MaxPages; m > 0 {
		limit = min(limit, int64(m))
	}
	return limit
}

// processSitemap fetches one sitemap document and adds what it lists to
// the frontier: the pages, and the sitemaps of an index one level deeper.
// A document that cannot be fetched or parsed is skipped (a site without
// sitemaps is the common case, not an error); the lease ends Done either
// way, or Release when the crawl is being cut off.
func (w *worker) processSitemap(ctx context.Context, l frontier.Lease) frontier.Outcome {
	c, r := w.c, w.r
	req := l.Request
	out := frontier.Outcome{Lease: l, Status: frontier.Done}
	u, err := url.Parse(req.URL)
	if err != nil {
		return out
	}
	lim := c.cfg.SitemapLimits.WithDefaults()
	add := &sitemapAdder{w: w, parent: req}
	if req.Depth == 0 && req.Parent == "" {
		// The start of an origin: robots.txt names the origin's other
		// sitemaps. An unavailable robots.txt lists nothing.
		if rl, ok := c.cfg.Robots.(sitemapLister); ok {
			origin := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}
			if list, err := rl.Sitemaps(ctx, origin); err == nil {
				for _, s := range list {
					add.sitemap(ctx, s, 0)
				}
			}
		}
	}
	d, err := c.sitemapDecision(ctx, u)
	switch {
	case ctx.Err() != nil:
		return c.cutOff(out)
	case w.proxyRetry(req, err):
		return c.retry(out, req.Attempts, 0)
	case err != nil:
		return add.done(ctx, out)
	}
	out.HostDelay = d.CrawlDelay
	if r.sitemapFiles.Add(1) > int64(lim.MaxFiles) {
		return add.done(ctx, out)
	}
	c.cfg.Observer.FetchStarted()
	r.inFlight.Add(1)
	start := time.Now()
	if w.sitemapHop == nil {
		w.sitemapHop = w.checkSitemapHop
	}
	w.fetchHost, w.redirectTo = frontier.HostOf(req.URL), ""
	resp, err := c.cfg.Fetcher.Fetch(ctx, req.URL, w.sitemapHop)
	r.inFlight.Add(-1)
	defer resp.Release()
	if w.redirectTo != "" && errors.Is(err, fetch.ErrUseLastResponse) {
		err = nil // a Fetcher that does not know ErrUseLastResponse
	}
	class := fetch.ClassOf(err)
	status, n := 0, int64(0)
	if resp != nil {
		status, n = resp.Status, resp.Bytes
	}
	c.cfg.Observer.FetchFinished(status, class, n, time.Since(start))
	switch {
	case ctx.Err() != nil && resp == nil:
		return c.cutOff(out)
	case w.proxyRetry(req, err):
		return c.retry(out, req.Attempts, 0)
	case w.redirectTo != "" && err == nil && (resp == nil || status >= 300 && status < 400):
		// A redirect to another host: the document there is a sitemap
		// request of its own, fetched under that host's lease.
		add.sitemap(ctx, w.redirectTo, req.Depth)
		return add.done(ctx, out)
	case resp == nil, err != nil && class != fetch.ClassTooLarge, status < 200 || status > 299:
		return add.done(ctx, out)
	}
	// A body cut at the cap still yields the entries before the cut.
	for e, err := range sitemap.Read(req.URL, resp.Body, lim) {
		if err != nil || add.full() {
			break
		}
		if e.Index {
			if req.Depth+1 <= lim.MaxDepth {
				add.sitemap(ctx, e.Loc, req.Depth+1)
			}
			continue
		}
		add.page(ctx, e.Loc)
	}
	return add.done(ctx, out)
}

// sitemapAdder adds what one sitemap lists to the frontier in batches,
// counting the pages the frontier took in the run's SitemapURLs. They go
// through Add rather than the outcome's links for that count; Add is
// idempotent, so a sitemap read again after a crash adds nothing twice.
type sitemapAdder struct {
	w        *worker
	parent   frontier.Request
	pages    []frontier.Request
	sitemaps []frontier.Request
	dropped  int
	err      error
}

// full reports whether the run's sitemaps have added as many pages as it
// can use, or adding failed.
func (a *sitemapAdder) full() bool {
	return a.err != nil || a.w.r.sitemapURLs.Load()+int64(len(a.pages)) >= a.w.r.sitemapLimit()
}

// sitemap queues a sitemap document found at depth.
func (a *sitemapAdder) sitemap(ctx context.Context, loc string, depth int) {
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return
	}
	a.sitemaps = append(a.sitemaps, frontier.Request{URL: loc, Depth: depth, Parent: a.parent.URL, Kind: frontier.KindSitemap})
	if len(a.sitemaps) >= sitemapBatch {
		a.flush(ctx)
	}
}

// page queues a page URL a sitemap lists, scoped like a link.
func (a *sitemapAdder) page(ctx context.Context, loc string) {
	c := a.w.c
	canon, err := c.cfg.Normalizer.Canonical(loc)
	if err != nil || !c.scope.allows(canon) {
		a.dropped++
		return
	}
	a.pages = append(a.pages, frontier.Request{URL: canon, Parent: a.parent.URL})
	if len(a.pages) >= sitemapBatch {
		a.flush(ctx)
	}
}

// flush adds the batches to the frontier.
func (a *sitemapAdder) flush(ctx context.Context) {
	r := a.w.r
	for _, b := range []*[]frontier.Request{&a.pages, &a.sitemaps} {
		if len(*b) == 0 || a.err != nil {
			continue
		}
		n, err := r.c.cfg.Frontier.Add(ctx, *b)
		if err != nil {
			a.err = fmt.Errorf("crawler: add sitemap urls: %w", err)
			return
		}
		if b == &a.pages {
			r.sitemapURLs.Add(int64(n))
		}
		*b = (*b)[:0]
	}
}

// done adds what is left and returns the sitemap's outcome: Done, or
// Release when what it lists could not all reach the frontier, so that a
// later run reads it again. A frontier that refuses the URLs stops the
// crawl.
func (a *sitemapAdder) done(ctx context.Context, out frontier.Outcome) frontier.Outcome {
	a.flush(ctx)
	if a.dropped > 0 {
		a.w.c.cfg.Observer.LinksDropped("out_of_scope", a.dropped)
	}
	if a.err != nil {
		if ctx.Err() == nil {
			a.w.d.fail(a.err)
		}
		return a.w.c.cutOff(out)
	}
	return out
}

// checkSitemapHop allows a redirect hop while fetching a sitemap when it
// is http(s) and robots.txt allows it. Sitemap documents are not held to
// the crawl's scope (robots.txt may name a sitemap on another host); the
// URLs they list are. As for pages (see worker.checkHop), a hop to another
// host is not followed: processSitemap queues its target.
func (w *worker) checkSitemapHop(ctx context.Context, u *url.URL) error {
	if canon, err := w.c.cfg.Normalizer.Canonical(u.String()); err == nil && frontier.HostOf(canon) != w.fetchHost {
		w.redirectTo = canon
		return errOtherHost
	}
	_, err := w.c.sitemapDecision(ctx, u)
	return err
}

// sitemapDecision is checkSitemapHop with robots.txt's decision, whose
// Crawl-delay slows the host down.
func (c *Crawler) sitemapDecision(ctx context.Context, u *url.URL) (robots.Decision, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return robots.Decision{}, &hopError{class: fetch.ClassInvalidURL, detail: "sitemap url " + u.String() + " is not http(s)"}
	}
	if c.cfg.Robots == nil {
		return robots.Decision{Allowed: true}, nil
	}
	d, err := c.cfg.Robots.Check(ctx, u)
	if err != nil {
		return d, &hopError{class: ClassRobotsUnavailable, detail: "sitemap's robots.txt: " + err.Error()}
	}
	if !d.Allowed {
		return d, &hopError{class: ClassRobots, detail: "robots.txt disallows sitemap " + u.String()}
	}
	return d, nil
}

// proxyRetry reports whether a sitemap request that failed with err is
// to be tried again: when its proxy failed it (robots.txt's fetch or the
// sitemap's), within Retries, as a page would be. The proxy is benched by
// then, so the next attempt goes through another. Other failures skip the
// sitemap, as before.
func (w *worker) proxyRetry(req frontier.Request, err error) bool {
	if fetch.ClassOf(err) != fetch.ClassProxy || req.Attempts >= w.c.cfg.Retries {
		return false
	}
	w.c.cfg.Observer.Retried(fetch.ClassProxy)
	return true
}
