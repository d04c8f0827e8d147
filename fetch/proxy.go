package fetch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"
)

// ProxyFeedback learns how each request sent through a proxy went, and
// judges whether the proxy failed it: a pool of proxies (package proxy)
// benches the proxies that refuse, time out or are banned. It must be safe
// for concurrent use.
type ProxyFeedback interface {
	// ProxyResult is called once for each request a Client sent through a
	// proxy chosen by Options.Proxy: each redirect hop, robots.txt and
	// sitemaps included, unless the caller's context ended. A non-nil
	// error says the proxy failed the request: the fetch then fails with
	// ClassProxy and that error, which must not show the proxy's
	// credentials. r.Body is valid only during the call.
	ProxyResult(r ProxyResult) error
}

// ProxyResult is how one request through a proxy went.
type ProxyResult struct {
	// Proxy is the proxy the request went through, as Options.Proxy
	// returned it (with its credentials: never log it as is).
	Proxy *url.URL
	// URL is the URL requested.
	URL *url.URL
	// Status is the response's status; zero when Err is set. A CONNECT
	// tunnel the proxy refused counts as a response of the proxy's status.
	Status int
	// Body is the response's body as read (the final hop's; nil for a
	// redirect hop and when Err is set).
	Body []byte
	// Err is the error the request failed with; nil when a response came.
	Err error
	// Class is Err's failure class (ClassConnect, ClassTimeout, ...);
	// empty when Err is nil.
	Class string
}

// proxyKey is the context key of the proxy chosen for a request, which
// the proxied transport's Proxy function reads.
type proxyKey struct{}

// proxyStatusError is the error of a CONNECT request the proxy answered
// with another status than 200: the proxy's failure, ClassProxy.
type proxyStatusError struct{ status int }

func (e *proxyStatusError) Error() string {
	return "proxy refused the tunnel: " + strconv.Itoa(e.status) + " " + http.StatusText(e.status)
}

// Class implements the classer interface: ClassProxy.
func (e *proxyStatusError) Class() string { return ClassProxy }

// newProxiedClient returns the client of the requests that go through a
// proxy, nil when opts has no Proxy. Its transport is tr's, but for two
// things. It dials without the DenyPrivate check, since the address it
// dials is the proxy's (a loopback proxy is legitimate); the target is
// checked before the request is handed over (see checkTarget). And it
// has no per-host connection cap: through an HTTP proxy every plain-http
// target shares the proxy's connections, so the cap would throttle the
// whole crawl; the crawler's per-host cap still holds.
func newProxiedClient(opts Options, tr *http.Transport, hc *http.Client) *http.Client {
	if opts.Proxy == nil {
		return nil
	}
	ptr := tr.Clone()
	dialer := &net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}
	ptr.DialContext = dialer.DialContext
	ptr.MaxConnsPerHost = 0
	ptr.MaxIdleConnsPerHost = maxIdleConns / 8
	ptr.Proxy = func(req *http.Request) (*url.URL, error) {
		if u, ok := req.Context().Value(proxyKey{}).(*url.URL); ok {
			return u, nil
		}
		// Never a direct connection from this transport: it does not
		// check the addresses it dials.
		return nil, errors.New("fetch: no proxy chosen")
	}
	ptr.OnProxyConnectResponse = func(_ context.Context, _ *url.URL, _ *http.Request, resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return &proxyStatusError{status: resp.StatusCode}
		}
		return nil
	}
	phc := *hc
	phc.Transport = ptr
	return &phc
}

// chooseProxy asks Options.Proxy which proxy a request for u goes
// through, under ctx (a pool may wait in it for a proxy to come back). A
// nil URL means none.
func (c *Client) chooseProxy(ctx context.Context, u *url.URL) (*url.URL, error) {
	if c.proxied == nil {
		return nil, nil
	}
	req := (&http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}}).WithContext(ctx)
	pu, err := c.opts.Proxy(req)
	if err != nil {
		return nil, fmt.Errorf("choosing a proxy: %w", err)
	}
	return pu, nil
}

// proxyFailed returns the error of a fetch that failed to choose a proxy:
// canceled or timed out with its context, ClassProxy otherwise.
func proxyFailed(ctx, reqCtx context.Context, rawURL string, err error) *Error {
	if ctx.Err() != nil || reqCtx.Err() != nil {
		return newError(rawURL, classify(ctx, reqCtx, err), err)
	}
	return newError(rawURL, ClassProxy, err)
}

// viaProxy returns ctx carrying proxy for the proxied transport, and the
// client to send with: the direct one when proxy is nil.
func (c *Client) viaProxy(ctx context.Context, proxy *url.URL) (context.Context, *http.Client) {
	if proxy == nil {
		return ctx, c.hc
	}
	return context.WithValue(ctx, proxyKey{}, proxy), c.proxied
}

// judgeProxy tells Options.ProxyFeedback how a request through proxy
// went, and returns the error the fetch fails with when the proxy is to
// blame; nil otherwise. Without feedback, only a refused CONNECT tunnel
// is the proxy's (it carries ClassProxy already).
func (c *Client) judgeProxy(proxy, u *url.URL, status int, body []byte, class string, err error) error {
	if proxy == nil || c.opts.ProxyFeedback == nil {
		return nil
	}
	var pse *proxyStatusError
	if errors.As(err, &pse) {
		status, err, class = pse.status, nil, ""
	}
	return c.opts.ProxyFeedback.ProxyResult(ProxyResult{Proxy: proxy, URL: u, Status: status, Body: body, Err: err, Class: class})
}

// checkTarget applies DenyPrivate to the host of a request that goes
// through a proxy: the address dialed is the proxy's, so the target's is
// resolved and judged here, before the request is handed to the proxy.
// Every address the name resolves to must be public. (The proxy resolves
// the name again; a name whose answer changes in between is the one case
// this cannot see.)
func (c *Client) checkTarget(ctx context.Context, u *url.URL) error {
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !PublicAddr(a) {
			return &deniedError{addr: a.Unmap().String()}
		}
		return nil
	}
	addrs, err := c.lookup(ctx, host)
	if err != nil {
		return err
	}
	if len(addrs) == 0 {
		return &net.DNSError{Err: "no address", Name: host, IsNotFound: true}
	}
	for _, a := range addrs {
		if !PublicAddr(a) {
			return &deniedError{addr: a.Unmap().String()}
		}
	}
	return nil
}

// lookup resolves host for checkTarget; tests replace it.
func (c *Client) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if c.resolve != nil {
		return c.resolve(ctx, host)
	}
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// proxyHop is the last hop of a fetch and its proxy, for judging the
// final response once its body is read.
type proxyHop struct {
	ctx    context.Context // the caller's
	c      *Client
	proxy  *url.URL // nil: no proxy, nothing to judge
	u      *url.URL
	rawURL string
}

// final passes on what finish returned, once ProxyFeedback has judged it:
// a response (or a body cut short) the proxy is blamed for becomes a
// ClassProxy failure, and its body goes back to the pool.
func (h proxyHop) final(r *Response, err error) (*Response, error) {
	if h.proxy == nil || h.ctx.Err() != nil {
		return r, err
	}
	var perr error
	if r == nil {
		perr = h.c.judgeProxy(h.proxy, h.u, 0, nil, ClassOf(err), errors.Unwrap(err))
	} else {
		perr = h.c.judgeProxy(h.proxy, h.u, r.Status, r.Body, "", nil)
	}
	if perr == nil {
		return r, err
	}
	r.Release()
	return nil, newError(h.rawURL, ClassProxy, perr)
}
