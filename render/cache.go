package render

import (
	"net/http"
	"strings"
	"sync"
)

// Limits of the subresource cache.
const (
	cacheMaxEntry = 1 << 20  // bytes of one body
	cacheMaxTotal = 32 << 20 // bytes of all bodies
)

// cache keeps the scripts and style sheets pages fetched, for the next
// pages that ask for them, as a browser's cache does (and Google's
// renderer, more boldly): an app's bundle is fetched once per crawl, not
// once per page. Only 200 answers to GET without Cache-Control no-store
// are kept, up to cacheMaxTotal bytes; once full it keeps what it has. It
// is safe for concurrent use.
type cache struct {
	mu    sync.Mutex
	m     map[string]cached
	bytes int
}

// cached is one kept response.
type cached struct {
	header http.Header
	body   []byte
}

// cacheable reports whether a request of this resource type and method
// is served from the cache.
func cacheable(resourceType, method string) bool {
	return method == http.MethodGet && (resourceType == "Script" || resourceType == "Stylesheet")
}

func (c *cache) get(url string) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[url]
	return e, ok
}

// put keeps a response, if it may be kept and there is room.
func (c *cache) put(url string, status int, h http.Header, body []byte) {
	if status != http.StatusOK || len(body) > cacheMaxEntry || strings.Contains(strings.ToLower(h.Get("Cache-Control")), "no-store") {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[url]; ok || c.bytes+len(body) > cacheMaxTotal {
		return
	}
	if c.m == nil {
		c.m = make(map[string]cached)
	}
	c.m[url] = cached{header: h.Clone(), body: append([]byte(nil), body...)}
	c.bytes += len(body)
}
