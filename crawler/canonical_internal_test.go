package crawler

import (
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/urlnorm"
)

func TestLinkHeaderCanonical(t *testing.T) {
	const base = "https://example.com/dir/page?id=7&sort=a"
	tests := []struct {
		name   string
		values []string
		want   string
		ok     bool
	}{
		{"none", nil, "", true},
		{"quoted rel", []string{`</dir/page?id=7>; rel="canonical"`}, "https://example.com/dir/page?id=7", true},
		{"token rel, any case", []string{`<https://Example.com/c>;REL=Canonical`}, "https://example.com/c", true},
		{"rel list", []string{`</c>; rel="alternate canonical"`}, "https://example.com/c", true},
		{"relative to the page", []string{`<other>; rel=canonical`}, "https://example.com/dir/other", true},
		{"among others", []string{`</style.css>; rel=stylesheet, </c>; rel="canonical"; title="a, b;c"`}, "https://example.com/c", true},
		{"comma in a quoted param", []string{`</x>; title="a, <y>; rel=canonical", </c>; rel=canonical`}, "https://example.com/c", true},
		{"escaped quote", []string{`</x>; title="a\", rel=canonical", </c>; rel=canonical`}, "https://example.com/c", true},
		{"two header lines agree", []string{`</c>; rel=canonical`, `<https://example.com/c#f>; rel=canonical`}, "https://example.com/c", true},
		{"two disagree", []string{`</c>; rel=canonical, </d>; rel=canonical`}, "", false},
		{"not canonical", []string{`</c>; rel="canonical-ish"`, `</d>; rev=canonical`}, "", true},
		{"unusable target ignored", []string{`<javascript:x>; rel=canonical`}, "", true},
		{"malformed", []string{`<unclosed; rel=canonical`, `;;;,,,<`, `rel=canonical`, `<>; rel=canonical`}, "", true},
	}
	var n urlnorm.Normalizer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := linkHeaderCanonical(&n, base, tt.values)
			if got != tt.want || ok != tt.ok {
				t.Errorf("linkHeaderCanonical(%q) = %q, %v; want %q, %v", tt.values, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func FuzzLinkHeader(f *testing.F) {
	for _, s := range []string{
		`</c>; rel="canonical"`, `<a>;rel=canonical,<b>;rel="x canonical"`, `</x>; title="a\", rel", <y>`,
		`<`, `;`, `"`, `<a>; rel="unclosed`, `<a>;=;rel`, "<\x00>; rel=canonical",
	} {
		f.Add(s)
	}
	var n urlnorm.Normalizer
	f.Fuzz(func(t *testing.T, v string) {
		for s := v; s != ""; {
			_, _, rest := nextLink(s)
			if len(rest) >= len(s) {
				t.Fatalf("nextLink(%q) did not advance: rest %q", s, rest)
			}
			s = rest
		}
		got, ok := linkHeaderCanonical(&n, "https://example.com/p", []string{v})
		if !ok && got != "" {
			t.Fatalf("a conflict with a result %q", got)
		}
		if got != "" {
			if again, err := n.Canonical(got); err != nil || again != got {
				t.Fatalf("%q gave %q, which is not canonical (%q, %v)", v, got, again, err)
			}
			if strings.Contains(got, "#") {
				t.Fatalf("%q gave %q with a fragment", v, got)
			}
		}
	})
}
