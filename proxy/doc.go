// Package proxy rotates a crawl's requests over a pool of proxies: it
// parses and checks proxy URLs (http://, https://, socks5://, with
// user:pass@), keeps each target host on one proxy, benches a proxy that
// refuses connections, times out, answers 407, 403 or 429 or serves a ban
// page, for a time that grows with each failure in a row, and moves its
// hosts to the others. When every proxy is benched, a request waits for
// the first to come back rather than failing.
//
// A Pool plugs into package fetch: its Proxy method is a
// fetch.Options.Proxy, and the Pool itself a fetch.ProxyFeedback, told the
// outcome of every request through a proxy. A renderer can use the same
// two methods. The pool never logs, returns or labels a proxy's
// credentials: Redact names a proxy by scheme, host and port only.
//
// Package proxy imports fetch, and no other package of this module; it
// reads no environment variable and has no package-level state.
package proxy
