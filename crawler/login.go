package crawler

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/urlnorm"
)

// Login is an optional step that logs the crawl in to a site (Config.Login);
// login.Form, a form login, implements it. Its methods are called from
// many workers, though Login never twice at once by one crawl.
type Login interface {
	// Login logs in, sending its requests with f, the crawl's Fetcher,
	// whose cookie jar (Config.Jar) keeps the session. It must ask check
	// about each URL before requesting it, and pass check to f for the
	// redirect hops: check applies the crawl's scope and robots.txt, and
	// keeps the login on the host of its URL (a hop elsewhere stops the
	// fetch as fetch.ErrUseLastResponse does). It returns nil when the
	// login worked; its error must not hold a password.
	Login(ctx context.Context, f Fetcher, check func(context.Context, *url.URL) error) error
	// Expired reports whether a fetched page shows that the session is
	// over, so that the crawl logs in again and fetches the page again.
	// redirectTo is the canonical target of a redirect to another host
	// that the fetch stopped at, or "".
	Expired(resp *fetch.Response, redirectTo string) bool
	// URL is the login page. Its host's pages wait for the first login; it
	// is never asked for again after a login because it looks expired.
	URL() string
}

// ErrLogin is wrapped by the error of a crawl stopped because its login
// failed twice in a row.
var ErrLogin = errors.New("crawler: login failed twice in a row")

// session is a run's login state: one login at a time, whatever the
// number of workers that find the session over at once.
type session struct {
	login Login
	// host is the politeness key of the login URL; loginURL its canonical
	// form.
	host, loginURL string

	mu sync.Mutex
	// gen counts the logins that worked: a page fetched under an older one
	// than the current one needs no new login to be fetched again.
	gen uint64
	// wanted says a login must run before the next page of host is
	// fetched (the first one, and after a failed one).
	wanted bool
	// running is closed when the login under way ends; nil when none is.
	running chan struct{}
	// fails counts the logins that failed in a row; err ends the crawl
	// once two have.
	fails int
	err   error
	// retried counts, by URL, the times a page was put back to be
	// fetched again after it showed the session over: past
	// maxLoginRetries it is recorded as it is.
	retried map[string]int
}

// maxLoginRetries is how often one page is fetched again after showing
// the session over. More than one, because a site that ends sessions
// after a few pages may end the new one before the page's turn comes
// again; few, because a page that always looks logged out (a login form
// in its footer, say, matched by Login.Expired) would otherwise make the
// crawl log in for ever.
const maxLoginRetries = 3

// newSession returns the login state of a run, or nil without a Login.
func (c *Crawler) newSession() (*session, error) {
	if c.cfg.Login == nil {
		return nil, nil
	}
	canon, err := c.cfg.Normalizer.Canonical(c.cfg.Login.URL())
	if err != nil {
		return nil, fmt.Errorf("crawler: login URL %q: %w", urlnorm.Redact(c.cfg.Login.URL()), err)
	}
	return &session{
		login: c.cfg.Login, host: frontier.HostOf(canon), loginURL: canon,
		wanted: !c.cfg.LoginSkipFirst, retried: make(map[string]int),
	}, nil
}

// ready returns the generation of the session a page may be fetched
// under, after logging in first, with do, when a login is wanted (or
// waiting for the login under way). ran reports that this call ran a
// login. A non-nil error is the end of the crawl: the second failed login
// in a row, or ctx's end.
func (s *session) ready(ctx context.Context, do func(context.Context) error) (gen uint64, ran bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		switch {
		case s.err != nil:
			return 0, ran, s.err
		case s.running != nil:
			ch := s.running
			s.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
			}
			s.mu.Lock()
			if ctx.Err() != nil {
				return 0, ran, ctx.Err()
			}
			continue
		case !s.wanted:
			return s.gen, ran, nil
		}
		ch := make(chan struct{})
		s.running, s.wanted, ran = ch, false, true
		s.mu.Unlock()
		err := do(ctx)
		s.mu.Lock()
		s.running = nil
		close(ch)
		switch {
		case err == nil:
			s.gen++
			s.fails = 0
		case ctx.Err() != nil:
			s.wanted = true
			return 0, ran, ctx.Err()
		default:
			s.fails++
			s.wanted = true
			if s.fails >= 2 {
				s.err = fmt.Errorf("%w: %w", ErrLogin, err)
			}
		}
	}
}

// expired records that a page fetched under generation gen showed the
// session over: a login is wanted unless one worked since gen. It reports
// whether url may be fetched again (not past maxLoginRetries).
func (s *session) expired(gen uint64, url string) (again bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retried[url] >= maxLoginRetries {
		return false
	}
	s.retried[url]++
	if s.gen == gen && s.running == nil {
		s.wanted = true
	}
	return true
}

// gated reports whether a request must wait for the session: its host is
// the login's.
func (s *session) gated(req frontier.Request) bool {
	return s != nil && req.Kind != frontier.KindSitemap && req.URL != s.loginURL && frontier.HostOf(req.URL) == s.host
}

// loginError is a login request a check refused.
type loginError struct{ msg string }

func (e *loginError) Error() string { return e.msg }

// loginHopError is a redirect of a login request to another host: the
// login stops there, as fetch.ErrUseLastResponse asks.
type loginHopError struct{ target string }

func (e *loginHopError) Error() string {
	return "crawler: " + e.target + " is on another host than the login page"
}

func (e *loginHopError) Unwrap() error { return fetch.ErrUseLastResponse }

// logIn runs the crawl's Login, under the lease the worker holds, with
// the checks of any request: scope and robots.txt, and the login URL's
// host only.
func (w *worker) logIn(ctx context.Context) error {
	c := w.c
	check := func(ctx context.Context, u *url.URL) error {
		canon, ok := c.scope.allowsURL(u)
		if !ok {
			return &loginError{"crawler: " + urlnorm.Redact(u.Redacted()) + " is out of the crawl's scope"}
		}
		if frontier.HostOf(canon) != w.r.session.host {
			return &loginHopError{urlnorm.Redact(u.Redacted())}
		}
		if c.cfg.Robots != nil {
			d, err := c.cfg.Robots.Check(ctx, u)
			if err != nil {
				return fmt.Errorf("crawler: robots.txt of %s: %w", u.Host, err)
			}
			if !d.Allowed {
				c.cfg.Observer.RobotsBlocked()
				return &loginError{"crawler: robots.txt disallows " + urlnorm.Redact(u.Redacted())}
			}
		}
		return nil
	}
	return c.cfg.Login.Login(ctx, c.loginFetcher(), check)
}

// poster is the POST a Login may need of the crawl's Fetcher besides
// Fetch: *fetch.Client has it.
type poster interface {
	Post(ctx context.Context, rawURL, contentType string, body []byte, check func(context.Context, *url.URL) error) (*fetch.Response, error)
}

// loginFetcher is the crawl's Fetcher as its Login sees it: each request
// the login sends is reported to the Observer as a page's is, so that the
// metrics count them too. It can Post when the Fetcher can.
func (c *Crawler) loginFetcher() Fetcher {
	o := observedFetcher{c.cfg.Fetcher, c.cfg.Observer}
	if p, ok := c.cfg.Fetcher.(poster); ok {
		return observedPoster{o, p}
	}
	return o
}

// observedFetcher reports f's fetches to obs.
type observedFetcher struct {
	f   Fetcher
	obs Observer
}

// Fetch implements Fetcher.
func (o observedFetcher) Fetch(ctx context.Context, rawURL string, check func(context.Context, *url.URL) error) (*fetch.Response, error) {
	return o.observe(func() (*fetch.Response, error) { return o.f.Fetch(ctx, rawURL, check) })
}

// observe reports the request send makes, as worker.process reports a
// page's: a response cut short at a redirect the check stopped is not a
// failure.
func (o observedFetcher) observe(send func() (*fetch.Response, error)) (*fetch.Response, error) {
	o.obs.FetchStarted()
	start := time.Now()
	resp, err := send()
	status, n, class := 0, int64(0), ""
	if resp != nil {
		status, n = resp.Status, resp.Bytes
	}
	if err != nil && !(resp != nil && errors.Is(err, fetch.ErrUseLastResponse)) {
		class = fetch.ClassOf(err)
	}
	o.obs.FetchFinished(status, class, n, time.Since(start))
	return resp, err
}

// observedPoster is an observedFetcher that can Post.
type observedPoster struct {
	observedFetcher
	p poster
}

// Post sends a POST through the crawl's Fetcher and reports it.
func (o observedPoster) Post(ctx context.Context, rawURL, contentType string, body []byte, check func(context.Context, *url.URL) error) (*fetch.Response, error) {
	return o.observe(func() (*fetch.Response, error) { return o.p.Post(ctx, rawURL, contentType, body, check) })
}

// loginFirst is called before a gated request is fetched: it waits for
// the session, logging in when a login is wanted. When this worker ran a
// login, the request is handed back (its host's next slot goes to it,
// after the login's own requests); when the login failed for good, the
// crawl stops. ok reports that the request may be fetched now, under
// generation gen.
func (w *worker) loginFirst(ctx context.Context, out frontier.Outcome) (gen uint64, o frontier.Outcome, ok bool) {
	gen, ran, err := w.r.session.ready(ctx, w.logIn)
	switch {
	case err != nil && ctx.Err() == nil:
		w.d.fail(err)
		return 0, w.c.cutOff(out), false
	case err != nil:
		return 0, w.c.cutOff(out), false
	case ran:
		return 0, w.afterLogin(out), false
	}
	return gen, out, true
}

// afterLogin hands the request back to the frontier, to be fetched again
// in the host's next slot: the login's requests took the slot it had.
func (w *worker) afterLogin(out frontier.Outcome) frontier.Outcome {
	out = w.c.cutOff(out)
	out.RetryAt = time.Now().Add(w.c.cfg.HostDelay())
	return out
}

// sessionFor is called before req is fetched, when the crawl logs in:
// it notes in w.loginGen the generation of the session the fetch happens
// under, after waiting for (or running) the login a request of the
// login's host needs. ok false means the request is not fetched now: o
// is its outcome.
func (w *worker) sessionFor(ctx context.Context, req frontier.Request, out frontier.Outcome) (o frontier.Outcome, ok bool) {
	s := w.r.session
	if !s.gated(req) {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.loginGen = s.gen
		return out, true
	}
	gen, o, ok := w.loginFirst(ctx, out)
	w.loginGen = gen
	return o, ok
}

// expiredPage checks a fetched page for the end of the session. When
// the page shows it (and was not fetched again maxLoginRetries times),
// the crawl logs in again, once for all the workers that find it over,
// and the page goes back to the frontier without a record, to be fetched
// again: handled is then true and o is its outcome.
func (w *worker) expiredPage(ctx context.Context, req frontier.Request, out frontier.Outcome, resp *fetch.Response) (o frontier.Outcome, handled bool) {
	s := w.r.session
	if !s.login.Expired(resp, w.redirectTo) || !s.expired(w.loginGen, req.URL) {
		return out, false
	}
	_, ran, err := s.ready(ctx, w.logIn)
	switch {
	case err != nil && ctx.Err() == nil:
		w.d.fail(err)
		return w.c.cutOff(out), true
	case err != nil:
		return w.c.cutOff(out), true
	case ran:
		return w.afterLogin(out), true
	}
	return w.c.cutOff(out), true
}
