// Package fetch is the crawler's HTTP client: it GETs one URL, follows its
// redirects (re-checking every hop with a caller-supplied function), reads the
// body under a size cap applied after decompression, and reports failures as
// an *Error whose Class is one of a closed set of strings suitable for output
// records and metric labels.
//
// A Client owns one tuned *http.Transport (keep-alive on, a per-host
// connection cap, connect, header and whole-request timeouts). It reads no
// environment variables: a proxy is used only when Options.Proxy chooses
// one, per request, and then Options.ProxyFeedback may learn each outcome.
// With Options.DenyPrivate it refuses, after DNS resolution, to connect to
// any address that is not public (see PublicAddr), so that a page cannot
// steer the crawler into the network it runs in.
//
// Client.Get is a smaller GET for robots.txt and sitemaps; it satisfies
// robots.Getter.
//
// Package fetch imports no other package of this module.
package fetch
