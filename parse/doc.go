// Package parse owns everything the crawler learns from the bytes of a page:
// deciding whether a response is HTML, decoding its charset to UTF-8,
// parsing it once with goquery, and extracting the page's title, meta
// robots directives, canonical URL, links and asset references. Links are
// resolved and canonicalized by package urlnorm, which owns the one
// definition of "the same URL" that the frontier's de-duplication relies
// on.
//
// Everything here is pure computation on values passed in: no network, file
// or clock access, and no package-level mutable state. HTML is a plain
// configuration value, safe for concurrent use by any number of
// goroutines.
//
// Package parse imports only package urlnorm of this module.
package parse
