package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"syscall"
)

// Failure classes of a fetch. Every *Error returned by this package carries
// one of these in its Class field, except that an error returned by a
// redirect check keeps the class it reports itself (see Client.Fetch). With
// the crawler's own classes below they make the crawl's one closed set of
// failure classes: new classes are added here, documented, and nowhere
// else.
const (
	// ClassTimeout: Options.Timeout, Options.HeaderTimeout or
	// Options.ConnectTimeout expired, or the caller's context passed its
	// deadline.
	ClassTimeout = "timeout"
	// ClassDNS: the host name could not be resolved.
	ClassDNS = "dns"
	// ClassConnect: the connection could not be made (refused, host or
	// network unreachable).
	ClassConnect = "connect"
	// ClassTLS: the TLS handshake failed (certificate, protocol or alert).
	ClassTLS = "tls"
	// ClassReset: the connection broke after it was made: reset by the peer,
	// closed before a response, or closed before Content-Length bytes of
	// body arrived.
	ClassReset = "reset"
	// ClassTooLarge: the decompressed body is longer than the cap. The fetch
	// returns the truncated Response together with the error.
	ClassTooLarge = "too_large"
	// ClassRedirectLimit: the response was still a redirect after the
	// maximum number of redirects had been followed.
	ClassRedirectLimit = "redirect_limit"
	// ClassBadRedirect: a redirect's Location is unparseable, has no host,
	// or names a scheme other than http or https.
	ClassBadRedirect = "bad_redirect"
	// ClassCanceled: the caller's context was canceled.
	ClassCanceled = "canceled"
	// ClassDenied: Options.DenyPrivate refused to connect to an address
	// that is not public (private, loopback, link-local and so on), for the
	// URL itself or for a redirect hop.
	ClassDenied = "denied"
	// ClassInvalidURL: the URL to fetch is unparseable, has no host, or its
	// scheme is not http or https.
	ClassInvalidURL = "invalid_url"
	// ClassProxy: the proxy the request went through failed it: it refused
	// the connection or the tunnel, timed out, or answered in a way
	// Options.ProxyFeedback judged a failure (407, 403 or 429, a ban
	// page). It is retried: through another proxy when the feedback
	// benched this one.
	ClassProxy = "proxy"
	// ClassOther: none of the above.
	ClassOther = "other"
)

// Failure classes the crawler records for what is not a failed fetch: a
// response it judged, a check that refused a URL or a redirect hop. They
// are listed here so that the crawl's failure classes are one closed set,
// the one Classes returns.
const (
	// ClassHTTP4xx: the server answered with a 4xx status (a 429 after all
	// its retries included).
	ClassHTTP4xx = "http_4xx"
	// ClassHTTP5xx: the server answered with a 5xx status after all
	// retries.
	ClassHTTP5xx = "http_5xx"
	// ClassHTTP429: the server answered 429 Too Many Requests. It is a
	// retry cause only: a URL that still gets a 429 after its retries is
	// recorded as ClassHTTP4xx.
	ClassHTTP429 = "http_429"
	// ClassRobots: robots.txt disallows the URL, or a redirect hop to it.
	ClassRobots = "robots"
	// ClassRobotsUnavailable: robots.txt answered 5xx or 429 for longer
	// than the retries allowed. A host that does not answer at all fails
	// its URLs with the fetch's class instead (dns, connect, tls, …).
	ClassRobotsUnavailable = "robots_unavailable"
	// ClassOutOfScope: a redirect led out of the crawl's scope.
	ClassOutOfScope = "out_of_scope"
	// ClassParse: the body could not be decoded or parsed.
	ClassParse = "parse"
	// ClassRender: the browser could not render the page (it crashed or
	// hung past the timeout) after all retries.
	ClassRender = "render"
)

// Classes returns the closed set of failure classes: every value a crawl
// record's error and a metric's class label can take, in the order they
// are documented, ClassHTTP429 aside (a retry cause, never a record's).
// The slice is the caller's.
func Classes() []string {
	return []string{
		ClassTimeout, ClassDNS, ClassConnect, ClassTLS, ClassReset, ClassTooLarge,
		ClassRedirectLimit, ClassBadRedirect, ClassCanceled, ClassDenied, ClassInvalidURL,
		ClassProxy, ClassOther,
		ClassHTTP4xx, ClassHTTP5xx, ClassRobots, ClassRobotsUnavailable, ClassOutOfScope,
		ClassParse, ClassRender,
	}
}

// Retryable reports whether a failed fetch of class c is worth another
// attempt: the network failures that a later attempt may not meet.
func Retryable(c string) bool {
	switch c {
	case ClassTimeout, ClassConnect, ClassReset, ClassProxy:
		return true
	}
	return false
}

// RetryClasses returns the closed set of causes a request is attempted
// again for: the Retryable fetch classes, a 429 or 5xx answer, and an
// unavailable robots.txt. The slice is the caller's.
func RetryClasses() []string {
	return []string{ClassTimeout, ClassConnect, ClassReset, ClassProxy, ClassHTTP429, ClassHTTP5xx, ClassRobotsUnavailable, ClassRender}
}

// Error is the error type returned by Client.Fetch and Client.Get.
type Error struct {
	// URL is the URL passed to the fetch, with any password redacted.
	URL string
	// Class is the failure class: one of the Class constants, or the class
	// reported by a redirect check's error.
	Class string
	// Err is the underlying error (for a transport failure, the cause inside
	// the *url.Error, which is not kept).
	Err error
}

// Error returns "fetch <url>: <class>: <err>".
func (e *Error) Error() string {
	return "fetch " + e.URL + ": " + e.Class + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// classer is implemented by errors that know their failure class, such as
// the crawler's out-of-scope and robots errors returned by redirect checks.
type classer interface{ Class() string }

// ClassOf returns the failure class of err: "" for nil, the Class of an
// *Error or of an error implementing interface{ Class() string } in err's
// chain, otherwise the class inferred from the chain (a *net.DNSError is
// ClassDNS, context.Canceled is ClassCanceled, and so on), and ClassOther
// when nothing matches.
func ClassOf(err error) string {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Class
	}
	var ce classer
	if errors.As(err, &ce) {
		if c := ce.Class(); c != "" {
			return c
		}
	}
	return inferClass(err)
}

// classify returns the class of err, a failure of a fetch made under reqCtx,
// which was derived from the caller's ctx. The contexts settle what the error
// chain alone cannot: whether the caller canceled or a deadline fired.
func classify(ctx, reqCtx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return ClassCanceled
	case ctx.Err() != nil, reqCtx.Err() != nil:
		return ClassTimeout
	}
	return ClassOf(err)
}

// inferClass classifies err by the types and sentinels in its chain. Order
// matters: a TLS or DNS failure that timed out is still tls or dns, and a
// dial that timed out is a timeout, not a connect failure.
func inferClass(err error) string {
	var (
		dnsErr     *net.DNSError
		recErr     tls.RecordHeaderError
		verifyErr  *tls.CertificateVerificationError
		alertErr   tls.AlertError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		opErr      *net.OpError
		netErr     net.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ClassTimeout
	case errors.As(err, &dnsErr):
		return ClassDNS
	case errors.As(err, &recErr), errors.As(err, &verifyErr), errors.As(err, &alertErr),
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return ClassTLS
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// crypto/tls reports an alert received from the peer this way.
		return ClassTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL):
		return ClassConnect
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return ClassConnect
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ClassReset
	}
	return ClassOther
}

// newError builds the *Error for a fetch of rawURL. A *url.Error from
// net/http is unwrapped so that the URL is not repeated in the message.
func newError(rawURL, class string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &Error{URL: redact(rawURL), Class: class, Err: err}
}

// redact hides the password of a URL with userinfo; other URLs are returned
// unchanged.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	if _, ok := u.User.Password(); !ok {
		return rawURL
	}
	return u.Redacted()
}
