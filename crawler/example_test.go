package crawler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
)

// shortPathsFirst is a custom scheduling policy: within a host, URLs with
// shorter paths are fetched first, whatever their depth.
type shortPathsFirst struct{}

// Priority implements frontier.Scheduler: lower goes first.
func (shortPathsFirst) Priority(r frontier.Request) float64 {
	u, err := url.Parse(r.URL)
	if err != nil {
		return 0
	}
	return float64(len(u.Path))
}

// HostDelay implements frontier.Scheduler: 10ms between requests to a host.
func (shortPathsFirst) HostDelay(string) time.Duration { return 10 * time.Millisecond }

// A custom policy plugs into the crawler through frontier.Scheduler.
func Example_customScheduler() {
	pages := map[string]string{
		"/":                     `<a href="/docs/guide/install">install</a> <a href="/blog/2026/11/25/news">news</a> <a href="/about">about</a>`,
		"/about":                `<a href="/docs">docs</a>`,
		"/docs":                 `<a href="/docs/guide">guide</a>`,
		"/docs/guide":           `ok`,
		"/docs/guide/install":   `ok`,
		"/blog/2026/11/25/news": `ok`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><body>%s</body></html>", body)
	}))
	defer srv.Close()

	c, err := crawler.New(crawler.Config{
		Concurrency:  1, // one worker, so the output shows the policy's order
		Scheduler:    shortPathsFirst{},
		IgnoreRobots: true,
		Handler: crawler.HandlerFunc(func(_ context.Context, p *crawler.Page) error {
			u, _ := url.Parse(p.Result.URL)
			fmt.Println(p.Result.Status, u.Path)
			return nil
		}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// 200 /
	// 200 /about
	// 200 /docs
	// 200 /docs/guide
	// 200 /docs/guide/install
	// 200 /blog/2026/11/25/news
}
