package proxy_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/proxy"
	"github.com/hivecrawl/crawl/testsite"
)

// TestPoolWithFetch: through a fetch.Client, a request whose proxy answers
// 429 fails with ClassProxy and benches that proxy; the next attempt for
// the host goes through the other proxy and succeeds.
func TestPoolWithFetch(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}))
	defer site.Close()
	hosts := map[string]string{"site.test:80": site.Listener.Addr().String()}
	var proxies []*testsite.Proxy
	var urls []*url.URL
	for range 2 {
		p, err := testsite.NewProxy(testsite.ProxyOptions{Hosts: hosts})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		proxies = append(proxies, p)
		urls = append(urls, p.URL())
	}
	pool, err := proxy.New(proxy.Options{Proxies: urls})
	if err != nil {
		t.Fatal(err)
	}
	c := fetch.New(fetch.Options{Proxy: pool.Proxy, ProxyFeedback: pool})
	// The host's first proxy will be the first of the list.
	proxies[0].SetStatus(http.StatusTooManyRequests)
	_, err = c.Fetch(context.Background(), "http://site.test/", nil)
	if fetch.ClassOf(err) != fetch.ClassProxy {
		t.Fatalf("through the 429 proxy: %v, want class proxy", err)
	}
	if pool.Benched() != 1 {
		t.Fatalf("%d proxies benched, want 1", pool.Benched())
	}
	resp, err := c.Fetch(context.Background(), "http://site.test/", nil)
	if err != nil || string(resp.Body) != "ok" {
		t.Fatalf("second attempt: %v, %v", resp, err)
	}
	if n0, n1 := len(proxies[0].Requests()), len(proxies[1].Requests()); n0 != 1 || n1 != 1 {
		t.Errorf("requests per proxy %d and %d, want 1 and 1", n0, n1)
	}
}
