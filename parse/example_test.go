package parse_test

import (
	"fmt"
	"net/url"

	"github.com/hivecrawl/crawl/parse"
)

func ExampleHTML_Parse() {
	page, _ := url.Parse("https://example.com/blog/")
	body := []byte(`<html><head><title> My  blog </title></head><body>
		<a href="post-1.html">First</a>
		<a href="post-1.html#comments">First, again</a>
		<a href="https://ads.example/" rel="nofollow sponsored">Ad</a>
		<a href="javascript:void(0)">Menu</a>
		<img src="/img/logo.png">
	</body></html>`)
	p, err := parse.HTML{}.Parse(page, "text/html; charset=utf-8", body)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%q\n%q\n%q\nfound %d, skipped %d\n", p.Title, p.Links, p.Assets, p.Found, p.Skipped)
	// Output:
	// "My blog"
	// ["https://example.com/blog/post-1.html"]
	// ["https://example.com/img/logo.png"]
	// found 1, skipped 1
}
