package parse_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/testsite"
	"github.com/hivecrawl/crawl/urlnorm"
)

// sitePage renders page n of the synthetic site the benchmark in bench/
// crawls (~8 KB, 20 links in every form the site writes) and returns its
// URL, body and the hrefs on it.
func sitePage(tb testing.TB, n int) (*url.URL, []byte, []string) {
	tb.Helper()
	site := testsite.New(testsite.Options{Pages: 20_000})
	const host = "127.0.0.2:8080"
	rec := httptest.NewRecorder()
	site.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://"+host+site.Path(n), nil))
	if rec.Code != http.StatusOK {
		tb.Fatalf("page %d: status %d", n, rec.Code)
	}
	u, err := url.Parse("http://" + host + site.Path(n))
	if err != nil {
		tb.Fatal(err)
	}
	return u, rec.Body.Bytes(), site.LinksFor(host, n)
}

// BenchmarkParsePage is the crawler's per-page parse of a synthetic-site
// page (8,192 bytes, 20 hrefs, 17 distinct followable links): decode,
// goquery tree, one walk for title, meta robots, base, links and assets,
// and the canonicalization and dedup of every link.
func BenchmarkParsePage(b *testing.B) {
	u, body, _ := sitePage(b, 12345)
	var h parse.HTML
	p, err := h.Parse(u, "text/html; charset=utf-8", body)
	if err != nil || p.Found == 0 {
		b.Fatalf("setup: %d links, %v", p.Found, err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := h.Parse(u, "text/html; charset=utf-8", body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.Found), "links/page")
}

// BenchmarkNormalizeLinks resolves and canonicalizes the hrefs of one page
// through the public urlnorm.Normalizer.Resolve (which HTML.Parse does with the
// base resolved once); per op is one page's worth of links.
func BenchmarkNormalizeLinks(b *testing.B) {
	u, _, hrefs := sitePage(b, 12345)
	var n urlnorm.Normalizer
	b.ReportAllocs()
	for b.Loop() {
		for _, href := range hrefs {
			_, _ = n.Resolve(u, href) // mailto: and javascript: fail, as on a real page
		}
	}
	b.ReportMetric(float64(len(hrefs)), "links/op")
}

// BenchmarkCanonicalLinks canonicalizes already-canonical absolute URLs,
// the common case for seeds and for links that are written absolute.
func BenchmarkCanonicalLinks(b *testing.B) {
	u, _, hrefs := sitePage(b, 12345)
	var n urlnorm.Normalizer
	var canon []string
	for _, href := range hrefs {
		if c, err := n.Resolve(u, href); err == nil {
			canon = append(canon, c)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range canon {
			if _, err := n.Canonical(c); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(canon)), "links/op")
}
