package urlnorm

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

// fuzzNormalizers are exercised on every fuzz input: the zero value and a
// configured one with a short MaxLength, so ErrTooLong is reached often.
var fuzzNormalizers = [...]Normalizer{
	{},
	{StripParams: []string{"sid", "*x"}, KeepParams: []string{"utm_c*"}, MaxLength: 120},
	{KeepQueryOrder: true, KeepParams: []string{"*"}},
}

// checkCanonical fails unless s, which from became, is a canonical URL of
// n (see Normalizer.CheckCanonical).
func checkCanonical(t *testing.T, n Normalizer, from, s string) {
	t.Helper()
	if err := n.CheckCanonical(s); err != nil {
		t.Fatalf("%q -> %q: %v", from, s, err)
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
		"http://h/a;jsessionid=1;JSESSIONID=2/b?b=2&a=1&a=0&gclid=x",
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

func FuzzIgnoredParams(f *testing.F) {
	f.Add("http://h/list?id=7&sort=price", "/list?id=7", "/list?sort=x&id=9")
	f.Add("http://h/a?b=1&a=2&a=1", "?a=2", "?a=1&b=1&c")
	f.Fuzz(func(t *testing.T, page, canonRef, other string) {
		var n Normalizer
		p, err := n.Canonical(page)
		if err != nil {
			return
		}
		r, err := n.NewResolver(p)
		if err != nil {
			t.Fatalf("NewResolver(%q): %v", p, err)
		}
		c, err1 := r.Resolve(canonRef)
		o, err2 := r.Resolve(other)
		if err1 != nil || err2 != nil {
			return
		}
		var ip IgnoredParams
		names := ip.Learn(p, c)
		for _, u := range []string{p, c, o} {
			got := ip.Apply(u)
			checkCanonical(t, n, u, got)
			if again := ip.Apply(got); again != got {
				t.Fatalf("Apply not idempotent: %q -> %q -> %q", u, got, again)
			}
		}
		if len(names) > 0 && ip.Apply(c) != c {
			t.Fatalf("learned %q from %q, %q, and changed the canonical URL to %q", names, p, c, ip.Apply(c))
		}
	})
}

func mustURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}
