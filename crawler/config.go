package crawler

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/robots"
	"github.com/hivecrawl/crawl/sitemap"
	"github.com/hivecrawl/crawl/urlnorm"
)

// Frontier is the work queue the crawler consumes; frontier.Memory and the
// other backends implement it. Complete must not retain the Links slices it
// is given. The crawler renews the leases its workers hold (Renew) every
// third of their lease time, read off Lease.Expires, so that a worker held
// up by a slow Handler or Pages loop keeps its URL.
type Frontier interface {
	Add(ctx context.Context, reqs []frontier.Request) (int, error)
	Lease(ctx context.Context, max int) ([]frontier.Lease, error)
	Renew(ctx context.Context, leases []frontier.Lease) error
	Complete(ctx context.Context, outcomes []frontier.Outcome) error
}

// Fetcher fetches one URL, calling check on every redirect hop before it
// follows it. *fetch.Client implements it. check stops a fetch at a
// redirect to another host with an error matching fetch.ErrUseLastResponse
// (the crawler queues the target as a request of its own): the Fetcher
// should then return the redirect as its Response, with a nil error; one
// that returns the error records the redirect without its status.
type Fetcher interface {
	Fetch(ctx context.Context, rawURL string, check func(context.Context, *url.URL) error) (*fetch.Response, error)
}

// Parser turns an HTML body into links and page facts. parse.HTML
// implements it. Parse must not keep body, or anything that shares its
// memory, after it returns: the crawler reuses the buffer.
type Parser interface {
	Parse(pageURL *url.URL, contentType string, body []byte) (*parse.Page, error)
}

// Robots decides whether robots.txt allows a URL. *robots.Cache implements
// it.
type Robots interface {
	Check(ctx context.Context, u *url.URL) (robots.Decision, error)
}

// Observer is told about the crawl as it happens (metrics, progress). Its
// methods are called from many workers at once and must be cheap and safe
// for concurrent use. Embed NopObserver to implement only some of them.
type Observer interface {
	// FetchStarted is called when a request goes out.
	FetchStarted()
	// FetchFinished is called when it ends: status is 0 when no response
	// came; class is the error class or "".
	FetchFinished(status int, class string, bytes int64, d time.Duration)
	// Retried is called when a request is put back for another attempt
	// because of class, one of fetch.RetryClasses.
	Retried(class string)
	// RobotsBlocked is called for each URL robots.txt disallows.
	RobotsBlocked()
	// LinksDropped is called with links found on a page that are not
	// followed, by reason: "out_of_scope" or "max_depth".
	LinksDropped(reason string, n int)
	// Waited is called with the time a worker waited for the frontier to
	// hand it work (politeness and an empty queue both count).
	Waited(d time.Duration)
}

// NopObserver does nothing; embed it in an Observer that cares about only
// some events.
type NopObserver struct{}

// FetchStarted implements Observer.
func (NopObserver) FetchStarted() {}

// FetchFinished implements Observer.
func (NopObserver) FetchFinished(int, string, int64, time.Duration) {}

// Retried implements Observer.
func (NopObserver) Retried(string) {}

// RobotsBlocked implements Observer.
func (NopObserver) RobotsBlocked() {}

// LinksDropped implements Observer.
func (NopObserver) LinksDropped(string, int) {}

// Waited implements Observer.
func (NopObserver) Waited(time.Duration) {}

// Version is the crawler's version, part of the default user agent.
const Version = "0.1.0"

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "crawl/" + Version + " (+https://github.com/hivecrawl/crawl)"

// Scope modes.
const (
	ScopeHost   = "host"   // only the seeds' hosts (host and port)
	ScopeDomain = "domain" // the seeds' registrable domains and their subdomains
	ScopeAny    = "any"    // every http(s) URL
)

// Config configures a Crawler. It is plain data. Start from DefaultConfig,
// which holds the command line's defaults: a zero field means what the
// same flag set to zero means on the command line (Rate 0 is unlimited,
// Retries 0 none, MaxLinks 0 no cap, Grace 0 none), so the zero Config is
// not polite. Each field's comment gives its zero value and, in brackets,
// the command line's default (DefaultConfig's). Nil interface fields are
// filled with the project's components by New.
type Config struct {
	// Concurrency is the number of workers, at most MaxConcurrency. Zero
	// means 16. [--concurrency 16]
	Concurrency int
	// PerHost caps requests in flight per host. Zero means 2. [--per-host 2]
	PerHost int
	// Rate is requests per second per host. Zero means unlimited, as does
	// a negative rate. [--rate 5]
	Rate float64
	// Scheduler orders requests; nil means breadth first. Its HostDelay is
	// used as is, so a custom scheduler should include the rate's delay.
	// [--order bfs: breadth first]
	Scheduler frontier.Scheduler
	// UserAgent is sent with every request and matched against robots.txt
	// groups by its product token. Empty means DefaultUserAgent.
	// [--user-agent DefaultUserAgent]
	UserAgent string
	// IgnoreRobots skips robots.txt entirely. [--ignore-robots off]
	IgnoreRobots bool
	// Scope is ScopeHost, ScopeDomain or ScopeAny. Empty means ScopeHost.
	// [--scope host]
	Scope string
	// Include, when not empty, keeps only URLs matching one of them.
	// [--include, none]
	Include []*regexp.Regexp
	// Exclude drops URLs matching any of them. [--exclude, none]
	Exclude []*regexp.Regexp
	// MaxDepth drops links deeper than this. Zero means unlimited.
	// [--max-depth 0]
	MaxDepth int
	// MaxPages stops the crawl after this many URLs are attempted. Zero
	// means unlimited. [--max-pages 0]
	MaxPages int
	// MaxPagesPerHost caps URLs attempted per host. Zero means unlimited.
	// [--max-pages-per-host 0]
	MaxPagesPerHost int
	// Timeout bounds one whole request, body included. Zero means 30s.
	// [--timeout 30s]
	Timeout time.Duration
	// MaxBodyBytes caps the decompressed body. Zero means 10 MiB.
	// [--max-body 10MiB]
	MaxBodyBytes int64
	// Retries is how often a network error, 429 or 5xx is retried. Zero
	// means none, as does a negative count. [--retries 2]
	Retries int
	// RetryBackoff is the first retry's delay, doubled each attempt, with
	// jitter; a Retry-After header overrides it when longer. Zero means 1s.
	// [1s; no flag]
	RetryBackoff time.Duration
	// Grace is how long in-flight requests may finish after Run's context
	// ends. Zero means none: they are cut off at once. [--grace 10s]
	Grace time.Duration
	// Normalizer canonicalizes seeds, sitemap entries and redirect hops,
	// which Include and Exclude see in that form; the default Parser
	// canonicalizes links with it too. Its zero value sorts query
	// parameters and drops tracking ones (urlnorm.TrackingParams).
	// [--strip-param, --keep-param, --keep-query-order, --max-url-length]
	Normalizer urlnorm.Normalizer
	// MaxLinks caps the distinct links the default Parser takes from one
	// page (and the assets it takes); a page with more is recorded with
	// Result.LinksTruncated. Zero means no cap. [--max-links 1000,
	// parse.DefaultMaxLinks]
	MaxLinks int
	// DenyPrivate makes the default Fetcher refuse to connect to addresses
	// that are not public (private, loopback, link-local such as
	// 169.254.169.254, unspecified, multicast), checked after DNS
	// resolution for every connection, redirects and robots.txt included;
	// such URLs are recorded with class "denied". False, the zero value,
	// allows every address, as a crawl of loopback test servers needs.
	// [--deny-private: on unless a seed is on a private address]
	DenyPrivate bool
	// Header holds extra request headers the default Fetcher sends (see
	// fetch.Options.Header); a header with an empty value removes the
	// default one (Accept). The credential-bearing ones (Authorization,
	// Proxy-Authorization, Cookie, Cookie2 and those named by
	// SecretHeaders) go only to the seeds' origins and to AuthHosts: never
	// past a redirect to another origin, never to another host's
	// robots.txt. The others go to every host. Nil means none.
	// [-H/--header, --cookie, none]
	Header http.Header
	// SecretHeaders names more headers of Header that carry credentials,
	// scoped like Authorization. Nil means only the standard ones.
	// [--secret-header, none]
	SecretHeaders []string
	// AuthHosts are where, besides the seeds' origins, the credential
	// headers of Header and BasicAuth go: a host ("example.com": its
	// default ports, http and https), a host and port ("127.0.0.1:8080":
	// http and https on that port) or an origin ("https://example.com").
	// Nil means the seeds' origins only. [--auth-host, none]
	AuthHosts []string
	// BasicAuth is sent as HTTP Basic authentication to the seeds' origins
	// and AuthHosts, on every request there (robots.txt and redirect hops
	// that land there included) that has no Authorization of its own; a
	// seed's own user info wins for its origin. It needs a Fetcher that
	// can scope credentials, as *fetch.Client does. Nil means none.
	// [--auth, --auth-file, none]
	BasicAuth *url.Userinfo
	// Jar, when not nil, keeps the cookies sites set and sends them back,
	// as a browser does, on every request of the default Fetcher: pages,
	// redirect hops, robots.txt and sitemaps (see fetch.Options.Jar). The
	// jar's rules decide which host gets which cookie: net/http/cookiejar
	// with golang.org/x/net/publicsuffix gives RFC 6265's. Use one jar per
	// crawl. A Fetcher of Config's own keeps its own cookies, if any. Nil
	// means no cookie kept. [--session, --cookies, --save-cookies, none]
	Jar http.CookieJar
	// Proxy, when not nil, chooses the proxy of every request of the
	// default Fetcher: pages, redirect hops, robots.txt and sitemaps (see
	// fetch.Options.Proxy); proxy.Pool.Proxy rotates over a pool. With
	// DenyPrivate, the target host is resolved and checked before the
	// request is handed to the proxy. Nil means no proxy (the environment
	// is never read). [--proxy, --proxy-file, none]
	Proxy func(*http.Request) (*url.URL, error)
	// ProxyFeedback, when not nil, is told the outcome of each request
	// through a proxy and may blame the proxy: the request then fails with
	// class "proxy", retried within Retries (through another proxy, when
	// the feedback benched this one, as a *proxy.Pool does). Nil means
	// none. [with --proxy or --proxy-file: the pool]
	ProxyFeedback fetch.ProxyFeedback
	// Login, when not nil, logs the crawl in to a site (login.Form fills
	// and submits a login form): before the first page of the login URL's
	// host is fetched, and again, once, whenever a page shows the session
	// is over (Login.Expired), after which that page is fetched again
	// without being recorded twice (up to three times; then it is
	// recorded as it is). Its requests go through the Fetcher
	// under the lease of the page that needed them, checked against scope
	// and robots.txt, and the page is then put back for its host's next
	// slot. A login that fails twice in a row stops the crawl with an
	// error wrapping ErrLogin. It needs Jar (or a Fetcher of Config's own
	// that keeps cookies). Nil means none. [login: in the config file]
	Login Login
	// LoginSkipFirst skips the first login: the crawl logs in only once a
	// page shows the session over. Set it when Jar already holds the
	// session (restored from a stopped crawl, shared by a fleet).
	// [false]
	LoginSkipFirst bool
	// Assets also fetches the in-scope assets each parsed page embeds
	// (parse.Page.Assets: images, scripts, stylesheets, media, iframes),
	// whatever MaxDepth says. Assets are recorded with Result.Asset set,
	// are not parsed for links, and are counted in Summary.Assets, not in
	// Done, Failed, MaxPages or MaxPagesPerHost. [--assets off]
	Assets bool
	// Sitemaps seeds the crawl with the URLs listed in the sitemaps of the
	// seeds' hosts: those named by robots.txt Sitemap lines, and
	// /sitemap.xml. Sitemap indexes and gzip-compressed sitemaps are
	// followed, within SitemapLimits. The URLs are scoped like links.
	// [--sitemaps off]
	Sitemaps bool
	// SitemapLimits caps what is read from sitemaps; zero fields take the
	// defaults of package sitemap (50 MB and 50,000 URLs per file).
	SitemapLimits sitemap.Limits

	// Render is RenderNever, RenderAlways or RenderAuto: whether HTML
	// pages are rendered by Renderer before they are parsed (RenderAuto:
	// those that need it, learned per URL pattern). Empty means
	// RenderNever. [--render never]
	Render string
	// Renderer renders pages when Render asks for it; it must be set
	// then. The crawler does not close it. [render.Browser, on Chromium]
	Renderer Renderer

	// Frontier holds the work; nil means frontier.NewMemory.
	Frontier Frontier
	// Fetcher fetches; nil means fetch.New with the options above.
	Fetcher Fetcher
	// Parser parses HTML; nil means parse.HTML{Normalizer: Normalizer,
	// MaxLinks: MaxLinks}.
	Parser Parser
	// Robots checks robots.txt; nil means robots.New fetching with the
	// Fetcher (its Get method when it has one, as *fetch.Client does),
	// unless IgnoreRobots.
	Robots Robots
	// RobotsStore, when set, shares the default Robots' robots.txt files
	// with other crawlers (the processes of a distributed crawl), so each
	// origin's robots.txt is fetched once for all of them. Nil keeps them
	// to this crawler.
	RobotsStore robots.Store
	// Observer is told about the crawl; nil means nobody.
	Observer Observer
	// Handler is told about every recorded URL with its Result, response,
	// parsed page and items: the one way to receive the crawl's records
	// (output.JSONLines writes them as JSON lines; crawler.Handlers chains
	// several). Nil records nothing. A Handler that is a Flusher is
	// flushed when Run or Pages returns.
	Handler Handler
	// Extractor extracts items from each parsed HTML page for the Handler
	// (and for Pages); nil extracts nothing. It runs only when a Handler
	// or Pages receives the items.
	Extractor Extractor
}

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("crawler: invalid config")

// MaxConcurrency is the most workers a Crawler runs. Each worker holds
// buffers of its own; past a few thousand they cost memory (a million took
// 4.9 GB for a 20-page crawl) and buy nothing, since PerHost and Rate bound
// the requests any one host gets.
const MaxConcurrency = 10_000

// DefaultConfig returns the configuration the command line starts from:
// 16 workers, 2 requests in flight and 5 requests a second per host,
// robots.txt obeyed, the seeds' hosts only, 30s per request, 10 MiB per
// body, 2 retries a second apart and doubling, 10s of grace on
// cancellation, 1,000 links per page and URLs of up to 2,048 bytes. Set
// the fields to change on the Config it returns.
func DefaultConfig() Config {
	return Config{
		Concurrency:  16,
		PerHost:      2,
		Rate:         5,
		UserAgent:    DefaultUserAgent,
		Scope:        ScopeHost,
		Timeout:      30 * time.Second,
		MaxBodyBytes: 10 << 20,
		Retries:      2,
		RetryBackoff: time.Second,
		Grace:        10 * time.Second,
		MaxLinks:     parse.DefaultMaxLinks,
		Normalizer:   urlnorm.Normalizer{MaxLength: urlnorm.DefaultMaxLength},
	}
}

// ConfigError is the error Validate returns: one field and what is wrong
// with it. It wraps ErrConfig.
type ConfigError struct {
	// Field names the field as the command line's flag and the YAML key
	// spell it ("max-body", "per-host").
	Field string
	// Problem says what is wrong, in words ("must not be negative (got -3)").
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("%v: %s %s", ErrConfig, e.Field, e.Problem)
}

// Unwrap returns ErrConfig.
func (e *ConfigError) Unwrap() error { return ErrConfig }

// Validate reports the first invalid field as a *ConfigError.
func (c *Config) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &ConfigError{Field: field, Problem: fmt.Sprintf(format, a...)}
	}
	for _, f := range []struct {
		name string
		n    int
	}{{"concurrency", c.Concurrency}, {"per-host", c.PerHost}, {"max-depth", c.MaxDepth},
		{"max-pages", c.MaxPages}, {"max-pages-per-host", c.MaxPagesPerHost}} {
		if f.n < 0 {
			return bad(f.name, "must not be negative (got %d)", f.n)
		}
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"timeout", c.Timeout}, {"grace", c.Grace}, {"retry-backoff", c.RetryBackoff}} {
		if f.d < 0 {
			return bad(f.name, "must not be negative (got %s)", f.d)
		}
	}
	switch {
	case c.Concurrency > MaxConcurrency:
		return bad("concurrency", "%d is more than %d workers: each costs memory, and --per-host and --rate bound what a host gets anyway", c.Concurrency, MaxConcurrency)
	case c.MaxBodyBytes < 0:
		return bad("max-body", "must not be negative (got %d)", c.MaxBodyBytes)
	case c.MaxLinks < 0:
		return bad("max-links", "must not be negative (got %d; 0 means no cap)", c.MaxLinks)
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || (c.Rate > 0 && c.Rate < MinRate):
		// A delay of a day or more between requests would overflow, or never end.
		return bad("rate", "%g: want at least %g requests per second per host, or 0 for unlimited", c.Rate, MinRate)
	}
	switch c.Scope {
	case "", ScopeHost, ScopeDomain, ScopeAny:
	default:
		return bad("scope", "%q: want host, domain or any", c.Scope)
	}
	if c.Normalizer.MaxLength < 0 {
		return bad("max-url-length", "must not be negative (got %d)", c.Normalizer.MaxLength)
	}
	if err := c.Normalizer.Validate(); err != nil {
		return bad("strip-param", "%v", err)
	}
	if err := c.SitemapLimits.Validate(); err != nil {
		return bad("sitemap-limits", "%v", err)
	}
	for k := range c.Header {
		if !fetch.ValidHeaderName(k) {
			return bad("header", "%q is not a valid header name", k)
		}
	}
	for _, k := range c.SecretHeaders {
		if !fetch.ValidHeaderName(k) {
			return bad("secret-header", "%q is not a valid header name", k)
		}
	}
	for _, h := range c.AuthHosts {
		if _, err := authOrigins(h); err != nil {
			return bad("auth-host", "%v", err)
		}
	}
	switch c.Render {
	case "", RenderNever:
	case RenderAlways, RenderAuto:
		if c.Renderer == nil {
			return bad("render", "%q needs a Renderer", c.Render)
		}
	default:
		return bad("render", "%q: want never, always or auto", c.Render)
	}
	if c.BasicAuth != nil && c.BasicAuth.Username() == "" {
		return bad("auth", "has no user name")
	}
	if c.Login != nil && c.Jar == nil && c.Fetcher == nil {
		return bad("login", "needs a cookie jar to keep the session in (--session)")
	}
	return nil
}

// withDefaults returns c with the zero fields that stand for a default
// replaced by it, and the others in the form the components take (a
// negative MaxLinks is parse.HTML's "no cap"). Components are left to New.
func (c Config) withDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.PerHost == 0 {
		c.PerHost = 2
	}
	if c.Rate < 0 {
		c.Rate = 0
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.Scope == "" {
		c.Scope = ScopeHost
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 10 << 20
	}
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = time.Second
	}
	if c.MaxLinks == 0 {
		c.MaxLinks = -1
	}
	return c
}

// MinRate is the lowest positive Rate: one request per host a day.
const MinRate = 1.0 / 86400

// HostDelay is the delay between two requests to one host that Rate asks
// for: zero when unlimited.
func (c Config) HostDelay() time.Duration {
	if c.Rate <= 0 {
		return 0
	}
	// Rounded up: leases exactly this far apart never exceed the rate.
	return time.Duration(math.Ceil(float64(time.Second) / c.Rate))
}

// FrontierOptions returns the frontier.Options a backend should be opened
// with to serve this configuration: its Scheduler (breadth first over
// HostDelay when nil), PerHost as the in-flight cap, LeaseTTL, and Strict
// when MaxDepth is set (a depth limit is exact only if every page is first
// found at its shortest depth: the frontier then leases level by level).
// New opens the built-in frontier with them; a program that opens another
// backend, such as frontier/disk for a resumable crawl, should too.
func (c Config) FrontierOptions() frontier.Options {
	c = c.withDefaults()
	sched := c.Scheduler
	if sched == nil {
		sched = frontier.BreadthFirst{Delay: c.HostDelay()}
	}
	return frontier.Options{
		Scheduler:       sched,
		PerHostInFlight: c.PerHost,
		LeaseTTL:        c.LeaseTTL(),
		Strict:          c.MaxDepth > 0,
	}
}

// LeaseTTL is the lease time a frontier should give this crawler's
// requests: long enough for a robots.txt fetch, the page fetch and the
// grace period.
func (c Config) LeaseTTL() time.Duration {
	c = c.withDefaults()
	return 2*c.Timeout + c.Grace + time.Minute
}
