package crawler

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/robots"
	"github.com/hivecrawl/crawl/sitemap"
)

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

// seedSitemaps adds the URLs listed in the sitemaps of the seeds' origins
// to the frontier, scoped like links, and returns how many it added.
// Sitemap documents that cannot be fetched or parsed are skipped: a site
// without sitemaps is the common case, not an error. Only ctx ending stops
// it early.
func (c *Crawler) seedSitemaps(ctx context.Context, seeds []frontier.Request) (int64, error) {
	var starts []string
	done := make(map[string]bool)
	for _, s := range seeds {
		u, err := url.Parse(s.URL)
		if err != nil || done[u.Host] {
			continue
		}
		done[u.Host] = true
		origin := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}
		if rl, ok := c.cfg.Robots.(sitemapLister); ok {
			// An unavailable robots.txt lists nothing; the pages will wait
			// for it anyway.
			if list, err := rl.Sitemaps(ctx, origin); err == nil {
				starts = append(starts, list...)
			}
		}
		starts = append(starts, u.Scheme+"://"+u.Host+"/sitemap.xml")
	}
	limit := int64(maxSitemapURLs)
	if c.cfg.MaxPages > 0 {
		limit = min(limit, int64(c.cfg.MaxPages))
	}
	var added, dropped int64
	batch := make([]frontier.Request, 0, sitemapBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := c.cfg.Frontier.Add(ctx, batch)
		added += int64(n)
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("crawler: add sitemap urls: %w", err)
		}
		return nil
	}
	g := &sitemapGetter{c: c, last: make(map[string]time.Time)}
	for e, err := range sitemap.Walk(ctx, g, c.cfg.SitemapLimits, starts...) {
		if added+int64(len(batch)) >= limit {
			break // enough to fill the crawl's budget
		}
		if err != nil {
			if ctx.Err() != nil {
				return added, ctx.Err()
			}
			continue
		}
		canon, err := c.cfg.Normalizer.Canonical(e.Loc)
		if err != nil || !c.scope.allows(canon) {
			dropped++
			continue
		}
		batch = append(batch, frontier.Request{URL: canon, Parent: e.Sitemap})
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return added, err
			}
		}
	}
	if dropped > 0 {
		c.cfg.Observer.LinksDropped("out_of_scope", int(dropped))
	}
	return added, flush()
}

// sitemapGetter fetches sitemap documents with the crawl's fetcher: robots
// rules apply to them and to each redirect hop, the body cap is
// MaxBodyBytes, and the Observer sees the requests. Sitemaps do not go
// through the frontier: they are requests made before the crawl starts,
// one at a time, each host's spaced by its delay (the crawl's rate, or a
// longer Crawl-delay) as the frontier would space them.
type sitemapGetter struct {
	c    *Crawler
	last map[string]time.Time // host -> when its last sitemap was asked for
}

func (g *sitemapGetter) Get(ctx context.Context, raw string) (int, []byte, error) {
	c := g.c
	u, err := url.Parse(raw)
	if err != nil {
		return 0, nil, fmt.Errorf("crawler: sitemap url: %w", err)
	}
	d, err := c.sitemapDecision(ctx, u)
	if err != nil {
		return 0, nil, err
	}
	delay := max(c.cfg.HostDelay(), d.CrawlDelay)
	if last, ok := g.last[u.Host]; ok {
		if err := sleepCtx(ctx, time.Until(last.Add(delay))); err != nil {
			return 0, nil, err
		}
	}
	g.last[u.Host] = time.Now()
	c.cfg.Observer.FetchStarted()
	start := time.Now()
	resp, err := c.cfg.Fetcher.Fetch(ctx, raw, c.checkSitemapHop)
	class := fetch.ClassOf(err)
	status, n := 0, int64(0)
	if resp != nil {
		status, n = resp.Status, resp.Bytes
	}
	c.cfg.Observer.FetchFinished(status, class, n, time.Since(start))
	switch {
	case resp == nil:
		return 0, nil, err
	case err != nil && class != fetch.ClassTooLarge:
		return status, nil, err
	}
	// A body cut at the cap still yields the entries before the cut.
	return resp.Status, resp.Body, nil
}

// checkSitemapHop allows a sitemap URL, or a redirect hop while fetching
// one, when it is http(s) and robots.txt allows it. Sitemap documents are
// not held to the crawl's scope (robots.txt may name a sitemap on another
// host); the URLs they list are.
func (c *Crawler) checkSitemapHop(ctx context.Context, u *url.URL) error {
	_, err := c.sitemapDecision(ctx, u)
	return err
}

// sitemapDecision is checkSitemapHop with robots.txt's decision, whose
// Crawl-delay spaces the host's sitemap fetches.
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

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
