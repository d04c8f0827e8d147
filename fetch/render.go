package fetch

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// RenderRequest is a page a renderer (a browser) is asked to render: the
// response the crawl already fetched for it, and what every further
// request the page makes must go through. The types a renderer shares
// with the crawler live here, so that a renderer needs no other package
// of this module.
type RenderRequest struct {
	// Document is the page's response as the crawl fetched it (after the
	// redirects it followed): the renderer serves it to the browser as
	// the page, so the page is fetched once. It must not be released
	// before Render returns.
	Document *Response
	// Check is called before each subrequest (script, style sheet,
	// fetch()/XHR, frame, a navigation the page starts) with its URL; an
	// error blocks it, and its class (ClassOf) says why: ClassRobots for
	// robots.txt. Nil allows every URL.
	Check func(ctx context.Context, u *url.URL) error
	// Subfetch sends one subrequest as the browser asked for it, through
	// the crawl's client (its headers, credentials scope, cookie jar,
	// proxy, private-address guard and body cap); Client.Subfetch is one.
	// Nil blocks every subrequest.
	Subfetch func(ctx context.Context, req *http.Request) (*Response, error)
}

// Rendered is what a renderer made of a page.
type Rendered struct {
	// Body is the rendered DOM, serialized as HTML (UTF-8).
	Body []byte
	// FinalURL is the URL of the rendered document (the Document's final
	// URL, plus any change the page made with the history API).
	FinalURL string
	// NavigatedTo is the URL of a navigation the page started itself (a
	// script setting location, a meta refresh) that the renderer did not
	// follow, the way a crawl does not follow a redirect to another host:
	// the crawler records it as a redirect and queues it. Empty if none.
	NavigatedTo string
	// Subrequests lists every request the page made, in the order made,
	// allowed or not.
	Subrequests []Subrequest
	// Screenshot is a PNG of the rendered page, when asked for; nil if not.
	Screenshot []byte
	// Duration is the time the rendering took.
	Duration time.Duration
}

// Subrequest outcomes (Subrequest.Result): a closed set, used as a metric
// label.
const (
	SubAllowed        = "allowed"         // fetched and given to the browser
	SubBlockedRobots  = "blocked_robots"  // robots.txt (or scope) refused it
	SubBlockedPrivate = "blocked_private" // its address is not public (DenyPrivate)
	SubBlockedType    = "blocked_type"    // a blocked resource type (images, media, fonts)
	SubFailed         = "failed"          // the fetch failed (network, cap, timeout)
)

// SubrequestResults returns the closed set of Subrequest.Result values.
// The slice is the caller's.
func SubrequestResults() []string {
	return []string{SubAllowed, SubBlockedRobots, SubBlockedPrivate, SubBlockedType, SubFailed}
}

// Subrequest is one request a rendered page made.
type Subrequest struct {
	// URL is the request's URL, without user info.
	URL string
	// Method is its HTTP method.
	Method string
	// Type is the browser's resource type: "Script", "Stylesheet",
	// "XHR", "Fetch", "Image", "Font", "Document" and so on.
	Type string
	// Result is one of the Sub* constants.
	Result string
	// Status is the response's status; 0 when none came.
	Status int
	// Bytes is the length of the body received.
	Bytes int64
}

// XHR reports whether the request was made by a script with fetch() or
// XMLHttpRequest.
func (s Subrequest) XHR() bool { return s.Type == "XHR" || s.Type == "Fetch" }

// Subfetch sends one request as a browser made it, for a page being
// rendered, and reads the body under Options.MaxBodyBytes. It follows no
// redirect: a 3xx is returned as is, so that the browser asks again for
// the target and that request is checked in turn. The request's method,
// body and headers are kept, except those the Client owns: User-Agent is
// Options.UserAgent, Cookie comes from Options.Jar only (a browser's own
// cookies never leave it), and Authorization only from Options.Header and
// Options.Credentials under their origin rules, as for Fetch. Options.Header
// is added as for Fetch. DenyPrivate, the proxy and the timeouts hold.
//
// Like Fetch, it returns a Response of any status, or a nil Response and
// an *Error; a body over the cap gives the truncated Response and an
// *Error of class ClassTooLarge. The Response's Body is the caller's (it
// is not pooled).
func (c *Client) Subfetch(ctx context.Context, req *http.Request) (*Response, error) {
	start := time.Now()
	rawURL := req.URL.String()
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" || req.URL.Host == "" {
		return nil, newError(rawURL, ClassInvalidURL, errNotHTTP)
	}
	// As for Fetch: the proxy is chosen before the timeout counts.
	pu, err := c.chooseProxy(ctx, req.URL)
	if err != nil {
		return nil, proxyFailed(ctx, ctx, rawURL, err)
	}
	reqCtx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	pctx, hc := c.viaProxy(reqCtx, pu)
	out := req.Clone(pctx)
	out.URL.User = nil
	out.RequestURI = ""
	for _, k := range []string{"Cookie", "Cookie2", "Authorization", "Proxy-Authorization", "User-Agent", "Accept-Encoding", "Host", "Connection"} {
		out.Header.Del(k)
	}
	headerCreds := c.creds.headersAllowed(out.URL)
	for k, vv := range c.opts.Header {
		if k == "Accept" || !headerCreds && c.isCredential(k) {
			continue // the browser's Accept fits what it asked for
		}
		if allEmpty(vv) {
			out.Header.Del(k)
			continue
		}
		out.Header[k] = vv
	}
	out.Header.Set("User-Agent", c.opts.UserAgent)
	c.setCredentials(out)
	if pu != nil && c.opts.DenyPrivate {
		if err := c.checkTarget(reqCtx, out.URL); err != nil {
			return nil, newError(rawURL, classify(ctx, reqCtx, err), err)
		}
	}
	resp, err := hc.Do(out)
	if err != nil {
		if pu != nil && ctx.Err() == nil {
			if perr := c.judgeProxy(pu, out.URL, 0, nil, classify(ctx, reqCtx, err), err); perr != nil {
				return nil, newError(rawURL, ClassProxy, perr)
			}
		}
		return nil, newError(rawURL, classify(ctx, reqCtx, err), err)
	}
	defer resp.Body.Close()
	body, truncated, err := c.readBody(resp.Body, resp.ContentLength, c.opts.MaxBodyBytes, false)
	if err != nil {
		return nil, newError(rawURL, classify(ctx, reqCtx, err), err)
	}
	if pu != nil && ctx.Err() == nil {
		if perr := c.judgeProxy(pu, out.URL, resp.StatusCode, body, "", nil); perr != nil {
			return nil, newError(rawURL, ClassProxy, perr)
		}
	}
	r := &Response{
		URL:         rawURL,
		FinalURL:    redactedURL(out.URL),
		Status:      resp.StatusCode,
		Header:      resp.Header,
		ContentType: resp.Header.Get("Content-Type"),
		Body:        body,
		Bytes:       int64(len(body)),
		Duration:    time.Since(start),
	}
	if truncated {
		return r, newError(rawURL, ClassTooLarge, errBodyCap)
	}
	return r, nil
}

// Subfetch's causes for its classes.
var (
	errNotHTTP = errors.New("not an absolute http(s) URL")
	errBodyCap = errors.New("body longer than the cap")
)
