package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults applied by New to zero fields of Options.
const (
	defaultUserAgent       = "crawl"
	defaultTimeout         = 30 * time.Second
	defaultConnectTimeout  = 10 * time.Second
	defaultHeaderTimeout   = 15 * time.Second
	defaultMaxBodyBytes    = 10 << 20
	defaultMaxRedirects    = 10
	defaultMaxConnsPerHost = 2
)

// Limits of Client.Get, fixed because its callers (robots.txt, sitemaps)
// have their own standards: RFC 9309 asks for at least 500 KiB and at most
// five redirects.
const (
	getMaxBodyBytes = 512 << 10
	getMaxRedirects = 5
)

const (
	acceptHeader = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
	// maxIdleConns bounds idle connections across all hosts; a crawl touches
	// many hosts, each keeping up to MaxConnsPerHost idle.
	maxIdleConns = 1024
	// maxPooledBuffer is the largest scratch buffer kept for reuse; rarer,
	// larger bodies allocate instead of pinning memory in the pool.
	maxPooledBuffer = 1 << 20
	// maxDrainBytes is how much of a redirect's body is read so that its
	// connection can be reused.
	maxDrainBytes = 2 << 10
)

// Options configures a Client. The zero value is valid: every zero field
// takes the default stated in its comment.
type Options struct {
	// UserAgent is the User-Agent header of every request. Zero means
	// "crawl".
	UserAgent string
	// Timeout bounds a whole fetch: every redirect hop, connecting, waiting
	// for headers and reading the body. Zero means 30s.
	Timeout time.Duration
	// ConnectTimeout bounds dialing a connection, and separately its TLS
	// handshake. Zero means 10s.
	ConnectTimeout time.Duration
	// HeaderTimeout bounds the wait for response headers once the request
	// is written. Zero means 15s.
	HeaderTimeout time.Duration
	// MaxBodyBytes caps the bytes of body read per response, counted after
	// decompression. Zero means 10 MiB.
	MaxBodyBytes int64
	// MaxRedirects is the number of redirects Fetch follows. Zero means 10.
	// Negative means none: a redirect is returned as the Response.
	MaxRedirects int
	// MaxConnsPerHost caps connections to one host (dialing, active and
	// idle); further requests wait for a free one. Zero means 2.
	MaxConnsPerHost int
	// Header holds extra request headers, such as Authorization for a
	// private site. They are sent on the first request and on redirect hops
	// to the same origin (scheme, host, port; an upgrade from http to https
	// on default ports counts as the same origin). Once a hop leaves that
	// origin, Authorization, Proxy-Authorization, Cookie and Cookie2 are no
	// longer sent, for the rest of the fetch; nor are the headers named
	// by SecretHeaders. User-Agent and Accept-Encoding here are ignored;
	// Accept replaces the default. A header whose values are all empty
	// (or that has none) is not sent: that is how the default Accept is
	// removed. Nil means no extra header.
	Header http.Header
	// SecretHeaders names more headers of Header that carry credentials
	// (an API key header, say), scoped like Authorization: by
	// HeaderOrigins and never past a redirect to another origin. Case does
	// not matter. Nil means only the standard ones.
	SecretHeaders []string
	// HeaderOrigins, when not empty, further limits the credential headers
	// of Header to fetches whose first URL is on one of these origins, such
	// as "https://example.com" or "http://127.0.0.1:8080" (scheme, host and
	// port count; a path is ignored). Set it whenever a Client with
	// credentials may be asked for other hosts, by a link or by the
	// robots.txt of a redirect's target: otherwise the first request of
	// every fetch carries them, whatever its host.
	// Client.AddHeaderOrigin adds more later. Empty means no limit, unless
	// LimitHeaderOrigins is set.
	HeaderOrigins []string
	// LimitHeaderOrigins makes an empty HeaderOrigins mean no origin
	// rather than every one: the credential headers of Header go nowhere
	// until AddHeaderOrigin names an origin. A crawler that learns its
	// seeds after building the Client sets it. False keeps the rule of
	// HeaderOrigins.
	LimitHeaderOrigins bool
	// Credentials maps origins ("https://example.com",
	// "http://127.0.0.1:8080": scheme, host and port count, a path is
	// ignored) to a user name and password, sent as HTTP Basic
	// authentication on every request to that origin (Fetch, its redirect
	// hops that land there, and Get, so robots.txt too) that has no
	// Authorization header of its own, and never to another origin. This
	// is what curl and wget do with the credentials of a URL
	// ("http://alice:s3cret@host/"). Client.AddCredentials adds more later.
	// Nil means none.
	Credentials map[string]*url.Userinfo
	// DenyPrivate refuses to connect to addresses that are not public (see
	// PublicAddr): private, loopback, link-local (169.254.169.254 among
	// them), unspecified, multicast and reserved ones. The check runs on the
	// address being dialed, after DNS resolution, for every connection: the
	// first request, each redirect hop and robots.txt. A refused fetch fails
	// with ClassDenied. False allows every address.
	DenyPrivate bool
	// Jar, when not nil, keeps the cookies responses set and sends them
	// back, as a browser does: on every request of the Client (Fetch, each
	// of its redirect hops, and Get, so robots.txt and sitemaps too), the
	// jar gets the Set-Cookie headers of the response and supplies the
	// Cookie header of the request. The jar's own rules decide which host
	// gets which cookie: use net/http/cookiejar with a public suffix list
	// for RFC 6265's. Its cookies are added to a Cookie header of Header,
	// when that one is sent. Nil means no cookie kept, none sent but
	// Header's.
	Jar http.CookieJar
	// Proxy, when not nil, returns the proxy a request goes through, as
	// http.Transport.Proxy does: an http://, https://, socks5:// or
	// socks5h:// URL, whose user:pass@ is sent as Proxy-Authorization (or
	// as SOCKS5 user/password authentication); nil for a direct
	// connection. It is called for every request of the Client (Fetch,
	// each redirect hop, Get: so robots.txt and sitemaps too) with a
	// request whose URL is the target and whose Context is the fetch's:
	// it may block, as a pool waiting for a proxy to come back does, and
	// the first hop's call is made before Timeout starts counting. Its
	// error fails the fetch with ClassProxy. With DenyPrivate, the target
	// host of a proxied request is resolved and checked before the
	// request is handed to the proxy; the proxy's own address is not
	// checked. Nil means no proxy: the environment (HTTP_PROXY) is never
	// read.
	Proxy func(*http.Request) (*url.URL, error)
	// ProxyFeedback, when not nil, is told how each request through a
	// proxy of Proxy went, and says when the proxy failed it: the fetch
	// then fails with ClassProxy, which the crawler retries (through
	// another proxy, if the feedback benched this one). Nil means no
	// feedback: only a refused CONNECT tunnel is a ClassProxy failure.
	ProxyFeedback ProxyFeedback
}

// Validate reports whether o has values New would not honor: negative
// durations, sizes or connection caps (New replaces them by the defaults).
func (o Options) Validate() error {
	switch {
	case o.Timeout < 0:
		return fmt.Errorf("fetch: negative Timeout %v", o.Timeout)
	case o.ConnectTimeout < 0:
		return fmt.Errorf("fetch: negative ConnectTimeout %v", o.ConnectTimeout)
	case o.HeaderTimeout < 0:
		return fmt.Errorf("fetch: negative HeaderTimeout %v", o.HeaderTimeout)
	case o.MaxBodyBytes < 0:
		return fmt.Errorf("fetch: negative MaxBodyBytes %d", o.MaxBodyBytes)
	case o.MaxConnsPerHost < 0:
		return fmt.Errorf("fetch: negative MaxConnsPerHost %d", o.MaxConnsPerHost)
	}
	for _, s := range o.HeaderOrigins {
		if _, err := originKey(s); err != nil {
			return fmt.Errorf("fetch: HeaderOrigins: %w", err)
		}
	}
	for k := range o.Header {
		if !ValidHeaderName(k) {
			return fmt.Errorf("fetch: Header: %q is not a valid header name", k)
		}
	}
	for _, k := range o.SecretHeaders {
		if !ValidHeaderName(k) {
			return fmt.Errorf("fetch: SecretHeaders: %q is not a valid header name", k)
		}
	}
	var cr credentials
	for origin, user := range o.Credentials {
		if err := cr.add(origin, user); err != nil {
			return err
		}
	}
	return nil
}

// originKey returns "scheme://host:port" for an absolute http(s) URL, with
// the host lower-cased and the default port written out.
func originKey(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return u.Scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), portOf(u)), nil
}

// withDefaults returns o with zero (and invalid negative) fields replaced by
// their defaults and Header cloned.
func (o Options) withDefaults() Options {
	if o.UserAgent == "" {
		o.UserAgent = defaultUserAgent
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = defaultConnectTimeout
	}
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = defaultHeaderTimeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = defaultMaxBodyBytes
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = defaultMaxRedirects
	}
	if o.MaxConnsPerHost <= 0 {
		o.MaxConnsPerHost = defaultMaxConnsPerHost
	}
	// Keys are made canonical, so that a Header written as a literal
	// map matches the names it is checked against.
	h := make(http.Header, len(o.Header))
	for k, vv := range o.Header {
		k = http.CanonicalHeaderKey(k)
		h[k] = append(h[k], vv...)
	}
	h.Del("User-Agent")
	h.Del("Accept-Encoding")
	o.Header = h
	return o
}

// Response is a fetched response. A response of any status is a Response,
// not an error. Body belongs to the caller, who may hand its memory back
// to the Client with Release once nothing refers to it.
type Response struct {
	// URL is the URL passed to Fetch.
	URL string
	// FinalURL is the URL of the last hop, after redirects.
	FinalURL string
	// Status is the HTTP status code of the last hop.
	Status int
	// Header is the header of the last hop.
	Header http.Header
	// ContentType is the Content-Type header as sent, possibly empty.
	ContentType string
	// Body is the body, decompressed, at most the cap long.
	Body []byte
	// Bytes is len(Body), kept so that a caller may drop Body and still
	// account for it.
	Bytes int64
	// Duration is the time from the start of the fetch to the end of the
	// body, redirects included.
	Duration time.Duration
	// Redirects is the number of redirects followed.
	Redirects int
	// RetryAfter is the wait asked for by a Retry-After header on the last
	// hop (see ParseRetryAfter); zero if absent or invalid.
	RetryAfter time.Duration

	pool *sync.Pool // where Release puts Body; nil once released
}

// Release hands Body's memory back to the Client that fetched it, for the
// bodies of later fetches, and sets Body to nil. Call it only when nothing
// refers to Body any more (no slice of it, no string made from it without
// a copy); Bytes and the other fields stay valid. Release is optional (a
// body never released is garbage collected as usual) and does nothing on
// a Response not returned by Fetch, or on a second call. It saves the
// allocation, zeroing and collection of a body per fetch.
func (r *Response) Release() {
	if r == nil || r.pool == nil {
		return
	}
	if b := r.Body; cap(b) > 0 && cap(b) <= maxPooledBuffer {
		b = b[:0]
		r.pool.Put(&b)
	}
	r.Body, r.pool = nil, nil
}

// Client fetches URLs over HTTP(S). It is safe for concurrent use and is
// meant to be shared by all workers of a crawl: it owns the connection pool.
type Client struct {
	opts Options
	// secret holds the canonical names of Options.SecretHeaders.
	secret map[string]bool
	tr     *http.Transport
	hc     *http.Client
	// bufs holds body buffers (*[]byte, empty, capacity at most
	// maxPooledBuffer) for reuse: scratch for bodies of unknown length, and
	// the bodies that Response.Release hands back.
	bufs sync.Pool
	// creds holds Options.Credentials and those AddCredentials added, and
	// the origins of Options.HeaderOrigins and AddHeaderOrigin.
	creds credentials
	// proxied sends the requests Options.Proxy routes through a proxy;
	// nil without Options.Proxy.
	proxied *http.Client
	// resolve, when not nil, replaces DNS for checkTarget (tests).
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// New returns a Client configured by opts; see Options for the defaults.
// Negative values that Validate rejects are replaced by the defaults.
func New(opts Options) *Client {
	opts = opts.withDefaults()
	dialer := &net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}
	if opts.DenyPrivate {
		dialer.ControlContext = denyPrivate
	}
	tr := &http.Transport{
		Proxy:                  nil, // libraries read no environment
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    opts.MaxConnsPerHost,
		MaxConnsPerHost:        opts.MaxConnsPerHost,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    opts.ConnectTimeout,
		ResponseHeaderTimeout:  opts.HeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 1 << 20,
	}
	c := &Client{
		opts: opts,
		tr:   tr,
		hc: &http.Client{
			Transport: tr,
			// Redirects are followed by fetch, hop by hop, so that each is
			// checked and classified and its headers chosen here.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			// http.Client.Do reads and feeds the jar on each request it
			// sends, so on each hop of fetch.
			Jar: opts.Jar,
		},
	}
	c.bufs.New = func() any { return new([]byte) }
	c.proxied = newProxiedClient(opts, tr, c.hc)
	for origin, user := range opts.Credentials {
		_ = c.creds.add(origin, user) // Validate reports the bad ones
	}
	c.creds.limitHeaders = opts.LimitHeaderOrigins
	for _, s := range opts.HeaderOrigins {
		_ = c.creds.addHeaderOrigin(s) // Validate reports the bad ones
	}
	for _, name := range opts.SecretHeaders {
		if c.secret == nil {
			c.secret = make(map[string]bool)
		}
		c.secret[http.CanonicalHeaderKey(name)] = true
	}
	return c
}

// CloseIdleConnections closes connections kept alive for reuse that are
// now idle. It does not interrupt fetches in progress.
func (c *Client) CloseIdleConnections() {
	c.tr.CloseIdleConnections()
	if c.proxied != nil {
		c.proxied.CloseIdleConnections()
	}
}

// policy is what differs between Fetch and Get.
type policy struct {
	check        func(ctx context.Context, u *url.URL) error
	maxRedirects int   // negative: follow none
	maxBodyBytes int64 // cap on the decompressed body
	lastOnLimit  bool  // past maxRedirects, return the redirect, not an error
	pooled       bool  // body from the pool, for Response.Release

	// post, when not nil, is sent as a POST on the first hop (see Post).
	post *postBody
}

// ErrUseLastResponse can be returned by the check function of Fetch to
// stop at a redirect without following it: Fetch then returns the
// redirect itself (its status, its header with the Location, no body) as
// the Response, with a nil error, as http.ErrUseLastResponse does for
// http.Client.CheckRedirect. Check errors that wrap it count as it.
var ErrUseLastResponse = errors.New("fetch: use last response")

// Fetch GETs rawURL and reads its body. Fetch follows up to
// Options.MaxRedirects redirects (301, 302, 303, 307, 308 with a Location);
// before following one, it calls check, if non-nil, with a copy of the
// target, under the fetch's deadline. If check returns an error matching
// ErrUseLastResponse, Fetch returns the redirect as the Response. If it
// returns another error, the fetch stops with an *Error wrapping it, whose
// class is the check error's own (from a Class() string method in its
// chain) or else inferred as for any error.
//
// The whole fetch, redirects and body included, is bounded by
// Options.Timeout and by ctx.
//
// On success Fetch returns a Response and a nil error whatever the status.
// Otherwise it returns a nil Response and an *Error, except when the body
// exceeds Options.MaxBodyBytes: then it returns the Response with Body
// truncated to the cap and an *Error of class ClassTooLarge. The Response's
// Body may be handed back for reuse with Release.
func (c *Client) Fetch(ctx context.Context, rawURL string, check func(ctx context.Context, u *url.URL) error) (*Response, error) {
	return c.fetch(ctx, rawURL, policy{
		check:        check,
		maxRedirects: c.opts.MaxRedirects,
		maxBodyBytes: c.opts.MaxBodyBytes,
		pooled:       true,
	})
}

// Get GETs rawURL for robots.txt and sitemaps: it follows up to 5 redirects
// without checks and reads at most 512 KiB of body, whatever
// Options.MaxBodyBytes says. A longer body is truncated to 512 KiB without
// error, as RFC 9309 lets robots.txt parsers do; a sixth redirect is
// returned as is (3xx status), which RFC 9309 lets a crawler treat as
// "robots.txt unavailable". Any other failure returns a zero status, a nil
// body and an *Error. Get satisfies robots.Getter.
func (c *Client) Get(ctx context.Context, rawURL string) (status int, body []byte, err error) {
	resp, err := c.fetch(ctx, rawURL, policy{
		maxRedirects: getMaxRedirects,
		maxBodyBytes: getMaxBodyBytes,
		lastOnLimit:  true,
	})
	if err != nil && resp == nil {
		return 0, nil, err
	}
	return resp.Status, resp.Body, nil
}

func (c *Client) fetch(ctx context.Context, rawURL string, p policy) (*Response, error) {
	start := time.Now()
	u, err := parseTarget(rawURL)
	if err != nil {
		return nil, newError(rawURL, ClassInvalidURL, err)
	}
	// The first hop's proxy is chosen before the timeout starts: waiting
	// for one (all benched) is not the fetch's slowness.
	pu, err := c.chooseProxy(ctx, u)
	if err != nil {
		return nil, proxyFailed(ctx, ctx, rawURL, err)
	}
	reqCtx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	fail := func(err error) (*Response, error) {
		return nil, newError(rawURL, classify(ctx, reqCtx, err), err)
	}

	origin := u
	sendCreds := true
	headerCreds := c.creds.headersAllowed(u)
	post := p.post
	for hops := 0; ; hops++ {
		if hops > 0 && c.proxied != nil {
			if pu, err = c.chooseProxy(reqCtx, u); err != nil {
				return nil, proxyFailed(ctx, reqCtx, rawURL, err)
			}
		}
		if pu != nil && c.opts.DenyPrivate {
			if err := c.checkTarget(reqCtx, u); err != nil {
				return fail(err)
			}
		}
		resp, err := c.do(reqCtx, u, post, sendCreds, sendCreds && headerCreds, pu)
		if err != nil {
			if pu != nil && ctx.Err() == nil {
				if perr := c.judgeProxy(pu, u, 0, nil, classify(ctx, reqCtx, err), err); perr != nil {
					return nil, newError(rawURL, ClassProxy, perr)
				}
			}
			return fail(err)
		}
		post = post.after(resp.StatusCode)
		loc := resp.Header.Get("Location")
		if !isRedirect(resp.StatusCode) || loc == "" || p.maxRedirects < 0 ||
			(hops >= p.maxRedirects && p.lastOnLimit) {
			return proxyHop{ctx, c, pu, u, rawURL}.final(c.finish(ctx, reqCtx, resp, rawURL, u, hops, start, p.maxBodyBytes, p.pooled))
		}
		drain(resp.Body)
		if perr := c.judgeProxy(pu, u, resp.StatusCode, nil, "", nil); perr != nil {
			return nil, newError(rawURL, ClassProxy, perr)
		}
		if hops >= p.maxRedirects {
			return nil, newError(rawURL, ClassRedirectLimit, fmt.Errorf("stopped after %d redirects", hops))
		}
		next, err := redirectTarget(u, loc)
		if err != nil {
			return nil, newError(rawURL, ClassBadRedirect, err)
		}
		if p.check != nil {
			target := *next
			if err := p.check(reqCtx, &target); err != nil {
				if errors.Is(err, ErrUseLastResponse) {
					// Its body was drained above, so as not to hold the
					// connection while check ran.
					resp.Body, resp.ContentLength = http.NoBody, 0
					return proxyHop{ctx, c, pu, u, rawURL}.final(c.finish(ctx, reqCtx, resp, rawURL, u, hops, start, p.maxBodyBytes, p.pooled))
				}
				var ce classer
				if errors.As(err, &ce) && ce.Class() != "" {
					return nil, newError(rawURL, ce.Class(), err)
				}
				return fail(err)
			}
		}
		sendCreds = sendCreds && sameCredentialScope(origin, next)
		u = next
	}
}

// do sends one GET for u (or POST, when post is not nil), with the
// userinfo of u only if sendCreds and the credential headers of
// Options.Header only if headerCreds, through proxy when it is not nil.
func (c *Client) do(ctx context.Context, u *url.URL, post *postBody, sendCreds, headerCreds bool, proxy *url.URL) (*http.Response, error) {
	ctx, hc := c.viaProxy(ctx, proxy)
	req, err := post.request(ctx, u)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", acceptHeader)
	for k, vv := range c.opts.Header {
		if !headerCreds && c.isCredential(k) {
			continue
		}
		if allEmpty(vv) {
			req.Header.Del(k) // a header given empty removes the default
			continue
		}
		req.Header[k] = vv
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if !sendCreds {
		// net/http turns userinfo into basic auth: none goes to another
		// origin, not even userinfo the redirect's Location supplied.
		req.URL.User = nil
	}
	c.setCredentials(req)
	return hc.Do(req)
}

// finish reads the body of the final response and builds the Response.
func (c *Client) finish(ctx, reqCtx context.Context, resp *http.Response, rawURL string, u *url.URL, hops int, start time.Time, maxBody int64, pooled bool) (*Response, error) {
	defer resp.Body.Close()
	body, truncated, err := c.readBody(resp.Body, resp.ContentLength, maxBody, pooled)
	if err != nil {
		return nil, newError(rawURL, classify(ctx, reqCtx, err), err)
	}
	ra, _ := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	r := &Response{
		URL:         rawURL,
		FinalURL:    redactedURL(u),
		Status:      resp.StatusCode,
		Header:      resp.Header,
		ContentType: resp.Header.Get("Content-Type"),
		Body:        body,
		Bytes:       int64(len(body)),
		Duration:    time.Since(start),
		Redirects:   hops,
		RetryAfter:  ra,
	}
	if pooled {
		r.pool = &c.bufs
	}
	if truncated {
		return r, newError(rawURL, ClassTooLarge, fmt.Errorf("body longer than %d bytes", maxBody))
	}
	return r, nil
}

// readBody reads r, a body of contentLength bytes (-1: unknown), up to max
// bytes. It reports whether there was more. A body of known length is read
// into one slice of that size, or of the cap when it claims more; a body
// of unknown length grows by doubling, never past the cap plus one byte.
// Either way a body at the cap costs about the cap, not several times it.
//
// With pooled, the body starts in a buffer from the pool when one is big
// enough, and the caller hands it back with Response.Release. Without, the
// caller owns the result for good: a body of unknown length that fits a
// pooled scratch buffer is read there and copied out.
func (c *Client) readBody(r io.Reader, contentLength, max int64, pooled bool) (body []byte, truncated bool, err error) {
	// One spare byte tells a body at the cap from a longer one, and lets the
	// read that returns io.EOF land without growing the slice.
	limit := max + 1
	lr := &io.LimitedReader{R: r, N: limit}
	switch {
	case pooled:
		scratch := c.bufs.Get().(*[]byte)
		b := (*scratch)[:0]
		if contentLength >= 0 && int64(cap(b)) < min(contentLength, max)+1 {
			// Too small: drop it, so that the pool's buffers grow to the
			// bodies of the crawl instead of churning.
			b = make([]byte, 0, min(contentLength, max)+1)
		}
		body, err = readAll(lr, b, limit)
	case contentLength >= 0:
		body, err = readAll(lr, make([]byte, 0, min(contentLength, max)+1), limit)
	default:
		scratch := c.bufs.Get().(*[]byte)
		body, err = readAll(lr, (*scratch)[:0], limit)
		if cap(body) <= maxPooledBuffer {
			body, *scratch = bytes.Clone(body), body[:0]
		}
		c.bufs.Put(scratch)
	}
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > max {
		return body[:max:max], true, nil
	}
	return body, false, nil
}

// readAll is io.ReadAll starting from b, growing b by doubling but never
// past limit bytes of capacity; r must not yield more than limit bytes.
func readAll(r io.Reader, b []byte, limit int64) ([]byte, error) {
	for {
		if len(b) == cap(b) && int64(cap(b)) < limit {
			grown := make([]byte, len(b), min(max(2*int64(cap(b)), 4096), limit))
			copy(grown, b)
			b = grown
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
	}
}

// drain reads a little of a redirect's body, so that its connection can be
// reused when the body is small, and closes it.
func drain(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, maxDrainBytes)
	body.Close()
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// parseTarget parses the URL to fetch and checks it is absolute http(s).
func parseTarget(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host")
	}
	return u, nil
}

// redirectTarget resolves a Location header against the URL that returned
// it and checks the result is a URL Fetch may follow.
func redirectTarget(from *url.URL, loc string) (*url.URL, error) {
	next, err := from.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("invalid Location %q: %w", loc, err)
	}
	if next.Scheme != "http" && next.Scheme != "https" {
		return nil, fmt.Errorf("redirect to %q: scheme is not http or https", next.Redacted())
	}
	if next.Host == "" {
		return nil, fmt.Errorf("redirect to %q: no host", next.Redacted())
	}
	next.Fragment, next.RawFragment = "", ""
	return next, nil
}

// isCredential reports whether a header, by its canonical name, carries
// credentials that must not leave the origin they were given for: a
// standard one or one of Options.SecretHeaders.
func (c *Client) isCredential(key string) bool {
	switch key {
	case "Authorization", "Proxy-Authorization", "Cookie", "Cookie2":
		return true
	}
	return c.secret[key]
}

// ValidHeaderName reports whether name is a valid HTTP header field name:
// one or more token characters (RFC 9110, section 5.1).
func ValidHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// allEmpty reports whether a header's values are all empty strings.
func allEmpty(vv []string) bool {
	for _, v := range vv {
		if v != "" {
			return false
		}
	}
	return true
}

// sameCredentialScope reports whether credentials meant for from may be
// sent to to: same host and port and scheme, or an http to https upgrade of
// the same host on default ports. This is stricter than net/http, which
// also sends them to subdomains and to other ports.
func sameCredentialScope(from, to *url.URL) bool {
	if !strings.EqualFold(from.Hostname(), to.Hostname()) {
		return false
	}
	fp, tp := portOf(from), portOf(to)
	if from.Scheme == to.Scheme {
		return fp == tp
	}
	return from.Scheme == "http" && to.Scheme == "https" && fp == "80" && tp == "443"
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}
