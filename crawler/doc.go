// Package crawler is the crawl engine: a fixed pool of workers that take
// leased requests from a frontier, check scope and robots.txt, fetch, parse,
// and complete each lease with its outcome and the links it discovered. The
// workers share their frontier calls: one leaser leases for all the idle
// workers at once, and one completer completes together the outcomes that
// arrive while its previous call is under way (see dispatch.go). It
// declares the small interfaces it consumes (Frontier, Fetcher, Parser,
// Robots, Sink, Observer) and builds the project's own implementations when
// a Config leaves them nil.
//
// The crawl ends by counting, not by an idle timeout: when the frontier has
// nothing queued and nothing leased it reports itself drained and the
// workers stop.
//
// Package crawler imports frontier, fetch, parse, robots and sitemap; it never
// imports metrics, output or configs, which meet it in cmd/crawl or in a user's
// program.
package crawler
