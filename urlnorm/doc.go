// Package urlnorm owns URL canonicalization: the one definition of "the
// same URL" that the frontier's de-duplication, the crawl's scope
// (--include, --exclude) and the records rely on. Links found in pages
// (package parse), seeds, sitemap entries and redirect hops are all
// canonicalized here, by a Normalizer, so that every part of the crawler
// sees the same string for the same page.
//
// It also holds what a crawl learns about a site's URLs while it runs:
// IgnoredParams, the query parameters that a page's rel="canonical" showed
// to be irrelevant for that host and path.
//
// Everything here is pure computation on values passed in: no network, file
// or clock access, and no package-level mutable state. A Normalizer is a
// plain configuration value, safe for concurrent use.
//
// Package urlnorm imports no other package of this module.
package urlnorm
