// Package robots decides whether robots.txt (RFC 9309) lets the crawler
// fetch a URL. A Cache fetches each origin's robots.txt once through a
// caller-supplied Getter, parses it, and keeps the rules of the crawler's
// group for a TTL.
//
// The parser and matcher are the package's own, written to the letter of
// RFC 9309 2.2: the longest matching pattern, counted in octets, decides,
// and Allow wins a tie; patterns and URL paths are percent-encoded alike
// before they are compared; "#" starts a comment anywhere in a line; a
// UTF-8 byte-order mark, even a partial one, is skipped. Crawl-delay and
// Sitemap lines, which RFC 9309 leaves to crawlers, are read too.
//
// Following RFC 9309 2.3.1: a 2xx robots.txt is obeyed; a 4xx (and a
// redirect chain too long for the Getter) means no restrictions; a 5xx or a
// 429 means "disallow everything for now", reported as ErrUnavailable until
// the robots.txt is tried again after Options.RetryAfter. A robots.txt that
// got no answer (the host cannot be reached) is reported as a *FetchError,
// which also wraps ErrUnavailable, and is tried again on the next Check.
// /robots.txt itself is always allowed.
//
// Package robots imports no other package of this module.
package robots
