package fetch_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
)

// TestFetchHeaderOrigins checks that HeaderOrigins keeps credentials off
// the first request to any other origin (a link, or robots.txt), while the
// listed origin gets them, and redirects still drop them.
func TestFetchHeaderOrigins(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]string{} // host+path → Authorization + "|" + Cookie
	)
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name+r.URL.Path] = r.Header.Get("Authorization") + "|" + r.Header.Get("Cookie")
			mu.Unlock()
		}
	}
	home := newServer(t, handler("home"))
	other := newServer(t, handler("other"))
	c := fetch.New(fetch.Options{
		Header:        http.Header{"Authorization": {"Bearer secret"}, "Cookie": {"a=b"}, "X-Trace": {"1"}},
		HeaderOrigins: []string{home.URL + "/a/path/is/ignored"},
	})
	for _, u := range []string{home.URL + "/page", other.URL + "/page"} {
		if _, err := c.Fetch(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.Get(t.Context(), other.URL+"/robots.txt"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"home/page":        "Bearer secret|a=b",
		"other/page":       "|",
		"other/robots.txt": "|",
	}
	mu.Lock()
	defer mu.Unlock()
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("%s got credentials %q, want %q", k, seen[k], v)
		}
	}

	bad := fetch.Options{HeaderOrigins: []string{"ftp://example.com"}}
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "fetch: ") {
		t.Errorf("Validate with a non-HTTP origin = %v, want a fetch: error", err)
	}
}
