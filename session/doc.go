// Package session keeps a crawl's cookies as a browser does, and keeps
// them beyond one process.
//
// A Jar is an http.CookieJar with RFC 6265's rules (net/http/cookiejar
// with the public suffix list) that can also list what it holds, which
// net/http/cookiejar cannot, so that a crawl can write its cookies out
// (--save-cookies) and hand them to the next run or to the other workers
// of a fleet. A Store is where they are kept: FileStore writes a
// cookies.txt file (a --state directory keeps one), and a fleet keeps them
// in Redis (frontier/redis's SessionHash through HashStore), so that a
// cookie one worker got is sent by all.
//
// Package session imports fetch (for its cookies.txt format) and nothing
// else of the module.
package session
