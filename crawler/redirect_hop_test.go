package crawler_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
)

// hopFetcher answers every URL with a 200 without any traffic, except
// from: fetching it, it asks check about one redirect to to, and returns
// check's error if there is one, as a Fetcher that does not know
// fetch.ErrUseLastResponse does.
type hopFetcher struct{ from, to string }

func (f hopFetcher) Fetch(ctx context.Context, rawURL string, check func(context.Context, *url.URL) error) (*fetch.Response, error) {
	final := rawURL
	if rawURL == f.from {
		u, err := url.Parse(f.to)
		if err != nil {
			return nil, err
		}
		if err := check(ctx, u); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		final = f.to
	}
	return &fetch.Response{URL: rawURL, FinalURL: final, Status: 200, ContentType: "text/plain"}, nil
}

// TestRedirectHostIsThePolitenessKey: a redirect hop is followed inline
// when its target has the politeness key (frontier.HostOf) of the URL
// fetched, and queued as a request of its own otherwise; a hop out of
// scope is refused first, as before (a seed redirecting to www. under
// ScopeHost is out_of_scope). The Fetcher here returns the check's error
// rather than the redirect: the crawler records the redirect all the same.
func TestRedirectHostIsThePolitenessKey(t *testing.T) {
	const seed = "http://example.com/"
	tests := []struct {
		name, to, scope string
		queued          string // the canonical target, when it is queued
		class           string // the seed's error class
	}{
		{name: "http to https, default ports", to: "https://example.com/a", scope: crawler.ScopeHost},
		{name: "explicit default port", to: "https://example.com:443/a", scope: crawler.ScopeHost},
		{name: "case and user info", to: "http://u:p@EXAMPLE.com/a", scope: crawler.ScopeHost},
		{name: "another port", to: "http://example.com:8080/a", scope: crawler.ScopeAny, queued: "http://example.com:8080/a"},
		{name: "https on another port", to: "https://example.com:8443/a", scope: crawler.ScopeAny, queued: "https://example.com:8443/a"},
		{name: "another host", to: "https://www.example.com/a?b=2&a=1", scope: crawler.ScopeDomain, queued: "https://www.example.com/a?a=1&b=2"},
		{name: "another host out of scope", to: "https://www.example.com/", scope: crawler.ScopeHost, class: crawler.ClassOutOfScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			c, err := crawler.New(crawler.Config{Concurrency: 2, PerHost: 1, Rate: -1, IgnoreRobots: true, Scope: tc.scope,
				Fetcher: hopFetcher{from: seed, to: tc.to}, Handler: rec})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Run(t.Context(), seed); err != nil {
				t.Fatal(err)
			}
			r, ok := rec.pages[seed]
			if !ok {
				t.Fatalf("no record for the seed")
			}
			if got := r.Result; got.Error != tc.class || got.RedirectTo != tc.queued {
				t.Errorf("seed record: error %q (%s), redirect %q; want error %q, redirect %q", got.Error, got.Detail, got.RedirectTo, tc.class, tc.queued)
			}
			want := 1
			if tc.queued != "" {
				want = 2
				if q, ok := rec.pages[tc.queued]; !ok || q.Result.Parent != seed || q.Result.Depth != 0 {
					t.Errorf("target not queued as a request of depth 0 with the seed as its parent: %+v", q)
				}
			}
			if len(rec.pages) != want {
				t.Errorf("%d records, want %d", len(rec.pages), want)
			}
		})
	}
}
