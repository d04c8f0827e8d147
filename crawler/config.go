package crawler

import (
	"context"
	"errors"
	"fmt"
	"math"
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
// is given.
type Frontier interface {
	Add(ctx context.Context, reqs []frontier.Request) (int, error)
	Lease(ctx context.Context, max int) ([]frontier.Lease, error)
	Complete(ctx context.Context, outcomes []frontier.Outcome) error
}

// Fetcher fetches one URL, calling check on every redirect hop before it
// follows it. *fetch.Client implements it.
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

// Sink receives one Result per URL attempted. Write is called from many
// workers at once and must be safe for concurrent use.
type Sink interface {
	Write(r *Result) error
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
	// because of class (a fetch error class, "http_429", "http_5xx" or
	// "robots_unavailable").
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

// Config configures a Crawler. It is plain data; the zero value crawls
// politely with the project's own components. Nil interface fields are
// filled with defaults by New.
type Config struct {
	// Concurrency is the number of workers. Zero means 16.
	Concurrency int
	// PerHost caps requests in flight per host. Zero means 2.
	PerHost int
	// Rate is requests per second per host. Zero means 5; negative means
	// unlimited.
	Rate float64
	// Scheduler orders requests; nil means breadth first. Its HostDelay is
	// used as is, so a custom scheduler should include the rate's delay.
	Scheduler frontier.Scheduler
	// UserAgent is sent with every request and matched against robots.txt
	// groups by its product token. Empty means DefaultUserAgent.
	UserAgent string
	// IgnoreRobots skips robots.txt entirely.
	IgnoreRobots bool
	// Scope is ScopeHost (the default when empty), ScopeDomain or ScopeAny.
	Scope string
	// Include, when not empty, keeps only URLs matching one of them.
	Include []*regexp.Regexp
	// Exclude drops URLs matching any of them.
	Exclude []*regexp.Regexp
	// MaxDepth drops links deeper than this. Zero means unlimited.
	MaxDepth int
	// MaxPages stops the crawl after this many URLs are attempted. Zero
	// means unlimited.
	MaxPages int
	// MaxPagesPerHost caps URLs attempted per host. Zero means unlimited.
	MaxPagesPerHost int
	// Timeout bounds one whole request, body included. Zero means 30s.
	Timeout time.Duration
	// MaxBodyBytes caps the decompressed body. Zero means 10 MiB.
	MaxBodyBytes int64
	// Retries is how often a network error, 429 or 5xx is retried. Zero
	// means 2; negative means none.
	Retries int
	// RetryBackoff is the first retry's delay, doubled each attempt, with
	// jitter; a Retry-After header overrides it when longer. Zero means 1s.
	RetryBackoff time.Duration
	// Grace is how long in-flight requests may finish after Run's context
	// ends. Zero means 10s.
	Grace time.Duration
	// Normalizer canonicalizes seeds (links are canonicalized by the
	// Parser).
	Normalizer urlnorm.Normalizer
	// MaxLinks caps the distinct links the default Parser takes from one
	// page; a page with more is recorded with Result.LinksTruncated. Zero
	// means parse.DefaultMaxLinks (1,000); negative means no cap.
	MaxLinks int
	// DenyPrivate makes the default Fetcher refuse to connect to addresses
	// that are not public (private, loopback, link-local such as
	// 169.254.169.254, unspecified, multicast), checked after DNS
	// resolution for every connection, redirects and robots.txt included;
	// such URLs are recorded with class "denied". False, the zero value,
	// allows every address, as a crawl of loopback test servers needs.
	DenyPrivate bool
	// Assets also fetches the in-scope assets each parsed page embeds
	// (parse.Page.Assets: images, scripts, stylesheets, media, iframes),
	// whatever MaxDepth says. Assets are recorded with Result.Asset set,
	// are not parsed for links, and are counted in Summary.Assets, not in
	// Done, Failed, MaxPages or MaxPagesPerHost.
	Assets bool
	// Sitemaps seeds the crawl with the URLs listed in the sitemaps of the
	// seeds' hosts: those named by robots.txt Sitemap lines, and
	// /sitemap.xml. Sitemap indexes and gzip-compressed sitemaps are
	// followed, within SitemapLimits. The URLs are scoped like links.
	Sitemaps bool
	// SitemapLimits caps what is read from sitemaps; zero fields take the
	// defaults of package sitemap (50 MB and 50,000 URLs per file).
	SitemapLimits sitemap.Limits

	// Frontier holds the work; nil means frontier.NewMemory.
	Frontier Frontier
	// Fetcher fetches; nil means fetch.New with the options above.
	Fetcher Fetcher
	// Parser parses HTML; nil means parse.HTML{Normalizer: Normalizer,
	// MaxLinks: MaxLinks}.
	Parser Parser
	// Robots checks robots.txt; nil means robots.New over the fetcher's
	// client (only when Fetcher is nil too; otherwise robots are ignored
	// unless set).
	Robots Robots
	// RobotsStore, when set, shares the default Robots' robots.txt files
	// with other crawlers (the processes of a distributed crawl), so each
	// origin's robots.txt is fetched once for all of them. Nil keeps them
	// to this crawler.
	RobotsStore robots.Store
	// Sink receives results; nil discards them.
	Sink Sink
	// Observer is told about the crawl; nil means nobody.
	Observer Observer
	// Handler is told about every recorded URL with its response, parsed
	// page and items; nil means nobody, and no response outlives its
	// processing.
	Handler Handler
	// Extractor extracts items from each parsed HTML page for the Handler
	// (and for Pages); nil extracts nothing. It runs only when a Handler
	// or Pages receives the items.
	Extractor Extractor
}

// ErrConfig is wrapped by every error Validate returns.
var ErrConfig = errors.New("crawler: invalid config")

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.Concurrency < 0:
		return fmt.Errorf("%w: concurrency must not be negative (got %d)", ErrConfig, c.Concurrency)
	case c.PerHost < 0:
		return fmt.Errorf("%w: per-host must not be negative (got %d)", ErrConfig, c.PerHost)
	case c.MaxDepth < 0, c.MaxPages < 0, c.MaxPagesPerHost < 0:
		return fmt.Errorf("%w: max-depth, max-pages and max-pages-per-host must not be negative", ErrConfig)
	case c.Timeout < 0, c.Grace < 0, c.RetryBackoff < 0:
		return fmt.Errorf("%w: durations must not be negative", ErrConfig)
	case c.MaxBodyBytes < 0:
		return fmt.Errorf("%w: max-body must not be negative", ErrConfig)
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || (c.Rate > 0 && c.Rate < MinRate):
		// A delay of a day or more between requests would overflow, or never end.
		return fmt.Errorf("%w: rate %g: want at least %g requests per second per host, or unlimited", ErrConfig, c.Rate, MinRate)
	}
	switch c.Scope {
	case "", ScopeHost, ScopeDomain, ScopeAny:
	default:
		return fmt.Errorf("%w: scope %q: want host, domain or any", ErrConfig, c.Scope)
	}
	if err := c.SitemapLimits.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return nil
}

// withDefaults returns c with zero fields replaced by their defaults
// (components excepted: New builds those).
func (c Config) withDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.PerHost == 0 {
		c.PerHost = 2
	}
	if c.Rate == 0 {
		c.Rate = 5
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
	if c.Retries == 0 {
		c.Retries = 2
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = time.Second
	}
	if c.Grace == 0 {
		c.Grace = 10 * time.Second
	}
	return c
}

// MinRate is the lowest positive Rate: one request per host a day.
const MinRate = 1.0 / 86400

// HostDelay is the delay between two requests to one host that Rate asks
// for: zero when unlimited.
func (c Config) HostDelay() time.Duration {
	r := c.Rate
	if r == 0 {
		r = 5
	}
	if r < 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / r)
}

// LeaseTTL is the lease time a frontier should give this crawler's
// requests: long enough for a robots.txt fetch, the page fetch and the
// grace period.
func (c Config) LeaseTTL() time.Duration {
	c = c.withDefaults()
	return 2*c.Timeout + c.Grace + time.Minute
}

// SinkFunc adapts a function to a Sink. The function is called from many
// workers at once unless Concurrency is 1.
type SinkFunc func(r *Result) error

// Write implements Sink.
func (f SinkFunc) Write(r *Result) error { return f(r) }
