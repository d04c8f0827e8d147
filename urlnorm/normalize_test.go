package urlnorm

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestCanonical(t *testing.T) {
	n := Normalizer{StripParams: []string{"ref_*", "sid"}}
	tests := []struct {
		name, in, want string
	}{
		{"spec example", "HTTP://Example.COM:80/a/./b/../c?x=1#frag", "http://example.com/a/c?x=1"},
		{"already canonical", "https://example.com/a/b?x=1&y=2", "https://example.com/a/b?x=1&y=2"},

		// Scheme and host.
		{"scheme lower-cased", "HtTpS://example.com/", "https://example.com/"},
		{"host lower-cased", "http://WWW.Example.Com/Path", "http://www.example.com/Path"},
		{"host escapes decoded", "http://ex%41mple.com/", "http://example.com/"},
		{"host trailing dot", "http://example.com./", "http://example.com/"},
		{"host underscore", "http://my_host.example/", "http://my_host.example/"},
		{"IDN to punycode", "http://Bücher.example/", "http://xn--bcher-kva.example/"},
		{"IDN escaped", "http://b%C3%BCcher.example/", "http://xn--bcher-kva.example/"},
		{"punycode kept", "http://XN--BCHER-KVA.example/", "http://xn--bcher-kva.example/"},
		{"IPv4", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/"},
		{"IPv6 compressed and lower-cased", "http://[2001:DB8:0:0:0:0:0:1]:80/", "http://[2001:db8::1]/"},
		{"userinfo removed", "http://user:pass@example.com/", "http://example.com/"},
		{"userinfo with @ removed", "http://a@b@example.com/", "http://example.com/"},

		// Ports.
		{"http default port", "http://example.com:80/", "http://example.com/"},
		{"https default port", "https://example.com:443/", "https://example.com/"},
		{"https port on http kept", "http://example.com:443/", "http://example.com:443/"},
		{"http port on https kept", "https://example.com:80/", "https://example.com:80/"},
		{"other port kept", "http://example.com:8080/", "http://example.com:8080/"},
		{"empty port", "http://example.com:/x", "http://example.com/x"},
		{"port leading zeros", "http://example.com:0080/", "http://example.com/"},
		{"port leading zeros kept value", "http://example.com:08080/", "http://example.com:8080/"},

		// Path.
		{"empty path", "http://example.com", "http://example.com/"},
		{"empty path with query", "http://example.com?q=1", "http://example.com/?q=1"},
		{"dot segment", "http://example.com/a/./b", "http://example.com/a/b"},
		{"dot-dot segment", "http://example.com/a/b/../c", "http://example.com/a/c"},
		{"trailing dot", "http://example.com/a/.", "http://example.com/a/"},
		{"trailing dot-dot", "http://example.com/a/b/..", "http://example.com/a/"},
		{"dot-dot beyond root", "http://example.com/../../../x", "http://example.com/x"},
		{"only dot-dots", "http://example.com/../../..", "http://example.com/"},
		{"escaped dot-dot", "http://example.com/a/b/%2e%2E/c", "http://example.com/a/c"},
		{"empty segments kept", "http://example.com/a//b/", "http://example.com/a//b/"},
		{"backslash is slash", `http://example.com\a\b`, "http://example.com/a/b"},
		{"extra slashes before host", "http:////example.com/x", "http://example.com/x"},
		{"no slashes before host", "http:example.com/x", "http://example.com/x"},

		// Percent-encoding.
		{"tilde escape lower", "http://example.com/%7euser", "http://example.com/~user"},
		{"tilde escape upper", "http://example.com/%7Euser", "http://example.com/~user"},
		{"tilde", "http://example.com/~user", "http://example.com/~user"},
		{"unreserved decoded", "http://example.com/%41%7a%30%2D%2e%5F", "http://example.com/Az0-._"},
		{"reserved hex upper-cased", "http://example.com/a%2fb?x=%3d%26", "http://example.com/a%2Fb?x=%3D%26"},
		{"utf-8 escapes upper-cased", "http://example.com/caf%c3%a9", "http://example.com/caf%C3%A9"},
		{"bad escape", "http://example.com/%zz", "http://example.com/%25zz"},
		{"short escape", "http://example.com/%4", "http://example.com/%254"},
		{"trailing percent", "http://example.com/a%", "http://example.com/a%25"},
		{"space in path", "http://example.com/a b", "http://example.com/a%20b"},
		{"non-ASCII in path", "http://example.com/café", "http://example.com/caf%C3%A9"},
		{"specials in path", "http://example.com/\"<>^`{|}", "http://example.com/%22%3C%3E%5E%60%7B%7C%7D"},
		{"specials in query", "http://example.com/?q=\"<>\\^`{|} ", "http://example.com/?q=%22%3C%3E%5C%5E%60%7B%7C%7D"},
		{"control char in path", "http://example.com/a\x01b\x7f", "http://example.com/a%01b%7F"},
		{"non-ASCII in query", "http://example.com/?q=日本", "http://example.com/?q=%E6%97%A5%E6%9C%AC"},
		{"plus kept", "http://example.com/?q=a+b", "http://example.com/?q=a+b"},

		// Query.
		{"order sorted", "http://example.com/?b=2&a=1", "http://example.com/?a=1&b=2"},
		{"utm stripped", "http://example.com/?utm_source=x&a=1&utm_medium=y", "http://example.com/?a=1"},
		{"escaped utm stripped", "http://example.com/?utm%5Fsource=x&a=1", "http://example.com/?a=1"},
		{"exact names stripped", "http://example.com/?sid=1&sidx=2&fbclid=3", "http://example.com/?sidx=2"},
		{"tracking names fold case", "http://example.com/?UTM_source=x&FBCLID=y&PHPSESSID=z", "http://example.com/"},
		{"own prefix is case-sensitive", "http://example.com/?REF_x=1&ref_y=2", "http://example.com/?REF_x=1"},
		{"all stripped drops ?", "http://example.com/p?utm_source=x", "http://example.com/p"},
		{"empty query", "http://example.com/p?", "http://example.com/p"},
		{"empty query before fragment", "http://example.com/p?#f", "http://example.com/p"},
		{"empty pairs dropped", "http://example.com/?&a=1&&b=2&", "http://example.com/?a=1&b=2"},
		{"no value kept", "http://example.com/?a&b=", "http://example.com/?a&b="},
		{"question mark in query", "http://example.com/?a=?b", "http://example.com/?a=?b"},
		{"fragment dropped", "http://example.com/a#b?c", "http://example.com/a"},

		// Whitespace.
		{"surrounding whitespace", " \t\n http://example.com/a \r\n", "http://example.com/a"},
		{"newlines inside", "http://exa\nmple.com/a\r\n/b\t/c", "http://example.com/a/b/c"},
		{"newline inside scheme", "ht\ntp://example.com/", "http://example.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := n.Canonical(tt.in)
			if err != nil {
				t.Fatalf("Canonical(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
			}
			again, err := n.Canonical(got)
			if err != nil || again != got {
				t.Errorf("not idempotent: Canonical(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestCanonicalTildeForms(t *testing.T) {
	var n Normalizer
	var first string
	for i, in := range []string{"http://example.com/%7efoo", "http://example.com/%7Efoo", "http://example.com/~foo"} {
		got, err := n.Canonical(in)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && got != first {
			t.Errorf("Canonical(%q) = %q, want %q like the others", in, got, first)
		}
		first = got
	}
}

func TestCanonicalErrors(t *testing.T) {
	tests := []struct {
		name string
		n    Normalizer
		in   string
		want error
	}{
		{"javascript", Normalizer{}, "javascript:alert(1)", ErrScheme},
		{"javascript with whitespace", Normalizer{}, " java\nscript:void(0)", ErrScheme},
		{"mailto", Normalizer{}, "mailto:someone@example.com", ErrScheme},
		{"tel", Normalizer{}, "tel:+15551234", ErrScheme},
		{"data", Normalizer{}, "data:text/html,<b>x</b>", ErrScheme},
		{"ftp", Normalizer{}, "ftp://example.com/", ErrScheme},
		{"empty", Normalizer{}, "", ErrInvalid},
		{"relative", Normalizer{}, "/a/b", ErrInvalid},
		{"no scheme", Normalizer{}, "example.com/a", ErrInvalid},
		{"no host", Normalizer{}, "http://", ErrInvalid},
		{"empty host with port", Normalizer{}, "http://:80/", ErrInvalid},
		{"empty host with query", Normalizer{}, "http://?q", ErrInvalid},
		{"only dots", Normalizer{}, "http://../", ErrInvalid},
		{"space in host", Normalizer{}, "http://exa mple.com/", ErrInvalid},
		{"bad char in host", Normalizer{}, "http://exa<mple.com/", ErrInvalid},
		{"bad escape in host", Normalizer{}, "http://exa%zzmple.com/", ErrInvalid},
		{"escaped non-UTF-8 host", Normalizer{}, "http://%ff.com/", ErrInvalid},
		{"bad IDN", Normalizer{}, "http://a\u200d.com/", ErrInvalid},
		{"port not a number", Normalizer{}, "http://example.com:8o/", ErrInvalid},
		{"port too large", Normalizer{}, "http://example.com:65536/", ErrInvalid},
		{"two colons", Normalizer{}, "http://a:b:80/", ErrInvalid},
		{"unclosed IPv6", Normalizer{}, "http://[::1/", ErrInvalid},
		{"bad IPv6", Normalizer{}, "http://[::g]/", ErrInvalid},
		{"IPv4 in brackets", Normalizer{}, "http://[127.0.0.1]/", ErrInvalid},
		{"IPv6 zone", Normalizer{}, "http://[fe80::1%25eth0]/", ErrInvalid},
		{"junk after IPv6", Normalizer{}, "http://[::1]x/", ErrInvalid},
		{"too long", Normalizer{MaxLength: 30}, "http://example.com/0123456789abcdef", ErrTooLong},
		{"too long default", Normalizer{}, "http://example.com/" + strings.Repeat("a", 2030), ErrTooLong},
		{"huge input", Normalizer{}, "http://example.com/" + strings.Repeat("a/..", 10000), ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.n.Canonical(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Canonical(%q) = %q, %v; want error %v", tt.in, got, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "urlnorm: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestCanonicalMaxLengthBoundary(t *testing.T) {
	n := Normalizer{MaxLength: 25}
	ok := "http://example.com/123456" // 25 bytes
	if got, err := n.Canonical(ok); err != nil || got != ok {
		t.Errorf("Canonical(%q) = %q, %v; want it unchanged", ok, got, err)
	}
	if _, err := n.Canonical(ok + "7"); !errors.Is(err, ErrTooLong) {
		t.Errorf("26 bytes: err = %v, want ErrTooLong", err)
	}
	// Length is that of the canonical form, not of the input.
	if got, err := n.Canonical("HTTP://EXAMPLE.COM:80/123456#fragment"); err != nil || got != ok {
		t.Errorf("got %q, %v; want %q", got, err, ok)
	}
}

func TestCanonicalFastPathAllocs(t *testing.T) {
	n := Normalizer{StripParams: []string{"utm_*"}}
	in := "https://www.example.com/articles/2024/some-article-title?page=2&sort=new"
	allocs := testing.AllocsPerRun(100, func() {
		if got, _ := n.Canonical(in); got != in {
			t.Fatal("canonical input changed")
		}
	})
	if allocs != 0 {
		t.Errorf("Canonical of a canonical URL: %v allocs, want 0", allocs)
	}
}

func TestResolve(t *testing.T) {
	n := Normalizer{StripParams: []string{"utm_*"}}
	tests := []struct {
		name, base, ref, want string
	}{
		{"relative", "https://example.com/dir/page.html?x=1", "other.html", "https://example.com/dir/other.html"},
		{"dot relative", "https://example.com/dir/page.html", "./a/./b", "https://example.com/dir/a/b"},
		{"parent", "https://example.com/dir/sub/page.html", "../x", "https://example.com/dir/x"},
		{"beyond root", "https://example.com/dir/page.html", "../../../x", "https://example.com/x"},
		{"only parents", "https://example.com/a/b/c", "../../../..", "https://example.com/"},
		{"empty segment after parent kept", "https://example.com/dir/page.html", "..//x", "https://example.com//x"},
		{"dot", "https://example.com/dir/page.html", ".", "https://example.com/dir/"},
		{"path-absolute", "https://example.com/dir/page.html", "/root/x", "https://example.com/root/x"},
		{"path-absolute with dots", "https://example.com/dir/page.html", "/a/../b", "https://example.com/b"},
		{"protocol-relative", "https://example.com/dir/", "//other.example/x", "https://other.example/x"},
		{"protocol-relative on http", "http://example.com/dir/", "//Other.Example:80/x", "http://other.example/x"},
		{"protocol-relative backslashes", "https://example.com/", `\\other.example\x`, "https://other.example/x"},
		{"absolute", "https://example.com/dir/", "HTTP://Other.example/A", "http://other.example/A"},
		{"query only", "https://example.com/dir/page.html?x=1", "?y=2", "https://example.com/dir/page.html?y=2"},
		{"empty query", "https://example.com/dir/page.html?x=1", "?", "https://example.com/dir/page.html"},
		{"fragment only", "https://example.com/dir/page.html?x=1", "#top", "https://example.com/dir/page.html?x=1"},
		{"empty", "https://example.com/dir/page.html?x=1", "", "https://example.com/dir/page.html?x=1"},
		{"whitespace only", "https://example.com/p", " \n\t ", "https://example.com/p"},
		{"newlines inside", "https://example.com/dir/", " /a\n/b\r\n/c\t ", "https://example.com/a/b/c"},
		{"surrounding spaces", "https://example.com/dir/", "  page.html  ", "https://example.com/dir/page.html"},
		{"space inside", "https://example.com/dir/", "my page.html", "https://example.com/dir/my%20page.html"},
		{"same scheme relative", "http://example.com/dir/page", "http:other", "http://example.com/dir/other"},
		{"same scheme path-absolute", "http://example.com/dir/page", "http:/other", "http://example.com/other"},
		{"other scheme is absolute", "https://example.com/dir/page", "http:other", "http://other/"},
		{"base is canonicalized", "HTTPS://Example.com:443/a/./dir/x?utm_source=q", "y", "https://example.com/a/dir/y"},
		{"base query stripped", "https://example.com/p?utm_source=q&a=1", "#f", "https://example.com/p?a=1"},
		{"base port kept", "http://example.com:8080/dir/", "x", "http://example.com:8080/dir/x"},
		{"utm stripped", "https://example.com/", "/x?utm_campaign=c&id=7", "https://example.com/x?id=7"},
		{"base is directory", "https://example.com/dir/", "x", "https://example.com/dir/x"},
		{"relative with query", "https://example.com/dir/p", "q?a=1#f", "https://example.com/dir/q?a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			got, err := n.Resolve(base, tt.ref)
			if err != nil {
				t.Fatalf("Resolve(%q, %q): %v", tt.base, tt.ref, err)
			}
			if got != tt.want {
				t.Errorf("Resolve(%q, %q) = %q, want %q", tt.base, tt.ref, got, tt.want)
			}
			if again, err := n.Canonical(got); err != nil || again != got {
				t.Errorf("result not canonical: Canonical(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	httpsBase, _ := url.Parse("https://example.com/dir/")
	ftpBase, _ := url.Parse("ftp://example.com/dir/")
	relBase, _ := url.Parse("/dir/")
	tests := []struct {
		name string
		base *url.URL
		ref  string
		want error
	}{
		{"javascript", httpsBase, "javascript:void(0)", ErrScheme},
		{"javascript split by newline", httpsBase, "java\nscript:void(0)", ErrScheme},
		{"mailto", httpsBase, "mailto:a@example.com", ErrScheme},
		{"tel", httpsBase, "tel:+15551234", ErrScheme},
		{"data", httpsBase, "data:image/png;base64,AAAA", ErrScheme},
		{"bad host", httpsBase, "//exa mple.com/", ErrInvalid},
		{"empty host", httpsBase, "http://", ErrInvalid},
		{"nil base", nil, "x", ErrInvalid},
		{"ftp base", ftpBase, "x", ErrScheme},
		{"relative base", relBase, "x", ErrInvalid},
		{"too long", httpsBase, strings.Repeat("x", 3000), ErrTooLong},
	}
	var n Normalizer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := n.Resolve(tt.base, tt.ref)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Resolve(%v, %q) = %q, %v; want error %v", tt.base, tt.ref, got, err, tt.want)
			}
		})
	}
}

func TestNormalizerValidate(t *testing.T) {
	tests := []struct {
		name    string
		n       Normalizer
		wantErr bool
	}{
		{"zero", Normalizer{}, false},
		{"configured", Normalizer{StripParams: []string{"utm_*", "sid"}, MaxLength: 4096}, false},
		{"negative length", Normalizer{MaxLength: -1}, true},
		{"empty param", Normalizer{StripParams: []string{""}}, true},
		{"empty kept param", Normalizer{KeepParams: []string{"a", ""}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.n.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestIsPlain(t *testing.T) {
	for c := 0; c < 256; c++ {
		want := c > ' ' && c < 0x7f && !strings.ContainsRune("%\"<>\\^`{|}", rune(c))
		if got := isPlain(byte(c)); got != want {
			t.Errorf("isPlain(%#x) = %v, want %v", c, got, want)
		}
	}
}
