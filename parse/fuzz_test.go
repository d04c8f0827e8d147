package parse

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hivecrawl/crawl/urlnorm"
)

// fuzzNormalizers are exercised on every fuzz input: the zero value and a
// configured one with a short MaxLength, so ErrTooLong is reached often.
var fuzzNormalizers = [...]urlnorm.Normalizer{
	{},
	{StripParams: []string{"sid", "*x"}, KeepQueryOrder: true, MaxLength: 120},
}

// checkCanonical fails unless s, which from became, is a canonical URL of
// n (see Normalizer.CheckCanonical).
func checkCanonical(t *testing.T, n urlnorm.Normalizer, from, s string) {
	t.Helper()
	if err := n.CheckCanonical(s); err != nil {
		t.Fatalf("%q -> %q: %v", from, s, err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("text/html", []byte(`<title>x</title><base href="/b/"><a href="a">a</a><a href="//h/x" rel="nofollow">n</a><img src="i.png">`))
	f.Add("", []byte(`<meta charset="windows-1251"><title>\xcf\xf0\xe8</title><a href="?q=\xef">x</a>`))
	f.Add("text/html; charset=shift_jis", []byte("<a href=\"/\x93\xfa?q=\x93\xfa\">\x93\xfa</a>"))
	f.Add("text/html", []byte(`<head><link rel=canonical href="?b=2&a=1&utm_source=x"><link rel="Canonical" href="//h/x"></head>`))
	f.Add("text/html", []byte("<meta name=robots content=none><a href='x'>"))
	f.Add("text/html", []byte("<svg><a href='x'><title>t</title></a></svg><template><a href=y></template>"))
	f.Add("text/html", []byte("\xef\xbb\xbf<a href=\"  j\navascript:x \">x</a><area href=\"HTTP://[::1]:80/%zz\">"))
	page := mustURL(f, "https://example.com/dir/page.html")
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		for _, n := range fuzzNormalizers {
			h := HTML{Normalizer: n, MaxLinks: 5}
			p, err := h.Parse(page, contentType, body)
			if err != nil {
				// Decoders in x/text replace bad input rather than fail.
				t.Fatalf("Parse: %v", err)
			}
			if len(p.Links) > 5 || len(p.Assets) > 5 || p.Found < len(p.Links) || p.Truncated != (p.Found > len(p.Links)) {
				t.Fatalf("caps: %d links (found %d, truncated %v), %d assets", len(p.Links), p.Found, p.Truncated, len(p.Assets))
			}
			seen := map[string]bool{}
			for _, l := range p.Links {
				if seen[l] {
					t.Fatalf("duplicate link %q", l)
				}
				seen[l] = true
				checkCanonical(t, n, "link", l)
			}
			for _, a := range p.Assets {
				checkCanonical(t, n, "asset", a)
			}
			checkCanonical(t, n, "base", p.Base.String())
			if p.Canonical != "" {
				checkCanonical(t, n, "canonical", p.Canonical)
			}
			if !utf8.ValidString(p.Title) || strings.Trim(p.Title, " \t\n\f\r") != p.Title {
				t.Fatalf("Title %q", p.Title)
			}
		}
	})
}
