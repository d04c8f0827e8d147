// Package crawler is the crawl engine: a fixed pool of workers that take
// leased requests from a frontier, check scope and robots.txt, fetch,
// parse, and complete each lease with its outcome and the links it
// discovered. The crawl ends by counting, not by an idle timeout: when the
// frontier has nothing queued and nothing leased it reports itself drained
// and the workers stop.
//
// What each file owns:
//
//   - crawler.go: New (the default components), Run, and a worker's
//     processing of one page or asset lease: robots.txt, fetch, the HTTP
//     status, parse, and the outcome.
//   - run.go: the state of one Run or Pages call (counters, the MaxPages
//     budget, per-host counts, the Handler and its error), built afresh by
//     each, so a Crawler may be used again.
//   - dispatch.go: how the workers share their frontier calls: one leaser
//     leases for all idle workers at once, one completer completes together
//     the outcomes that arrive while its previous call is under way.
//   - renew.go: lease renewal for the leases a run holds.
//   - handler.go, pages.go: how records leave the engine: the Handler
//     (with the optional Flusher and Borrower) and the Pages iterator. This
//     is the one way a program receives records; package output has the
//     ready Handlers (JSON lines, items, CSV, WARC, the mirror).
//   - sitemaps.go: sitemap documents, fetched as frontier requests of
//     KindSitemap like any other, so they keep their host's politeness.
//   - assets.go: the assets a page embeds (Config.Assets).
//   - canonical.go, scope.go, credentials.go: declared canonical URLs,
//     the crawl's scope, and credentials in seed URLs.
//   - config.go: Config, DefaultConfig, Validate, and the small interfaces
//     the engine consumes (Frontier, Fetcher, Parser, Robots, Observer).
//   - result.go: Result (one record) and Summary.
//
// Politeness lives in the frontier: every request the engine makes to a
// host is made under a lease on that host (robots.txt under the lease of
// the page or sitemap that needs it), so it counts against the host's
// in-flight cap and rate on every backend. Redirects too: a fetch follows
// a redirect only on the host of the URL it fetches (its politeness key,
// frontier.HostOf), under that host's lease. A redirect to another host
// ends the fetch: the record keeps the 3xx and names the target
// (Result.RedirectTo), and the target is queued as a link is, at the same
// depth, to be fetched, and its robots.txt read, under a lease on its own
// host (a sitemap's redirect likewise, as a sitemap request).
//
// Failure classes (Result.Error, metric labels) are one closed set, kept by
// package fetch (fetch.Classes); the Class constants here name its members
// the engine reports.
//
// Package crawler imports frontier, fetch, parse, robots, sitemap and
// urlnorm of this module, and no other: never output, metrics or progress,
// which meet it in cmd/crawl or in a user's program, nor a frontier
// backend (disk, redis), which its caller chooses and passes in as a
// Frontier.
package crawler
