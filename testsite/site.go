package testsite

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults applied by New to zero fields of Options.
const (
	DefaultPages          = 1000
	DefaultLinksPerPage   = 20
	DefaultPageBytes      = 8192
	DefaultOffsiteURL     = "http://offsite.invalid"
	DefaultDisallowPrefix = "/private/"
)

// maxPages bounds Options.Pages so that page numbers, and their children
// 2n+2, fit comfortably in an int32 fetch counter index.
const maxPages = 1 << 30

// Options configures a Site. The zero value is a valid configuration: every
// zero field takes the default its comment states.
type Options struct {
	// Pages is the number of pages, numbered 0 to Pages-1. Zero means 1000.
	Pages int
	// LinksPerPage is the number of links on every page, counting the
	// off-site, disallowed, mailto: and javascript: links and the duplicate.
	// It must be at least 2, so that the two tree links (to pages 2n+1 and
	// 2n+2) that make every page reachable always fit. Zero means 20. With 2
	// the on-site graph is the binary tree plus links back up, and page n is
	// at depth floor(log2(n+1)).
	LinksPerPage int
	// PageBytes is the approximate size of a page's HTML in bytes; pages are
	// padded with lorem ipsum up to it. A page whose links need more is not
	// truncated. Zero means 8192.
	PageBytes int
	// Latency is how long every request waits before it is answered, or until
	// the request's context ends. Zero means no wait.
	Latency time.Duration
	// Seed chooses the random link targets. Sites with the same Options
	// serve the same pages.
	Seed int64
	// OffsiteURL is the base URL, without a trailing slash, that the off-site
	// link of page n points under: OffsiteURL + "/x/<n>". Point it at a
	// server the test watches to check that the crawler stays on its site.
	// Empty means "http://offsite.invalid".
	OffsiteURL string
	// DisallowPrefix is the path prefix robots.txt disallows; page n links to
	// DisallowPrefix + "<n>", and every request under it counts as a
	// violation. It must begin with "/" and must not overlap "/", "/p/" or
	// "/robots.txt". Empty means "/private/".
	DisallowPrefix string
}

// withDefaults returns o with its zero fields replaced by their defaults.
func (o Options) withDefaults() Options {
	if o.Pages == 0 {
		o.Pages = DefaultPages
	}
	if o.LinksPerPage == 0 {
		o.LinksPerPage = DefaultLinksPerPage
	}
	if o.PageBytes == 0 {
		o.PageBytes = DefaultPageBytes
	}
	if o.OffsiteURL == "" {
		o.OffsiteURL = DefaultOffsiteURL
	}
	if o.DisallowPrefix == "" {
		o.DisallowPrefix = DefaultDisallowPrefix
	}
	return o
}

// Validate reports whether o, once its defaults are applied, describes a
// site New can serve.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	if o.Pages < 0 || o.Pages > maxPages {
		errs = append(errs, fmt.Errorf("testsite: Pages %d out of range [1, %d]", o.Pages, maxPages))
	}
	if o.LinksPerPage < 2 {
		errs = append(errs, fmt.Errorf("testsite: LinksPerPage %d is below 2", o.LinksPerPage))
	}
	if o.PageBytes < 0 {
		errs = append(errs, fmt.Errorf("testsite: negative PageBytes %d", o.PageBytes))
	}
	if o.Latency < 0 {
		errs = append(errs, fmt.Errorf("testsite: negative Latency %v", o.Latency))
	}
	if strings.ContainsAny(o.OffsiteURL, "\"<>&'") || !strings.Contains(o.OffsiteURL, "://") {
		errs = append(errs, fmt.Errorf("testsite: OffsiteURL %q is not an absolute URL", o.OffsiteURL))
	}
	p := o.DisallowPrefix
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\"<>&'#? ") ||
		strings.HasPrefix("/p/0", p) || strings.HasPrefix(p, "/p/") || strings.HasPrefix("/robots.txt", p) {
		errs = append(errs, fmt.Errorf("testsite: DisallowPrefix %q must begin with / and not overlap /, /p/ or /robots.txt", p))
	}
	return errors.Join(errs...)
}

// Site is the synthetic website. It is an http.Handler; create it with New.
// A Site is safe for concurrent use, and its counters may be read while it
// serves. Counters are kept per Host header (lower-cased), and each distinct
// host costs 4 bytes per page; the totals sum over hosts.
type Site struct {
	opts    Options
	offsite string // OffsiteURL without a trailing slash
	lorem   []byte // padding text, len PageBytes plus one paragraph
	robots  []byte // the robots.txt body
	bufs    sync.Pool

	hostsMu sync.Mutex // serialises the creation of hosts entries
	hosts   sync.Map   // host key (string) → *hostStats

	total hostStats // totals over all hosts; its fetches slice is unused
}

// hostStats holds the counters of one Host header.
type hostStats struct {
	fetches     []atomic.Int32 // GETs per page
	requests    atomic.Int64
	robots      atomic.Int64
	violations  atomic.Int64
	notFound    atomic.Int64
	unique      atomic.Int64
	duplicates  atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
	// served counts the requests that ran their course (the Latency wait
	// was not cut short) and serviceNanos the time their handler took;
	// kept for the totals only (MeanServiceTime).
	served       atomic.Int64
	serviceNanos atomic.Int64
}

// New returns a Site configured by opts. It panics if opts.Validate reports
// an error: options are written by the test that calls New.
func New(opts Options) *Site {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	s := &Site{
		opts:    opts,
		offsite: strings.TrimRight(opts.OffsiteURL, "/"),
		robots:  []byte("User-agent: *\nDisallow: " + opts.DisallowPrefix + "\n"),
	}
	s.lorem = make([]byte, 0, opts.PageBytes+len(loremText))
	for len(s.lorem) < opts.PageBytes+len(loremText) {
		s.lorem = append(s.lorem, loremText...)
	}
	s.lorem = s.lorem[:cap(s.lorem)]
	return s
}

// Options returns the site's options with their defaults applied.
func (s *Site) Options() Options { return s.opts }

// hostKey reduces a Host header, or a base URL such as Serve returns, to the
// key the counters are kept under: the lower-cased host[:port].
func hostKey(host string) string {
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
		if j := strings.IndexAny(host, "/?#"); j >= 0 {
			host = host[:j]
		}
	}
	return strings.ToLower(host)
}

// host returns the counters of a host key, creating them on first use.
func (s *Site) host(key string) *hostStats {
	if h, ok := s.hosts.Load(key); ok {
		return h.(*hostStats)
	}
	s.hostsMu.Lock()
	defer s.hostsMu.Unlock()
	if h, ok := s.hosts.Load(key); ok {
		return h.(*hostStats)
	}
	h := &hostStats{fetches: make([]atomic.Int32, s.opts.Pages)}
	s.hosts.Store(key, h)
	return h
}

// lookup returns the counters of a host, or nil if it was never requested.
func (s *Site) lookup(host string) *hostStats {
	if h, ok := s.hosts.Load(hostKey(host)); ok {
		return h.(*hostStats)
	}
	return nil
}

// storeMax raises m to v if v is larger.
func storeMax(m *atomic.Int64, v int64) {
	for {
		cur := m.Load()
		if v <= cur || m.CompareAndSwap(cur, v) {
			return
		}
	}
}

// route is what a request path names.
type route uint8

const (
	routeNotFound route = iota
	routePage
	routeRobots
	routePrivate
)

// route parses a request path. For routePage it returns the page number and
// whether the page is served at "/" (which changes how relative links are
// written); for routePrivate the page number or -1.
func (s *Site) route(path string) (rt route, n int, atRoot bool) {
	switch {
	case path == "/":
		return routePage, 0, true
	case path == "/robots.txt":
		return routeRobots, 0, false
	case strings.HasPrefix(path, s.opts.DisallowPrefix):
		return routePrivate, s.pageNumber(path[len(s.opts.DisallowPrefix):]), false
	case strings.HasPrefix(path, "/p/"):
		if n := s.pageNumber(path[len("/p/"):]); n >= 0 {
			return routePage, n, false
		}
	}
	return routeNotFound, 0, false
}

// pageNumber parses a page number in canonical decimal form (no sign, no
// leading zero) and returns it, or -1 if it is malformed or out of range.
func (s *Site) pageNumber(str string) int {
	if str == "" || len(str) > 10 || (len(str) > 1 && str[0] == '0') {
		return -1
	}
	n := 0
	for i := 0; i < len(str); i++ {
		c := str[i]
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	if n >= s.opts.Pages {
		return -1
	}
	return n
}

// ServeHTTP serves a page, robots.txt, a disallowed page or a 404, after
// waiting Options.Latency. GET and HEAD are served; other methods get 405.
// Every request is counted when it arrives, before the wait.
func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := s.host(hostKey(r.Host))
	s.total.requests.Add(1)
	h.requests.Add(1)
	storeMax(&s.total.maxInFlight, s.total.inFlight.Add(1))
	storeMax(&h.maxInFlight, h.inFlight.Add(1))
	defer s.total.inFlight.Add(-1)
	defer h.inFlight.Add(-1)
	start := time.Now()

	rt, n, atRoot := s.route(r.URL.Path)
	get := r.Method == http.MethodGet
	allowed := get || r.Method == http.MethodHead
	switch {
	case rt == routePrivate:
		s.total.violations.Add(1)
		h.violations.Add(1)
		if n < 0 {
			rt = routeNotFound
		}
	case rt == routePage && get:
		if h.fetches[n].Add(1) == 1 {
			s.total.unique.Add(1)
			h.unique.Add(1)
		} else {
			s.total.duplicates.Add(1)
			h.duplicates.Add(1)
		}
	case rt == routeRobots && get:
		s.total.robots.Add(1)
		h.robots.Add(1)
	}
	if rt == routeNotFound && allowed {
		s.total.notFound.Add(1)
		h.notFound.Add(1)
	}

	if s.opts.Latency > 0 {
		t := time.NewTimer(s.opts.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	defer func() {
		s.total.served.Add(1)
		s.total.serviceNanos.Add(int64(time.Since(start)))
	}()

	if !allowed {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	switch rt {
	case routePage:
		s.servePage(w, r, n, atRoot)
	case routeRobots:
		writeBody(w, r, "text/plain; charset=utf-8", s.robots)
	case routePrivate:
		s.servePrivate(w, r, n)
	default:
		http.NotFound(w, r)
	}
}

// writeBody answers 200 with body (or only its headers, for HEAD).
func writeBody(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	hdr := w.Header()
	hdr["Content-Type"] = []string{contentType}
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the client went away; nothing to do
	}
}

// Fetches returns the number of GETs of page n, at "/" or /p/n, summed over
// all hosts. It returns 0 for n out of range.
func (s *Site) Fetches(n int) int {
	if n < 0 || n >= s.opts.Pages {
		return 0
	}
	total := 0
	s.hosts.Range(func(_, h any) bool {
		total += int(h.(*hostStats).fetches[n].Load())
		return true
	})
	return total
}

// FetchesHost returns the number of GETs of page n on one host. The host is
// a Host header value (host:port) or a base URL such as Serve returns; case
// does not matter.
func (s *Site) FetchesHost(host string, n int) int {
	h := s.lookup(host)
	if h == nil || n < 0 || n >= s.opts.Pages {
		return 0
	}
	return int(h.fetches[n].Load())
}

// Unique returns the number of pages fetched at least once, counting a page
// once per host that served it.
func (s *Site) Unique() int { return int(s.total.unique.Load()) }

// UniqueHost is Unique for one host (see FetchesHost for the form of host).
func (s *Site) UniqueHost(host string) int {
	if h := s.lookup(host); h != nil {
		return int(h.unique.Load())
	}
	return 0
}

// Duplicates returns the number of page GETs beyond the first of each page on
// each host: zero for a crawler that fetches every page once.
func (s *Site) Duplicates() int { return int(s.total.duplicates.Load()) }

// DuplicatesHost is Duplicates for one host (see FetchesHost for the form of
// host).
func (s *Site) DuplicatesHost(host string) int {
	if h := s.lookup(host); h != nil {
		return int(h.duplicates.Load())
	}
	return 0
}

// Requests returns the number of requests received, of any method and path,
// including robots.txt, 404s and requests abandoned during Latency.
func (s *Site) Requests() int64 { return s.total.requests.Load() }

// RequestsHost is Requests for one host (see FetchesHost for the form of
// host).
func (s *Site) RequestsHost(host string) int64 {
	if h := s.lookup(host); h != nil {
		return h.requests.Load()
	}
	return 0
}

// RobotsFetches returns the number of GETs of /robots.txt over all hosts.
func (s *Site) RobotsFetches() int { return int(s.total.robots.Load()) }

// RobotsFetchesHost is RobotsFetches for one host (see FetchesHost for the
// form of host).
func (s *Site) RobotsFetchesHost(host string) int {
	if h := s.lookup(host); h != nil {
		return int(h.robots.Load())
	}
	return 0
}

// Violations returns the number of requests, of any method, for paths under
// Options.DisallowPrefix: what a crawler that obeys robots.txt never sends.
func (s *Site) Violations() int { return int(s.total.violations.Load()) }

// ViolationsHost is Violations for one host (see FetchesHost for the form of
// host).
func (s *Site) ViolationsHost(host string) int {
	if h := s.lookup(host); h != nil {
		return int(h.violations.Load())
	}
	return 0
}

// NotFound returns the number of GET and HEAD requests answered 404.
func (s *Site) NotFound() int { return int(s.total.notFound.Load()) }

// MaxInFlight returns the largest number of requests the site has been
// handling at once, over all hosts, since New or Reset.
func (s *Site) MaxInFlight() int { return int(s.total.maxInFlight.Load()) }

// MaxInFlightHost is MaxInFlight for one host: what a per-host concurrency
// cap must bound. See FetchesHost for the form of host.
func (s *Site) MaxInFlightHost(host string) int {
	if h := s.lookup(host); h != nil {
		return int(h.maxInFlight.Load())
	}
	return 0
}

// MeanServiceTime is the average time the handler took per request since
// New or Reset, over the requests whose Latency wait was not cut short: the
// Latency itself as the machine's timers deliver it, plus the time to write
// the response. It is what politeness limits really are: with one request
// in flight per host, a host serves at most one page per MeanServiceTime.
// Zero before any request.
func (s *Site) MeanServiceTime() time.Duration {
	n := s.total.served.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(s.total.serviceNanos.Load() / n)
}

// Hosts returns the keys (lower-cased Host headers) the site has counted
// requests under, in no particular order.
func (s *Site) Hosts() []string {
	var hosts []string
	s.hosts.Range(func(k, _ any) bool {
		hosts = append(hosts, k.(string))
		return true
	})
	return hosts
}

// Reset zeroes every counter. The peak in-flight counts restart from the
// number of requests in flight now. Requests that arrive during Reset may or
// may not be counted.
func (s *Site) Reset() {
	s.total.reset()
	s.hosts.Range(func(_, h any) bool {
		h.(*hostStats).reset()
		return true
	})
}

// reset zeroes h's counters but its in-flight count.
func (h *hostStats) reset() {
	for i := range h.fetches {
		h.fetches[i].Store(0)
	}
	for _, c := range []*atomic.Int64{&h.requests, &h.robots, &h.violations, &h.notFound, &h.unique, &h.duplicates, &h.served, &h.serviceNanos} {
		c.Store(0)
	}
	h.maxInFlight.Store(h.inFlight.Load())
}
