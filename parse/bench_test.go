package parse

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/urlnorm"
)

// benchPage returns an ~8 KB page with 20 links: relative, absolute,
// duplicated, with fragments and tracking parameters, and some assets.
func benchPage() []byte {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>  Example News — Today's headlines  </title>
<link rel="stylesheet" href="/static/site.css"><script src="/static/app.js" defer></script>
</head><body><header><nav>`)
	for i := range 20 {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "<a href=\"/section/%d/\">Section %d</a>\n", i, i)
		case 1:
			fmt.Fprintf(&b, "<a href=\"article-%d.html?ref=nav&utm_source=home#comments\">Article %d</a>\n", i, i)
		case 2:
			fmt.Fprintf(&b, "<a href=\"https://www.example.com/tag/t%d\">Tag %d</a>\n", i, i)
		case 3:
			fmt.Fprintf(&b, "<a href=\"//cdn.example.net/files/report-%d.pdf\" rel=\"noopener\">Report %d</a>\n", i, i)
		}
	}
	b.WriteString("</nav></header><main>")
	for b.Len() < 7800 {
		b.WriteString(`<article><h2>Lorem ipsum dolor sit amet</h2><p>Consectetur adipiscing elit, sed do eiusmod tempor
incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris
nisi ut aliquip ex ea commodo consequat.</p><img src="/img/photo.jpg" alt="photo"></article>`)
	}
	b.WriteString("</main></body></html>")
	return []byte(b.String())
}

func BenchmarkParse(b *testing.B) {
	body := benchPage()
	page := mustURL(b, "https://www.example.com/news/today.html")
	h := HTML{Normalizer: urlnorm.Normalizer{StripParams: []string{"ref"}}}
	p, err := h.Parse(page, "text/html; charset=utf-8", body)
	if err != nil || len(p.Links) != 20 {
		b.Fatalf("setup: %d links, %v", len(p.Links), err)
	}
	b.Run(fmt.Sprintf("utf8/%dB", len(body)), func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := h.Parse(page, "text/html; charset=utf-8", body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run(fmt.Sprintf("meta-charset/%dB", len(body)), func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := h.Parse(page, "text/html", body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
