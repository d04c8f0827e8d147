// Package parse owns everything the crawler learns from the bytes of a page
// and from the text of a URL: deciding whether a response is HTML, decoding
// its charset to UTF-8, parsing it once with goquery, and extracting the
// page's title, meta robots directives, links and asset references. It also
// owns URL canonicalization (Normalizer): the one definition of "the same
// URL" that the frontier's de-duplication relies on.
//
// Everything here is pure computation on values passed in: no network, file
// or clock access, and no package-level mutable state. Normalizer and HTML
// are plain configuration values, safe for concurrent use by any number of
// goroutines.
//
// Package parse imports no other package of this module.
package parse
