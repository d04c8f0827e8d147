package proxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/fetch"
)

// Results of a request through a proxy, as a Pool reports them to its
// Observer: a closed set, fit for a metric label.
const (
	ResultOK        = "ok"         // a response the proxy is not blamed for
	ResultRefused   = "refused"    // the connection to the proxy failed
	ResultTimeout   = "timeout"    // the request timed out
	ResultStatus407 = "status_407" // Proxy Authentication Required
	ResultStatus403 = "status_403" // Forbidden: the proxy, or the site, refuses it
	ResultStatus429 = "status_429" // Too Many Requests
	ResultBanned    = "banned"     // the body matched Options.Ban
	ResultError     = "error"      // any other failure (reset, tunnel refused, SOCKS error)
)

// Results returns the closed set of results, in the order above. The
// slice is the caller's.
func Results() []string {
	return []string{ResultOK, ResultRefused, ResultTimeout, ResultStatus407, ResultStatus403,
		ResultStatus429, ResultBanned, ResultError}
}

// Defaults of Options.
const (
	defaultBench    = 30 * time.Second
	defaultMaxBench = 10 * time.Minute
)

// Observer is told the result of each request through a proxy of a Pool.
// Its methods must be safe for concurrent use.
type Observer interface {
	// ProxyRequest is called once per request with one of Results.
	ProxyRequest(result string)
}

// Options configures a Pool.
type Options struct {
	// Proxies are the proxies to rotate over, as Parse returns them; at
	// least one. Duplicates count once.
	Proxies []*url.URL
	// Ban, when not nil, benches a proxy whose response body matches it
	// (a ban or captcha page served with status 200). Nil means none.
	Ban *regexp.Regexp
	// Bench is how long a proxy is benched at its first failure; each
	// failure in a row doubles it. Zero means 30s.
	Bench time.Duration
	// MaxBench caps the bench time. Zero means 10m.
	MaxBench time.Duration
	// Log receives a warning when a proxy is benched and when requests
	// wait because every proxy is. Nil means no log.
	Log *slog.Logger
	// Observer is told each request's result. Nil means nobody.
	Observer Observer
}

// Pool rotates requests over proxies: see the package documentation. Its
// Proxy method is a fetch.Options.Proxy and the Pool a
// fetch.ProxyFeedback. It is safe for concurrent use.
type Pool struct {
	opts    Options
	proxies []*entry

	mu    sync.Mutex
	hosts map[string]*entry // each target host's proxy
	next  int               // where the search for a proxy for a new host starts
	// waitLogged is the return time last logged by a wait, so that the
	// requests waiting for one proxy log it once.
	waitLogged time.Time

	now   func() time.Time
	after func(time.Duration) (<-chan time.Time, func() bool)
}

// entry is one proxy and its state, guarded by Pool.mu.
type entry struct {
	u     *url.URL
	name  string    // Redact(u)
	until time.Time // benched until then
	fails int       // failures in a row
	hosts int       // hosts assigned
}

var _ fetch.ProxyFeedback = (*Pool)(nil)

// New returns a Pool over opts.Proxies.
func New(opts Options) (*Pool, error) {
	if len(opts.Proxies) == 0 {
		return nil, errors.New("proxy: no proxy")
	}
	if opts.Bench < 0 || opts.MaxBench < 0 {
		return nil, errors.New("proxy: negative bench time")
	}
	if opts.Bench == 0 {
		opts.Bench = defaultBench
	}
	if opts.MaxBench == 0 {
		opts.MaxBench = defaultMaxBench
	}
	opts.MaxBench = max(opts.MaxBench, opts.Bench)
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Pool{
		opts:  opts,
		hosts: make(map[string]*entry),
		now:   time.Now,
		after: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		},
	}
	seen := make(map[string]bool)
	for _, u := range opts.Proxies {
		if u == nil {
			return nil, errors.New("proxy: nil URL")
		}
		checked, err := Parse(u.String())
		if err != nil {
			return nil, err
		}
		if key := checked.String(); !seen[key] {
			seen[key] = true
			p.proxies = append(p.proxies, &entry{u: checked, name: Redact(checked)})
		}
	}
	return p, nil
}

// Proxy returns the proxy for req's host: the one the host already has,
// unless it is benched; otherwise the available proxy with the fewest
// hosts. When every proxy is benched it waits, under req's context, for
// the first to come back, logging why once per wait. It is a
// fetch.Options.Proxy (and an http.Transport.Proxy).
func (p *Pool) Proxy(req *http.Request) (*url.URL, error) {
	host := strings.ToLower(req.URL.Host)
	for {
		p.mu.Lock()
		now := p.now()
		if e := p.hosts[host]; e != nil && !e.until.After(now) {
			p.mu.Unlock()
			return e.u, nil
		}
		if e := p.pickLocked(now); e != nil {
			if old := p.hosts[host]; old != nil {
				old.hosts--
			}
			p.hosts[host] = e
			e.hosts++
			p.mu.Unlock()
			return e.u, nil
		}
		first := p.proxies[0]
		for _, e := range p.proxies[1:] {
			if e.until.Before(first.until) {
				first = e
			}
		}
		wait := first.until.Sub(now)
		if !first.until.Equal(p.waitLogged) {
			p.waitLogged = first.until
			p.opts.Log.Warn("every proxy is benched: requests wait for the first back",
				"proxies", len(p.proxies), "next", first.name, "wait", wait.Round(time.Millisecond))
		}
		p.mu.Unlock()
		ch, stop := p.after(wait)
		select {
		case <-ch:
		case <-req.Context().Done():
			stop()
			return nil, fmt.Errorf("proxy: waiting for a proxy: %w", req.Context().Err())
		}
	}
}

// pickLocked returns the available proxy with the fewest hosts, the first
// such from p.next on; nil when all are benched.
func (p *Pool) pickLocked(now time.Time) *entry {
	var best *entry
	n := len(p.proxies)
	for k := range n {
		e := p.proxies[(p.next+k)%n]
		if !e.until.After(now) && (best == nil || e.hosts < best.hosts) {
			best = e
		}
	}
	if best != nil {
		p.next = (p.next + 1) % n
	}
	return best
}

// ProxyResult implements fetch.ProxyFeedback: it reports r's result to
// the Observer and, when the proxy is to blame, benches it and returns an
// *Error. A proxy's success clears its failures in a row.
func (p *Pool) ProxyResult(r fetch.ProxyResult) error {
	result := p.judge(r)
	if p.opts.Observer != nil {
		p.opts.Observer.ProxyRequest(result)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.entryLocked(r.Proxy)
	if e == nil {
		return nil // not one of the pool's
	}
	if result == ResultOK {
		e.fails = 0
		return nil
	}
	now := p.now()
	if e.until.After(now) {
		// Benched already: the requests it had in flight fail too, and
		// count as one failure.
		return &Error{Proxy: e.name, Result: result, Err: r.Err}
	}
	e.fails++
	d := p.opts.Bench << min(e.fails-1, 30)
	if d <= 0 || d > p.opts.MaxBench {
		d = p.opts.MaxBench
	}
	e.until = now.Add(d)
	p.opts.Log.Warn("proxy benched", "proxy", e.name, "why", result, "for", d, "failures_in_a_row", e.fails)
	return &Error{Proxy: e.name, Result: result, Err: r.Err}
}

// judge returns the result of r.
func (p *Pool) judge(r fetch.ProxyResult) string {
	if r.Err != nil {
		switch r.Class {
		case fetch.ClassConnect:
			return ResultRefused
		case fetch.ClassTimeout:
			return ResultTimeout
		}
		return ResultError
	}
	switch r.Status {
	case http.StatusProxyAuthRequired:
		return ResultStatus407
	case http.StatusForbidden:
		return ResultStatus403
	case http.StatusTooManyRequests:
		return ResultStatus429
	}
	if p.opts.Ban != nil && r.Body != nil && p.opts.Ban.Match(r.Body) {
		return ResultBanned
	}
	return ResultOK
}

// entryLocked finds the pool's entry for u.
func (p *Pool) entryLocked(u *url.URL) *entry {
	for _, e := range p.proxies {
		if e.u == u {
			return e
		}
	}
	if u == nil {
		return nil
	}
	s := u.String()
	for _, e := range p.proxies {
		if e.u.String() == s {
			return e
		}
	}
	return nil
}

// Benched returns how many proxies are benched now.
func (p *Pool) Benched() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	n := 0
	for _, e := range p.proxies {
		if e.until.After(now) {
			n++
		}
	}
	return n
}

// Len returns the number of proxies in the pool.
func (p *Pool) Len() int { return len(p.proxies) }

// Error is the error a Pool returns for a request its proxy failed. It
// names the proxy by Redact, never with credentials.
type Error struct {
	// Proxy is the proxy, as Redact writes it.
	Proxy string
	// Result is one of Results, never ResultOK.
	Result string
	// Err is the request's error, nil when the proxy answered.
	Err error
}

// Error returns "proxy <proxy>: <result>[: <err>]".
func (e *Error) Error() string {
	s := "proxy " + e.Proxy + ": " + e.Result
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }
