package fetch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/testsite"
)

// BenchmarkFetchProxy measures a small page's fetch over a kept-alive
// connection, direct (Options.Proxy nil: the path every crawl without a
// proxy takes, which must not get slower or allocate more) and through
// testsite's forward proxy.
func BenchmarkFetchProxy(b *testing.B) {
	page := []byte("<html><body><a href=/a>a</a></body></html>")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write(page)
	}))
	defer srv.Close()
	p, err := testsite.NewProxy(testsite.ProxyOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	for _, bc := range []struct {
		name  string
		proxy func(*http.Request) (*url.URL, error)
	}{
		{"direct", nil},
		{"proxy", func(*http.Request) (*url.URL, error) { return p.URL(), nil }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := fetch.New(fetch.Options{Proxy: bc.proxy})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := c.Fetch(ctx, srv.URL+"/", nil)
				if err != nil {
					b.Fatal(err)
				}
				resp.Release()
			}
		})
	}
}
