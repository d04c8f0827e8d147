package robots

import (
	"fmt"
	"net/url"
	"testing"
)

// benchRobots is a robots.txt of the usual size and shape: a "*" group
// and a group for the crawler, with prefixes, wildcards and anchors.
const benchRobots = `User-agent: *
Disallow: /admin/
Disallow: /cart
Disallow: /checkout/
Disallow: /search?
Disallow: /*?sessionid=
Disallow: /*.pdf$
Allow: /search?q=
Crawl-delay: 1

User-agent: crawl
Disallow: /private/
Disallow: /tmp/
Disallow: /*/print$
Disallow: /*?sort=
Allow: /private/public/
Allow: /*.html$
Disallow: /api/
Allow: /api/docs
Sitemap: https://example.com/sitemap.xml
`

// BenchmarkCheck measures a cached Check, the cost every URL of a crawl
// pays.
func BenchmarkCheck(b *testing.B) {
	c := New(Options{Getter: staticGetter{200, []byte(benchRobots)}})
	urls := make([]*url.URL, 64)
	for i := range urls {
		u, err := url.Parse(fmt.Sprintf("https://example.com/section/%d/article-%d.html?page=%d", i%7, i, i%3))
		if err != nil {
			b.Fatal(err)
		}
		urls[i] = u
	}
	ctx := b.Context()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := c.Check(ctx, urls[i%len(urls)]); err != nil {
			b.Fatal(err)
		}
	}
}
