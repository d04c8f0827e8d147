package parse

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzNormalizers are exercised on every fuzz input: the zero value and a
// configured one with a short MaxLength, so ErrTooLong is reached often.
var fuzzNormalizers = [...]Normalizer{
	{},
	{StripParams: []string{"utm_*", "sid", "*x"}, MaxLength: 120},
}

// checkCanonical fails unless s is a canonical URL of n: a fixed point of
// Canonical that net/url parses to an http(s) URL with a host, no longer
// than MaxLength, that net/url writes back unchanged.
func checkCanonical(t *testing.T, n Normalizer, from, s string) {
	t.Helper()
	again, err := n.Canonical(s)
	if err != nil {
		t.Fatalf("%q -> %q, which fails: %v", from, s, err)
	}
	if again != s {
		t.Fatalf("not idempotent: %q -> %q -> %q", from, s, again)
	}
	if len(s) > n.maxLen() {
		t.Fatalf("%q -> %q: %d bytes, over %d", from, s, len(s), n.maxLen())
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("%q -> %q, which net/url rejects: %v", from, s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		t.Fatalf("%q -> %q, which net/url reads as %#v", from, s, u)
	}
	if !strings.HasPrefix(s, u.Scheme+"://"+u.Host+"/") {
		t.Fatalf("%q -> %q: net/url sees host %q", from, s, u.Host)
	}
	if u.String() != s {
		t.Fatalf("%q -> %q: net/url writes it back as %q", from, s, u.String())
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"HTTP://Example.COM:80/a/./b/../c?x=1#frag",
		"http://example.com/%7e%7E~",
		"https://example.com/../../..",
		"//other.example/x",
		" \t/a\n/b\r ",
		"http://bücher.example/café?q=日本&utm_source=x&&sid=1",
		"http://[2001:DB8::1]:8080/%zz%4",
		"javascript:alert(1)",
		`http:\\example.com\a\..\b`,
		"?a=1&b=%2f#x",
		"../x/./y",
		"http://u:p@h:0443/%2e%2E/",
	} {
		f.Add(s)
	}
	base := mustURL(f, "https://example.com/dir/page.html?q=1")
	f.Fuzz(func(t *testing.T, in string) {
		for _, n := range fuzzNormalizers {
			out, err := n.Canonical(in)
			if err != nil {
				if !errors.Is(err, ErrScheme) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLong) {
					t.Fatalf("Canonical(%q): error %v wraps no sentinel", in, err)
				}
			} else {
				checkCanonical(t, n, in, out)
			}
			res, err := n.Resolve(base, in)
			if err == nil {
				checkCanonical(t, n, in, res)
			}
			// On plain relative references, where browsers and RFC 3986
			// agree, resolution must agree with net/url's.
			if plainRef(in) {
				ref, perr := url.Parse(in)
				if perr != nil {
					t.Fatalf("url.Parse(%q): %v", in, perr)
				}
				want, werr := n.Canonical(base.ResolveReference(ref).String())
				if (err == nil) != (werr == nil) || res != want {
					t.Fatalf("Resolve(%q) = %q, %v; net/url gives %q, %v", in, res, err, want, werr)
				}
			}
		}
	})
}

// plainRef reports whether s is a relative reference made only of
// characters with the same meaning in RFC 3986 and the WHATWG URL standard.
func plainRef(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("/.?=&_-~#", c) >= 0) {
			return false
		}
	}
	// net/url drops an empty segment after "..", which RFC 3986 and
	// browsers keep ("/a/..//b" is "//b").
	return !strings.Contains(s, "//")
}

func FuzzParse(f *testing.F) {
	f.Add("text/html", []byte(`<title>x</title><base href="/b/"><a href="a">a</a><a href="//h/x" rel="nofollow">n</a><img src="i.png">`))
	f.Add("", []byte(`<meta charset="windows-1251"><title>\xcf\xf0\xe8</title><a href="?q=\xef">x</a>`))
	f.Add("text/html; charset=shift_jis", []byte("<a href=\"/\x93\xfa?q=\x93\xfa\">\x93\xfa</a>"))
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
			if !utf8.ValidString(p.Title) || strings.Trim(p.Title, " \t\n\f\r") != p.Title {
				t.Fatalf("Title %q", p.Title)
			}
		}
	})
}
