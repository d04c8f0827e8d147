// Package robots decides whether robots.txt (RFC 9309) lets the crawler
// fetch a URL. A Cache fetches each origin's robots.txt once through a
// caller-supplied Getter, parses it with github.com/temoto/robotstxt, and
// keeps the rules of the crawler's group for a TTL.
//
// Following RFC 9309: a 2xx robots.txt is obeyed; a 4xx (and a redirect
// chain too long for the Getter) means no restrictions; a 5xx, a 429 or a
// network failure means "disallow everything for now", reported as
// ErrUnavailable until the robots.txt is tried again. /robots.txt itself is
// always allowed.
//
// Package robots imports no other package of this module.
package robots
