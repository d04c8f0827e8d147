package robots

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ErrUnavailable is wrapped by the error Check and Sitemaps return while a
// host's robots.txt is unavailable: the server answered 5xx or 429, and the
// host must not be crawled before Decision.RetryAt (RFC 9309 2.3.1.4); or
// no answer came at all, and the error is also a *FetchError.
var ErrUnavailable = errors.New("robots: robots.txt unavailable")

// FetchError is the error Check and Sitemaps return when a host's
// robots.txt got no answer: the Getter failed (the host name did not
// resolve, the connection or TLS handshake failed, the request timed out).
// Such a host cannot be crawled either; unlike a 5xx answer, the failure is
// not kept: the next Check tries the robots.txt again, so that a caller
// retries it on its own schedule.
//
// errors.Is(err, ErrUnavailable) holds for a *FetchError, and the Getter's
// error stays in the chain, so that the caller can classify it (for
// *fetch.Client, fetch.ClassOf gives "dns", "connect", "tls", …).
type FetchError struct {
	// URL is the robots.txt that could not be fetched.
	URL string
	// Err is the Getter's error.
	Err error
}

// Error returns "robots: robots.txt unavailable: <url>: <err>".
func (e *FetchError) Error() string {
	if e.Err == nil {
		return ErrUnavailable.Error() + ": " + e.URL
	}
	return ErrUnavailable.Error() + ": " + e.URL + ": " + e.Err.Error()
}

// Unwrap returns ErrUnavailable and the Getter's error.
func (e *FetchError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// Defaults applied by New to zero fields of Options.
const (
	defaultUserAgent  = "crawl"
	defaultTTL        = 24 * time.Hour
	defaultRetryAfter = time.Minute
	defaultMaxHosts   = 10_000
	// defaultMaxCrawlDelay is as long as any crawler honours; Google
	// ignores Crawl-delay altogether.
	defaultMaxCrawlDelay = time.Minute
)

// Getter fetches a URL: a GET following a few redirects, returning the final
// status and body. *fetch.Client implements it. A response of any status is
// not an error; a body longer than the Getter wants to read may be returned
// truncated.
type Getter interface {
	Get(ctx context.Context, rawURL string) (status int, body []byte, err error)
}

// Options configures a Cache.
type Options struct {
	// UserAgent is the crawler's User-Agent; its product token (the part
	// before the first "/" or space, e.g. "crawl" in "crawl/0.1 (+https://…)")
	// selects the robots.txt group, case-insensitively. A group matches only
	// if its name equals the token; otherwise the "*" group applies. Zero
	// means "crawl".
	UserAgent string
	// Getter fetches robots.txt files. Required.
	Getter Getter
	// TTL is how long a fetched robots.txt (2xx or 4xx) is used before it is
	// fetched again. Zero means 24h.
	TTL time.Duration
	// RetryAfter is how long a robots.txt that answered 5xx or 429 keeps
	// its host disallowed before it is fetched again. Zero means 1 min. (A
	// robots.txt that got no answer is not kept; see FetchError.)
	RetryAfter time.Duration
	// MaxHosts bounds the number of origins cached; past it, the least
	// recently used is dropped (and fetched again if needed). Zero means
	// 10,000.
	MaxHosts int
	// Store, when set, shares robots.txt files with other Caches (other
	// processes of one crawl): a robots.txt found there is not fetched, and
	// one fetched is saved there. Nil keeps them to this Cache.
	Store Store
	// MaxCrawlDelay caps the Crawl-delay a robots.txt may ask for, so that
	// a site asking for days between requests slows its host down without
	// trapping the crawl. Zero means 60s.
	MaxCrawlDelay time.Duration
}

// Validate reports whether o is usable: Getter is set and no value is
// negative.
func (o Options) Validate() error {
	switch {
	case o.Getter == nil:
		return errors.New("robots: nil Getter")
	case o.TTL < 0:
		return fmt.Errorf("robots: negative TTL %v", o.TTL)
	case o.RetryAfter < 0:
		return fmt.Errorf("robots: negative RetryAfter %v", o.RetryAfter)
	case o.MaxHosts < 0:
		return fmt.Errorf("robots: negative MaxHosts %d", o.MaxHosts)
	case o.MaxCrawlDelay < 0:
		return fmt.Errorf("robots: negative MaxCrawlDelay %v", o.MaxCrawlDelay)
	}
	return nil
}

// Decision is what robots.txt says about one URL.
type Decision struct {
	// Allowed reports whether the URL may be fetched.
	Allowed bool
	// CrawlDelay is the Crawl-delay of the matched group, at most
	// Options.MaxCrawlDelay; zero if none.
	CrawlDelay time.Duration
	// RetryAt is set when robots.txt is unavailable: the time it will be
	// fetched again, before which the host must not be crawled. For a
	// *FetchError it is the time of the failure: the next Check fetches
	// again.
	RetryAt time.Time
}

// Cache holds the robots.txt rules of the hosts being crawled, keyed by
// origin (scheme, host and port). It is safe for concurrent use. Each
// origin's robots.txt is fetched by one caller at a time; others asking
// for that origin wait for the result, while other origins proceed.
//
// Memory is bounded by Options.MaxHosts entries (least recently used out);
// expired entries are replaced when next asked for.
type Cache struct {
	token      string
	getter     Getter
	ttl        time.Duration
	retryAfter time.Duration
	maxHosts   int
	maxDelay   time.Duration // cap on Crawl-delay
	store      Store
	now        func() time.Time // a seam for tests

	mu      sync.Mutex
	entries map[string]*entry
	lru     list.List // of *entry, most recently used first
}

// entry is one origin's robots.txt. The result fields are written once, by
// the caller that fetches, before ready is closed, and only read after.
type entry struct {
	key   string
	ready chan struct{}

	abandoned bool   // the fetcher's ctx ended: ask again
	group     *group // nil: everything allowed
	sitemaps  []string
	err       error     // non-nil: unavailable
	expires   time.Time // when to fetch again

	elem *list.Element // guarded by Cache.mu
}

// New returns a Cache configured by opts; see Options for the defaults. A
// nil Getter makes every Check fail; negative values act as zero.
func New(opts Options) *Cache {
	c := &Cache{
		token:      productToken(opts.UserAgent),
		getter:     opts.Getter,
		ttl:        opts.TTL,
		retryAfter: opts.RetryAfter,
		maxHosts:   opts.MaxHosts,
		maxDelay:   opts.MaxCrawlDelay,
		store:      opts.Store,
		now:        time.Now,
		entries:    make(map[string]*entry),
	}
	if c.ttl <= 0 {
		c.ttl = defaultTTL
	}
	if c.retryAfter <= 0 {
		c.retryAfter = defaultRetryAfter
	}
	if c.maxHosts <= 0 {
		c.maxHosts = defaultMaxHosts
	}
	if c.maxDelay <= 0 {
		c.maxDelay = defaultMaxCrawlDelay
	}
	return c
}

// Check reports whether robots.txt allows u, fetching the robots.txt of u's
// origin if it is not cached. While that robots.txt is unavailable, Check
// returns a Decision that disallows u, with RetryAt set, and an error
// wrapping ErrUnavailable (a *FetchError when there was no answer). If ctx
// ends while Check waits, it returns ctx.Err(). u must be an absolute http
// or https URL.
//
// The rules are matched as RFC 9309 2.2.2 says: against u's path and
// query, percent-encoded like the rules' patterns (see normalize); the
// longest matching pattern decides, counted in octets, and Allow wins a tie.
func (c *Cache) Check(ctx context.Context, u *url.URL) (Decision, error) {
	if u != nil && u.EscapedPath() == "/robots.txt" && u.RawQuery == "" {
		return Decision{Allowed: true}, nil
	}
	e, err := c.lookup(ctx, u)
	if err != nil {
		return Decision{}, err
	}
	if e.err != nil {
		return Decision{RetryAt: e.expires}, e.err
	}
	if e.group == nil {
		return Decision{Allowed: true}, nil
	}
	return Decision{Allowed: e.group.allowed(targetOf(u)), CrawlDelay: min(e.group.delay, c.maxDelay)}, nil
}

// Sitemaps returns the Sitemap URLs listed in the robots.txt of u's origin,
// fetching it if it is not cached. The slice belongs to the caller. Errors
// are those of Check.
func (c *Cache) Sitemaps(ctx context.Context, u *url.URL) ([]string, error) {
	e, err := c.lookup(ctx, u)
	if err != nil {
		return nil, err
	}
	if e.err != nil {
		return nil, e.err
	}
	return append([]string(nil), e.sitemaps...), nil
}

// lookup returns the fresh entry for u's origin, fetching it if need be:
// the first caller to miss fetches, with its own ctx; callers arriving
// meanwhile wait. If the fetcher's ctx ends, the entry is abandoned and a
// waiter takes over.
func (c *Cache) lookup(ctx context.Context, u *url.URL) (*entry, error) {
	if c.getter == nil {
		return nil, errors.New("robots: nil Getter")
	}
	key, err := originOf(u)
	if err != nil {
		return nil, err
	}
	for {
		c.mu.Lock()
		e := c.entries[key]
		if e != nil && e.done() && !c.now().Before(e.expires) {
			c.removeLocked(e)
			e = nil
		}
		if e == nil {
			e = c.addLocked(key)
			c.mu.Unlock()
			c.fill(ctx, e)
			if e.abandoned {
				return nil, ctx.Err()
			}
			return e, nil
		}
		c.lru.MoveToFront(e.elem)
		c.mu.Unlock()

		select {
		case <-e.ready:
			if !e.abandoned {
				return e, nil
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (e *entry) done() bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// addLocked inserts a new, unfilled entry for key, evicting the least
// recently used past maxHosts. An evicted entry still being fetched is
// only forgotten: its waiters get its result.
func (c *Cache) addLocked(key string) *entry {
	e := &entry{key: key, ready: make(chan struct{})}
	e.elem = c.lru.PushFront(e)
	c.entries[key] = e
	for c.lru.Len() > c.maxHosts {
		c.removeLocked(c.lru.Back().Value.(*entry))
	}
	return e
}

func (c *Cache) removeLocked(e *entry) {
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
	c.lru.Remove(e.elem)
}

// fill fetches and parses e's robots.txt, then closes e.ready.
func (c *Cache) fill(ctx context.Context, e *entry) {
	defer close(e.ready)
	robotsURL := e.key + "/robots.txt"
	status, body, shared, err := c.fetch(ctx, e.key, robotsURL)
	if err != nil && ctx.Err() != nil {
		// Not the host's fault: do not cache it.
		c.mu.Lock()
		e.abandoned = true
		c.removeLocked(e)
		c.mu.Unlock()
		return
	}
	now := c.now()
	switch {
	case err != nil:
		// No answer: the Getter's error stays in the chain, so that a
		// caller can tell why. Kept for the callers waiting on this fetch
		// only: whoever asks next fetches again.
		e.err = &FetchError{URL: robotsURL, Err: err}
		e.expires = now
	case status >= 200 && status < 300:
		e.group, e.sitemaps = parse(body, c.token)
		e.expires = now.Add(c.ttl)
	case status >= 300 && status < 500 && status != 429:
		// RFC 9309 2.3.1.3: "unavailable" (4xx, and redirects past the
		// Getter's limit) means no restrictions.
		e.expires = now.Add(c.ttl)
	default:
		// RFC 9309 2.3.1.4: "unreachable" (5xx) means complete disallow.
		// 429 is treated the same way: the server is overloaded, and
		// reading it as "no rules" would be the impolite choice.
		e.err = fmt.Errorf("%w: %s: status %d", ErrUnavailable, robotsURL, status)
		e.expires = now.Add(c.retryAfter)
	}
	if !shared.IsZero() {
		e.expires = shared // fetched by another Cache: expire with its copy
	}
}

// originOf returns the cache key of u: scheme://host[:port], lowercased,
// without a default port.
func originOf(u *url.URL) (string, error) {
	if u == nil {
		return "", errors.New("robots: nil URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("robots: %q is not an absolute http(s) URL", u.Redacted())
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return scheme + "://" + host, nil
	}
	return scheme + "://" + net.JoinHostPort(host, port), nil
}

// productToken returns the lowercased product token of the crawler's
// User-Agent, that of defaultUserAgent if ua is empty.
func productToken(ua string) string {
	if ua == "" {
		ua = defaultUserAgent
	}
	return tokenOf(ua)
}

// tokenOf returns the lowercased product token of a User-Agent or of a
// robots.txt User-agent value: what comes before the first "/" or white
// space ("crawl" for "crawl/0.1 (+https://…)", "foo" for "Foo Bar").
func tokenOf(ua string) string {
	if i := strings.IndexAny(ua, "/ \t"); i >= 0 {
		ua = ua[:i]
	}
	return strings.ToLower(ua)
}
