package crawler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/parse"
)

// bookshop serves three pages: a listing and two books.
func bookshop() *httptest.Server {
	pages := map[string]string{
		"/":       `<h1>Books</h1><a href="/book/1">Dune</a> <a href="/book/2">Emma</a>`,
		"/book/1": `<h1 class="title">Dune</h1><p class="price">$9.99</p>`,
		"/book/2": `<h1 class="title">Emma</h1><p class="price">$4.50</p>`,
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<html><body>%s</body></html>", body)
	}))
}

// bookRules extract one item per book page.
var bookRules = []parse.Rule{{
	Name: "book",
	URL:  `/book/\d+$`,
	Fields: []parse.FieldRule{
		{Name: "title", Selector: "h1.title", Transform: []string{"trim"}},
		{Name: "price", Selector: ".price", Transform: []string{`regex:([\d.]+)`, "number"}},
	},
}}

// A Handler sees every recorded URL with its response, its parsed page and
// the items the Extractor found on it.
func ExampleHandler() {
	srv := bookshop()
	defer srv.Close()
	extractor, err := parse.NewExtractor(bookRules)
	if err != nil {
		fmt.Println(err) // a bad selector or regex, named with its rule
		return
	}
	c, err := crawler.New(crawler.Config{
		Concurrency:  1, // one worker, so the output has a fixed order
		IgnoreRobots: true,
		Extractor:    extractor,
		Handler: crawler.HandlerFunc(func(ctx context.Context, p *crawler.Page) error {
			u, _ := url.Parse(p.Result.URL)
			fmt.Printf("%d %s (%d bytes, %s)\n", p.Result.Status, u.Path, len(p.Body), p.Header.Get("Content-Type"))
			for _, it := range p.Items {
				title, _ := it.Fields.Get("title")
				price, _ := it.Fields.Get("price")
				fmt.Printf("  %s: %q at %v\n", it.Rule, title, price)
			}
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
	// 200 / (93 bytes, text/html; charset=utf-8)
	// 200 /book/1 (79 bytes, text/html; charset=utf-8)
	//   book: "Dune" at 9.99
	// 200 /book/2 (79 bytes, text/html; charset=utf-8)
	//   book: "Emma" at 4.5
}

// Pages streams the crawl into a for loop. Breaking out of the loop stops
// the crawl; a slow loop body slows it down.
func ExampleCrawler_Pages() {
	srv := bookshop()
	defer srv.Close()
	extractor, err := parse.NewExtractor(bookRules)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := crawler.New(crawler.Config{Concurrency: 1, IgnoreRobots: true, Extractor: extractor})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for page, err := range c.Pages(ctx, srv.URL+"/") {
		if err != nil {
			fmt.Println("crawl failed:", err)
			return
		}
		if len(page.Items) == 0 {
			continue
		}
		title, _ := page.Items[0].Fields.Get("title")
		fmt.Println("first book:", title)
		break // stops the crawl: /book/2 is not yielded
	}
	// Output:
	// first book: Dune
}
