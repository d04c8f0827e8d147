// Package login logs a crawl in to a site through its HTML login form,
// as a browser would: it fetches the login page, fills the form (hidden
// inputs such as CSRF tokens kept as served, like Scrapy's
// FormRequest.from_response), submits it with the crawl's own HTTP client,
// so that the session cookie lands in the crawl's cookie jar, and checks
// that the login worked. It also tells a page of a logged-out session
// from the others, so that the crawler can log in again.
//
// A Form implements crawler.Login. The password it is given is sent in the
// form only: it never appears in an error, a log line or a record.
//
// Package login owns the form login. It imports crawler (whose Login
// interface it implements and whose Fetcher it is handed), fetch, parse
// (to sniff HTML) and urlnorm (to redact URLs); crawler does not import
// it: the command wires it in.
package login
