package crawler

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/robots"
	"github.com/hivecrawl/crawl/urlnorm"
)

// Crawler runs crawls. Build it with New; it is safe to read its Progress
// while Run is under way, but Run must not be called twice at once.
//
// A Crawler keeps no state from one run to the next: each Run or Pages call
// starts with its own counters and budgets, so a Crawler may be used again
// once its previous run has returned.
type Crawler struct {
	cfg   Config
	scope *scope
	cur   atomic.Pointer[run] // the run under way, or the last one
}

// New checks cfg and builds a Crawler, filling nil components with the
// project's defaults.
func New(cfg Config) (*Crawler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Frontier == nil {
		// Its lease time is the ordinary one: the run renews the leases its
		// workers hold, however long a Pages loop or Handler keeps them.
		cfg.Frontier = frontier.NewMemory(cfg.FrontierOptions())
	}
	if cfg.Fetcher == nil {
		opts := fetch.Options{
			UserAgent:       cfg.UserAgent,
			Timeout:         cfg.Timeout,
			MaxBodyBytes:    cfg.MaxBodyBytes,
			MaxConnsPerHost: cfg.PerHost,
			DenyPrivate:     cfg.DenyPrivate,
			Jar:             cfg.Jar,
			Proxy:           cfg.Proxy,
			ProxyFeedback:   cfg.ProxyFeedback,
		}
		if cfg.Header != nil || cfg.BasicAuth != nil {
			opts.Header, opts.SecretHeaders = cfg.Header, cfg.SecretHeaders
			// The seeds' origins are added by Run, AuthHosts' here; until
			// then credential headers go nowhere.
			opts.LimitHeaderOrigins = true
			for _, h := range cfg.AuthHosts {
				origins, _ := authOrigins(h) // Validate reports the bad ones
				opts.HeaderOrigins = append(opts.HeaderOrigins, origins...)
			}
			if cfg.BasicAuth != nil {
				opts.Credentials = make(map[string]*url.Userinfo, len(opts.HeaderOrigins))
				for _, o := range opts.HeaderOrigins {
					opts.Credentials[o] = cfg.BasicAuth
				}
			}
		}
		cfg.Fetcher = fetch.New(opts)
	}
	if cfg.Robots == nil && !cfg.IgnoreRobots {
		// robots.txt is fetched with the crawl's Fetcher, whichever it is.
		g, ok := cfg.Fetcher.(robots.Getter)
		if !ok {
			g = fetcherGetter{cfg.Fetcher}
		}
		cfg.Robots = robots.New(robots.Options{UserAgent: cfg.UserAgent, Getter: g, Store: cfg.RobotsStore})
	}
	if cfg.IgnoreRobots {
		cfg.Robots = nil
	}
	if cfg.Parser == nil {
		cfg.Parser = parse.HTML{Normalizer: cfg.Normalizer, MaxLinks: cfg.MaxLinks}
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	return &Crawler{
		cfg:   cfg,
		scope: newScope(cfg.Scope, cfg.Include, cfg.Exclude, cfg.Normalizer),
	}, nil
}

// Progress is a live snapshot of a running crawl.
type Progress struct {
	// Done, Failed and Blocked count pages recorded so far as Summary
	// counts them.
	Done, Failed, Blocked int64
	// InFlight counts the requests under way.
	InFlight int64
}

// Progress returns the counters of the crawl under way (or the last one);
// zero before the first.
func (c *Crawler) Progress() Progress {
	if r := c.cur.Load(); r != nil {
		return r.progress()
	}
	return Progress{}
}

// ErrNoStats is returned by FrontierStats for a Frontier without a Stats
// method.
var ErrNoStats = errors.New("crawler: frontier reports no stats")

// FrontierStats returns the frontier's own counters (queued, leased, hosts,
// duplicates), for metrics and progress. Every backend of package frontier
// reports them; a Frontier without a Stats method gives ErrNoStats. Unlike
// Progress it asks the backend, which may block (a remote store), so it
// takes ctx.
func (c *Crawler) FrontierStats(ctx context.Context) (frontier.Stats, error) {
	s, ok := c.cfg.Frontier.(interface {
		Stats(context.Context) (frontier.Stats, error)
	})
	if !ok {
		return frontier.Stats{}, ErrNoStats
	}
	return s.Stats(ctx)
}

// Run crawls from seeds until the frontier is drained, MaxPages is reached,
// or ctx ends. When ctx ends, workers stop leasing and requests in flight
// get Config.Grace to finish; those cut off are handed back to the frontier
// for a later run. Seeds must be absolute http(s) URLs; a resumed crawl may
// pass none. Run returns ctx's error when it was stopped early.
func (c *Crawler) Run(ctx context.Context, seeds ...string) (Summary, error) {
	return c.run(ctx, c.cfg.Handler, c.cfg.Grace, seeds)
}

// run is Run with the run's own handler and grace period (Pages brings
// its own).
func (c *Crawler) run(ctx context.Context, h Handler, grace time.Duration, seeds []string) (_ Summary, err error) {
	r := c.newRun(h)
	if r.session, err = c.newSession(); err != nil {
		return Summary{}, err
	}
	c.cur.Store(r)
	defer func() {
		// Whatever stopped the crawl, nothing it recorded stays in a buffer.
		if f, ok := c.cfg.Handler.(Flusher); ok {
			if ferr := f.Flush(); ferr != nil && err == nil {
				err = fmt.Errorf("crawler: flush records: %w", ferr)
			}
		}
	}()
	start := time.Now()
	reqs := make([]frontier.Request, 0, len(seeds))
	for _, s := range seeds {
		canon, err := c.cfg.Normalizer.Canonical(s)
		if err != nil {
			return Summary{}, fmt.Errorf("crawler: seed %q: %w", urlnorm.Redact(s), err)
		}
		if err := c.seedAuth(canon); err != nil {
			return Summary{}, err
		}
		if err := c.seedCredentials(s, canon); err != nil {
			return Summary{}, err
		}
		c.scope.addSeed(canon)
		reqs = append(reqs, frontier.Request{URL: canon})
	}
	if _, err := c.cfg.Frontier.Add(ctx, reqs); err != nil {
		return Summary{}, fmt.Errorf("crawler: add seeds: %w", err)
	}
	if c.cfg.Sitemaps {
		// Sitemaps are fetched through the frontier, like pages.
		if _, err := c.cfg.Frontier.Add(ctx, sitemapStarts(reqs)); err != nil {
			return Summary{}, fmt.Errorf("crawler: add sitemaps: %w", err)
		}
	}

	// Requests in flight run under fetchCtx, which outlives ctx by the grace
	// period; leasing stops as soon as ctx ends.
	fetchCtx, cancelFetch := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFetch()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelFetch()
		case <-fetchCtx.Done():
		}
	})
	defer stopGrace()

	// Leasing stops when ctx ends or the crawl fails; completions go on
	// until every worker's outcome has landed.
	leaseCtx, stopLeasing := context.WithCancel(ctx)
	defer stopLeasing()
	d := newDispatch(r, stopLeasing)
	var leaser, completer, workers sync.WaitGroup
	leaser.Go(func() { d.lease(leaseCtx) })
	// Completions go on after ctx ends, while requests finish in the grace
	// period and a little longer, but not for ever.
	completeCtx, stopCompleting := outlive(ctx, grace+completeSlack)
	defer stopCompleting()
	completer.Go(func() { d.complete(completeCtx) })
	for range c.cfg.Concurrency {
		workers.Go(func() { d.work(fetchCtx) })
	}
	workers.Wait()
	leaser.Wait()
	close(d.done)
	completer.Wait()
	cancelFetch()
	sum := r.summary()
	sum.Elapsed = time.Since(start)
	if d.err != nil {
		return sum, d.err
	}
	return sum, ctx.Err()
}

// completeSlack is how long completions may go on after the grace period
// of a stopped crawl: enough for a frontier that answers to take the last
// outcomes, short enough that one that does not answer keeps no process
// from stopping.
const completeSlack = 2 * time.Second

// outlive returns a context that ends d after ctx ends (or when stop is
// called), for work that must go on a while after a crawl is stopped.
func outlive(ctx context.Context, d time.Duration) (_ context.Context, stop func()) {
	octx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stopTimer := context.AfterFunc(ctx, func() {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-octx.Done():
		}
	})
	return octx, func() {
		stopTimer()
		cancel()
	}
}

// worker holds one worker's scratch space.
type worker struct {
	c *Crawler
	r *run
	d *dispatch
	// linkBuf holds the links of the outcome being built; it travels with
	// the outcome to the completer, which recycles it.
	linkBuf *[]frontier.Request
	// The current URL's response and parsed page, kept for the run's
	// Handler only.
	resp     *fetch.Response
	parsed   *parse.Page
	rendered *fetch.Rendered
	// counted reports that the current URL was recorded as a page (done
	// or failed): it keeps its MaxPages slot.
	counted bool
	// page is reused for every Page handed to a borrowing Handler.
	page Page
	// hop is checkHop bound to this worker, made once; fetchHost and
	// redirectTo are its state for the fetch under way: the politeness
	// key (frontier.HostOf) of the URL fetched, and the canonical target
	// of the redirect to another host the fetch stopped at, if any.
	hop        func(context.Context, *url.URL) error
	sitemapHop func(context.Context, *url.URL) error // checkSitemapHop, likewise
	fetchHost  string
	redirectTo string
	// loginGen is the generation of the login session the fetch under way
	// happens under (see session), when the crawl logs in.
	loginGen uint64
}

// fetcherGetter lets the robots.txt cache fetch with a Fetcher that has
// no Get method of its own. A body cut at the Fetcher's cap is returned
// without error, as robots.Getter allows.
type fetcherGetter struct{ f Fetcher }

func (g fetcherGetter) Get(ctx context.Context, rawURL string) (int, []byte, error) {
	resp, err := g.f.Fetch(ctx, rawURL, func(context.Context, *url.URL) error { return nil })
	switch {
	case resp == nil:
		return 0, nil, err
	case err != nil && fetch.ClassOf(err) != fetch.ClassTooLarge:
		return 0, nil, err
	}
	return resp.Status, resp.Body, nil
}

// hopError is a redirect hop refused by scope or robots.
type hopError struct{ class, detail string }

func (e *hopError) Error() string { return e.detail }

// Class returns the error class, which package fetch keeps.
func (e *hopError) Class() string { return e.class }

// isUnreachable reports whether a robots.txt check failed because the host
// gave no answer, rather than answering 5xx.
func isUnreachable(err error) bool {
	var fe *robots.FetchError
	return errors.As(err, &fe)
}

// errOtherHost stops a fetch at a redirect to another host (see checkHop).
var errOtherHost = fmt.Errorf("crawler: redirect to another host: %w", fetch.ErrUseLastResponse)

// checkHop re-checks a redirect target against scope, canonicalized as
// links are, then robots.txt. A hop to another host (another politeness
// key, frontier.HostOf, than the URL fetched: http to https on default
// ports keeps the key, another port does not) is not followed: the fetch
// stops at the redirect, and process queues the target, kept in
// w.redirectTo, as a request of its own, so that the other host gets it,
// and its robots.txt, under a lease on that host, within its in-flight
// cap and rate. Hops on the same host run under the host's own lease, and
// are followed.
func (w *worker) checkHop(ctx context.Context, u *url.URL) error {
	c := w.c
	canon, ok := c.scope.allowsURL(u)
	if !ok {
		return &hopError{class: ClassOutOfScope, detail: "redirect to " + urlnorm.Redact(u.String()) + " is out of scope"}
	}
	if frontier.HostOf(canon) != w.fetchHost {
		w.redirectTo = canon
		return errOtherHost
	}
	if c.cfg.Robots != nil {
		d, err := c.cfg.Robots.Check(ctx, u)
		if err != nil {
			class := ClassRobotsUnavailable
			if fc := fetch.ClassOf(err); fc == fetch.ClassDenied || isUnreachable(err) {
				class = fc
			}
			return &hopError{class: class, detail: "redirect target's robots.txt: " + err.Error()}
		}
		if !d.Allowed {
			return &hopError{class: ClassRobots, detail: "robots.txt disallows redirect to " + urlnorm.Redact(u.String())}
		}
	}
	return nil
}

// process handles one lease and returns its outcome. It writes the URL's
// record unless the request will be retried or the crawl is being cut off.
func (w *worker) process(ctx context.Context, l frontier.Lease) frontier.Outcome {
	if l.Request.Kind == frontier.KindSitemap {
		return w.processSitemap(ctx, l)
	}
	c, r := w.c, w.r
	req := l.Request
	out := frontier.Outcome{Lease: l, Status: frontier.Done}
	// FetchedAt is the attempt's time, also for a URL not fetched (refused
	// by robots.txt, its host unreachable); a fetch sets it again.
	res := Result{URL: req.URL, Depth: req.Depth, Parent: req.Parent, Attempts: req.Attempts + 1, FetchedAt: time.Now().UTC()}
	w.resp, w.parsed, w.rendered = nil, nil, nil
	asset := isAsset(req)
	if asset {
		res.Depth, res.Asset = -req.Depth, true
	}

	u, err := url.Parse(req.URL)
	if err != nil {
		res.Error, res.Detail = fetch.ClassInvalidURL, err.Error()
		return w.finish(ctx, out, &res)
	}
	if fw, ok := w.forwardIgnored(out, req); ok {
		return fw
	}
	// The budget counts URLs, not attempts: a retry was counted on its first
	// attempt, and must reach its record.
	if !asset && req.Attempts == 0 && r.overHostBudget(u.Host) {
		// Dropped silently: the host's page budget is spent. The URL was
		// not attempted, so it gives back its MaxPages slot.
		return out
	}
	if c.cfg.Robots != nil {
		d, err := c.cfg.Robots.Check(ctx, u)
		switch {
		case ctx.Err() != nil:
			return c.cutOff(out)
		case fetch.ClassOf(err) == fetch.ClassDenied:
			// DenyPrivate refused the host's address: it will not change by
			// waiting, so this is final.
			res.Error, res.Detail = fetch.ClassDenied, err.Error()
			return w.finish(ctx, out, &res)
		case isUnreachable(err):
			// No answer for robots.txt (DNS, connect, TLS, timeout): the
			// host failed, and the URL fails as its fetch would have, with
			// the same class, retries and backoff.
			class := fetch.ClassOf(err)
			res.Error, res.Detail = class, err.Error()
			if fetch.Retryable(class) && req.Attempts < c.cfg.Retries {
				c.cfg.Observer.Retried(class)
				return c.retry(out, req.Attempts, 0)
			}
			return w.finish(ctx, out, &res)
		case errors.Is(err, robots.ErrUnavailable):
			if req.Attempts < c.cfg.Retries {
				c.cfg.Observer.Retried(ClassRobotsUnavailable)
				out.Status = frontier.Retry
				out.RetryAt = d.RetryAt
				return out
			}
			res.Error, res.Detail = ClassRobotsUnavailable, err.Error()
			return w.finish(ctx, out, &res)
		case err != nil:
			res.Error, res.Detail = ClassRobotsUnavailable, err.Error()
			return w.finish(ctx, out, &res)
		case !d.Allowed:
			c.cfg.Observer.RobotsBlocked()
			res.Error, res.Detail = ClassRobots, "disallowed by robots.txt"
			return w.finish(ctx, out, &res)
		}
		out.HostDelay = d.CrawlDelay
	}

	if r.session != nil {
		if o, ok := w.sessionFor(ctx, req, out); !ok {
			return o
		}
	}

	c.cfg.Observer.FetchStarted()
	r.inFlight.Add(1)
	res.FetchedAt = time.Now().UTC()
	if w.hop == nil {
		w.hop = w.checkHop
	}
	w.fetchHost, w.redirectTo = frontier.HostOf(req.URL), ""
	resp, err := c.cfg.Fetcher.Fetch(ctx, req.URL, w.hop)
	if w.redirectTo != "" && errors.Is(err, fetch.ErrUseLastResponse) {
		// A Fetcher that does not know ErrUseLastResponse stopped with
		// the check's error: the redirect is recorded without its response.
		err = nil
	}
	w.resp = resp // for the Handler
	if r.handler == nil || r.borrows {
		// Nothing outlives this call that refers to the body: the record
		// and the links are copies, the parsed page is dropped, and a
		// borrowing Handler is done with the Page when finish returns.
		defer resp.Release()
	}
	r.inFlight.Add(-1)
	if ctx.Err() != nil && (err != nil || resp == nil) {
		c.cfg.Observer.FetchFinished(0, fetch.ClassCanceled, 0, time.Since(res.FetchedAt))
		return c.cutOff(out)
	}
	class := fetch.ClassOf(err)
	if resp != nil {
		res.FinalURL = resp.FinalURL
		res.Status = resp.Status
		res.ContentType = resp.ContentType
		res.Bytes = resp.Bytes
		res.DurationMS = resp.Duration.Milliseconds()
	} else {
		res.DurationMS = time.Since(res.FetchedAt).Milliseconds()
	}
	c.cfg.Observer.FetchFinished(res.Status, class, res.Bytes, time.Since(res.FetchedAt))
	if r.session != nil && err == nil {
		if o, handled := w.expiredPage(ctx, req, out, resp); handled {
			return o
		}
	}

	if w.redirectTo != "" && err == nil && (resp == nil || resp.Status >= 300 && resp.Status < 400) {
		// A redirect to another host: the target is queued as a link is,
		// at this URL's depth (a redirect leads no deeper into the site).
		res.RedirectTo = w.redirectTo
		out.Links = w.follow(req, req.Depth, []string{w.redirectTo})
		return w.finish(ctx, out, &res)
	}

	switch {
	case err != nil:
		res.Error, res.Detail = class, err.Error()
		if fetch.Retryable(class) && req.Attempts < c.cfg.Retries {
			c.cfg.Observer.Retried(class)
			return c.retry(out, req.Attempts, 0)
		}
		if resp != nil && class != fetch.ClassTooLarge {
			return w.finish(ctx, out, &res)
		}
		return w.finish(ctx, out, &res)
	case resp.Status == 429 || resp.Status >= 500:
		if req.Attempts < c.cfg.Retries {
			if resp.Status == 429 {
				c.cfg.Observer.Retried(fetch.ClassHTTP429)
			} else {
				c.cfg.Observer.Retried(ClassHTTP5xx)
			}
			return c.retry(out, req.Attempts, resp.RetryAfter)
		}
		res.Error = ClassHTTP5xx
		if resp.Status < 500 {
			res.Error = ClassHTTP4xx
		}
		res.Detail = fmt.Sprintf("HTTP %d after %d attempts", resp.Status, res.Attempts)
		if resp.RetryAfter > 0 {
			// The URL is given up, but the host asked for time: it gets it.
			out.RetryAt = time.Now().Add(resp.RetryAfter)
		}
		return w.finish(ctx, out, &res)
	case resp.Status >= 400:
		res.Error, res.Detail = ClassHTTP4xx, fmt.Sprintf("HTTP %d", resp.Status)
		return w.finish(ctx, out, &res)
	}

	if !asset && resp.Status < 300 && parse.IsHTML(resp.ContentType, resp.Body) {
		base, err := url.Parse(resp.FinalURL)
		if err != nil {
			base = u
		}
		page, stop, err := w.parsePage(ctx, &out, &res, req, resp, base)
		if stop {
			return out
		}
		if err != nil {
			res.Error, res.Detail = ClassParse, err.Error()
			return w.finish(ctx, out, &res)
		}
		res.Title = page.Title
		res.Links = page.Found
		res.LinksTruncated = page.Truncated
		w.noteCanonical(&out, &res, req, resp, page)
		out.Links = w.discover(req, page.Links)
		if c.cfg.Assets {
			out.Links = w.withAssets(req, out.Links, page.Assets)
		}
		if r.handler != nil {
			w.parsed = page
		}
	} else if !asset && resp.Status < 300 {
		w.noteCanonical(&out, &res, req, resp, nil)
	}
	if asset && c.cfg.Assets {
		out.Links = w.stylesheetAssets(req, resp) // a style sheet's url() and @import
	}
	return w.finish(ctx, out, &res)
}

// discover turns a page's links into in-scope requests one level deeper,
// in the worker's link buffer (the frontier does not retain it).
func (w *worker) discover(parent frontier.Request, links []string) []frontier.Request {
	c := w.c
	depth := parent.Depth + 1
	if c.cfg.MaxDepth > 0 && depth > c.cfg.MaxDepth {
		if len(links) > 0 {
			c.cfg.Observer.LinksDropped("max_depth", len(links))
		}
		return nil
	}
	return w.follow(parent, depth, links)
}

// follow turns canonical links (a page's, or the target of its redirect
// to another host) into in-scope requests at depth, with parent as their
// Parent, in the worker's link buffer: the parameters learned as ignored
// are dropped first, and the frontier dedups what it is given.
func (w *worker) follow(parent frontier.Request, depth int, links []string) []frontier.Request {
	c := w.c
	out := w.linkScratch()
	for _, link := range links {
		link = w.r.ignored.Apply(link) // learned from rel=canonical
		if !c.scope.allows(link) {
			continue
		}
		out = append(out, frontier.Request{URL: link, Depth: depth, Parent: parent.URL})
	}
	if n := len(links) - len(out); n > 0 {
		c.cfg.Observer.LinksDropped("out_of_scope", n)
	}
	return w.keepLinks(out)
}

// linkScratch returns an empty slice, from the dispatch's pool, to build
// the current outcome's links in.
func (w *worker) linkScratch() []frontier.Request {
	if w.linkBuf == nil {
		w.linkBuf = w.d.linkBufs.Get().(*[]frontier.Request)
	}
	return (*w.linkBuf)[:0]
}

// keepLinks records links, built from linkScratch, as the outcome's, so
// that the memory they grew into is recycled with them.
func (w *worker) keepLinks(links []frontier.Request) []frontier.Request {
	*w.linkBuf = links
	return links
}

// retry schedules another attempt after an exponential backoff with jitter,
// or after retryAfter when the server asked for longer.
func (c *Crawler) retry(out frontier.Outcome, attempts int, retryAfter time.Duration) frontier.Outcome {
	backoff := c.cfg.RetryBackoff << min(attempts, 10)
	backoff = backoff/2 + rand.N(backoff) // jitter in [0.5, 1.5)
	out.Status = frontier.Retry
	out.RetryAt = time.Now().Add(max(backoff, retryAfter))
	return out
}

// cutOff hands a request back to the frontier because the crawl is
// stopping: it will be attempted again on resume, and no record is written.
// It does not count as an attempt.
func (c *Crawler) cutOff(out frontier.Outcome) frontier.Outcome {
	out.Status = frontier.Release
	out.Links = nil
	return out
}
