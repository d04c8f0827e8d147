// Package testsite serves a synthetic website for the crawler's tests and
// benchmarks: a Site is an http.Handler whose pages are generated on the fly,
// deterministically, from the page number and a seed, so a site of 200,000
// pages costs no more memory than its fetch counters.
//
// Page n is served at /p/n; page 0 is the home page and its canonical URL is
// "/" (no link on the site points at /p/0). Every page carries links in the
// forms a crawler meets in the wild: root-relative, relative ("./5", "../p/5",
// and "p/5" on the home page), absolute, scheme-relative, with a fragment, a
// case and percent-encoding variant of the same URL, the same link twice,
// links back to the home page and to the parent, an off-site link, a link
// under the robots.txt-disallowed prefix, a mailto: and a javascript: link.
// Page n always links to pages 2n+1 and 2n+2, so every page is reachable from
// the home page; Reachable gives each page's exact link depth.
//
// The site counts what it is asked for (fetches per page, duplicates, robots
// violations, 404s, the peak number of requests in flight) per Host header and
// in total, so a test can crawl it and then assert on what the crawler did.
// Serve runs one Site on several loopback addresses, each of which is a site
// of its own with the same shape.
//
// Hostile is a server of another kind: every page is a case of the hostile
// web (crawler traps, redirect loops, 50 MB bodies, a gzip bomb, a drip, a
// reset, a server that never answers, status codes to retry or not,
// malformed and mislabeled content, legacy charsets, cross-host redirects),
// and it records every request, with its time, so that a test can assert on
// what the crawler asked for, how often and when. ServeHostile runs it on
// loopback with its second host and its silent listener.
//
// Proxy is a forward HTTP proxy (absolute-form requests and CONNECT
// tunnels, optional Basic proxy authentication) and SOCKS5 a SOCKS5 server
// (RFC 1928 CONNECT, no authentication or RFC 1929 user/password), both on
// loopback, for tests of a crawler behind proxies: they log every request,
// can map host names only they resolve to the test sites, and stop on
// demand (Close, or CloseAfter requests); Proxy can answer every request
// with a status such as 429.
//
// Package testsite imports only the standard library and no package of this
// module, so that a separate benchmark module can use it.
package testsite
