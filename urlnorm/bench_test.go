package urlnorm

import (
	"fmt"
	"testing"
)

// benchURLs mixes canonical URLs (the common case for links already seen
// in canonical form) with ones that need work.
var benchURLs = [...]string{
	"https://www.example.com/articles/2024/05/some-article-title",
	"https://www.example.com/search?page=2&q=go+crawler",
	"HTTP://WWW.Example.COM:80/a/./b/../c/index.html?x=1&utm_source=news#top",
	"https://example.com/%7euser/caf%c3%a9/file name.pdf",
	"https://www.example.com/search?q=go+crawler&page=2&sort=new",
}

func BenchmarkCanonical(b *testing.B) {
	n := Normalizer{StripParams: []string{"ref"}}
	for _, in := range benchURLs {
		name := "canonical"
		if out, _ := n.Canonical(in); out != in {
			name = "rewritten"
		}
		b.Run(fmt.Sprintf("%s/%d", name, len(in)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := n.Canonical(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkIgnoredParamsApply(b *testing.B) {
	var ip IgnoredParams
	for i := range 1000 {
		ip.Learn(fmt.Sprintf("http://h/p%d?id=1&sort=a", i), fmt.Sprintf("http://h/p%d?id=1", i))
	}
	for _, u := range []string{"http://h/q?id=1&sort=b", "http://h/p7?id=2&sort=b"} {
		b.Run(u, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = ip.Apply(u)
			}
		})
	}
}
