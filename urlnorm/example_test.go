package urlnorm_test

import (
	"fmt"
	"net/url"

	"github.com/hivecrawl/crawl/urlnorm"
)

func ExampleNormalizer_Canonical() {
	var n urlnorm.Normalizer // the defaults: tracking parameters dropped, query sorted
	for _, raw := range []string{
		"HTTP://Example.COM:80/a/./b/../c?x=1&utm_source=feed#frag",
		"https://example.com/list?sort=new&page=2&fbclid=abc",
		"https://example.com/cart;jsessionid=0A1B?item=7",
		"https://example.com/%7euser/caf%c3%a9",
		"mailto:someone@example.com",
	} {
		fmt.Println(n.Canonical(raw))
	}
	// Output:
	// http://example.com/a/c?x=1 <nil>
	// https://example.com/list?page=2&sort=new <nil>
	// https://example.com/cart?item=7 <nil>
	// https://example.com/~user/caf%C3%A9 <nil>
	//  urlnorm: unsupported scheme: "mailto:someone@example.com"
}

func ExampleNormalizer_Resolve() {
	base, _ := url.Parse("https://example.com/docs/guide/intro.html")
	var n urlnorm.Normalizer
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

func ExampleIgnoredParams() {
	var ip urlnorm.IgnoredParams
	// The page /list?id=7&sort=price says its canonical URL is /list?id=7:
	fmt.Println(ip.Learn("https://example.com/list?id=7&sort=price", "https://example.com/list?id=7"))
	fmt.Println(ip.Apply("https://example.com/list?id=9&sort=name"))
	// Output:
	// [sort]
	// https://example.com/list?id=9
}
