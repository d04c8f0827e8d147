package fetch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
)

// TestCheckStopsAtRedirect: a check that returns ErrUseLastResponse (or
// an error wrapping it) gets the redirect back as the Response, with its
// status and Location and no error, and the target is never requested.
func TestCheckStopsAtRedirect(t *testing.T) {
	var targetHits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		targetHits.Add(1)
	}))
	defer target.Close()
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/moved", http.StatusFound) // same host: followed
		case "/moved":
			http.Redirect(w, r, target.URL+"/landing", http.StatusMovedPermanently)
		}
	}))
	defer src.Close()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"sentinel", fetch.ErrUseLastResponse},
		{"wrapped", fmt.Errorf("other host: %w", fetch.ErrUseLastResponse)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fetch.New(fetch.Options{})
			defer c.CloseIdleConnections()
			var checked []string
			check := func(_ context.Context, u *url.URL) error {
				checked = append(checked, u.String())
				if u.Host != "" && "http://"+u.Host == target.URL {
					return tc.err
				}
				return nil
			}
			resp, err := c.Fetch(context.Background(), src.URL+"/start", check)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			defer resp.Release()
			if resp.Status != http.StatusMovedPermanently || resp.FinalURL != src.URL+"/moved" ||
				resp.Header.Get("Location") != target.URL+"/landing" || resp.Redirects != 1 || len(resp.Body) != 0 {
				t.Errorf("response: status %d, final %q, location %q, redirects %d, %d body bytes; want the 301 of /moved",
					resp.Status, resp.FinalURL, resp.Header.Get("Location"), resp.Redirects, len(resp.Body))
			}
			if len(checked) != 2 {
				t.Errorf("checked %v, want both hops", checked)
			}
		})
	}
	if n := targetHits.Load(); n != 0 {
		t.Errorf("the target got %d requests, want none", n)
	}
}
