package parse_test

import (
	"fmt"
	"net/url"

	"github.com/hivecrawl/crawl/parse"
)

func ExampleNormalizer_Canonical() {
	n := parse.Normalizer{StripParams: []string{"utm_*"}}
	for _, raw := range []string{
		"HTTP://Example.COM:80/a/./b/../c?x=1&utm_source=feed#frag",
		"https://example.com/%7euser/caf%c3%a9",
		"mailto:someone@example.com",
	} {
		fmt.Println(n.Canonical(raw))
	}
	// Output:
	// http://example.com/a/c?x=1 <nil>
	// https://example.com/~user/caf%C3%A9 <nil>
	//  parse: unsupported scheme: "mailto:someone@example.com"
}

func ExampleNormalizer_Resolve() {
	base, _ := url.Parse("https://example.com/docs/guide/intro.html")
	var n parse.Normalizer
	for _, ref := range []string{"setup.html#install", "../../api/", "//cdn.example.net/x.js", " /search?q=go crawl\n"} {
		s, _ := n.Resolve(base, ref)
		fmt.Println(s)
	}
	// Output:
	// https://example.com/docs/guide/setup.html
	// https://example.com/api/
	// https://cdn.example.net/x.js
	// https://example.com/search?q=go%20crawl
}

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
