package parse

import (
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestScanCSS(t *testing.T) {
	type ref struct {
		URL    string
		Raw    string // css[Start:End]
		Import bool
	}
	tests := []struct {
		name string
		css  string
		want []ref
	}{
		{"unquoted", `body{background:url(img/bg.png)}`, []ref{{"img/bg.png", "img/bg.png", false}}},
		{"quoted", `a{b:url("x y.png")} c{d:url('z.png')}`, []ref{{"x y.png", `"x y.png"`, false}, {"z.png", `'z.png'`, false}}},
		{"spaces inside", `a{b:url(  x.png  )}`, []ref{{"x.png", "x.png", false}}},
		{"upper case", `a{b:URL(x.png)}`, []ref{{"x.png", "x.png", false}}},
		{"import string", `@import "base.css?v=2";`, []ref{{"base.css?v=2", `"base.css?v=2"`, true}}},
		{"import url", `@import url(print.css) print;`, []ref{{"print.css", "print.css", true}}},
		{"import comment between", `@import /* c */ 'a.css';`, []ref{{"a.css", `'a.css'`, true}}},
		{"import upper", `@IMPORT "a.css";`, []ref{{"a.css", `"a.css"`, true}}},
		{"string not import", `a{content:"url(x.png)"}`, nil},
		{"comment", `/* url(x.png) */ a{b:url(y.png)}`, []ref{{"y.png", "y.png", false}}},
		{"unterminated comment", `a{b:url(y.png)} /* url(x.png)`, []ref{{"y.png", "y.png", false}}},
		{"other function", `a{b:myurl(x.png); c:src(y.png)}`, nil},
		{"escapes", `a{b:url(a\)b.png)} c{d:url("q\"r")}`, []ref{{"a)b.png", `a\)b.png`, false}, {`q"r`, `"q\"r"`, false}}},
		{"hex escape", `a{b:url(\41 b.png)}`, []ref{{"Ab.png", `\41 b.png`, false}}},
		{"escaped ident", `a{b:u\72l(x.png)}`, []ref{{"x.png", "x.png", false}}},
		{"bad url", `a{b:url(x y.png)} c{d:url(z.png)}`, []ref{{"z.png", "z.png", false}}},
		{"quote in unquoted", `a{b:url(x"y)} c{d:url(z.png)}`, []ref{{"z.png", "z.png", false}}},
		{"font face", `@font-face{src:url(f.woff2) format("woff2"),url(f.woff) format("woff")}`, []ref{{"f.woff2", "f.woff2", false}, {"f.woff", "f.woff", false}}},
		{"unterminated url", `a{b:url(x.png`, []ref{{"x.png", "x.png", false}}},
		{"unterminated string", "@import \"a.css\n;", []ref{{"a.css", `"a.css`, true}}},
		{"import after rule", `a{} @media print{@import "a.css";}`, []ref{{"a.css", `"a.css"`, true}}},
		{"empty", `a{b:url()}`, []ref{{"", "", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []ref
			for _, r := range ScanCSS(tt.css) {
				got = append(got, ref{r.URL, tt.css[r.Start:r.End], r.Import})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ScanCSS(%q)\n got %+v\nwant %+v", tt.css, got, tt.want)
			}
		})
	}
}

func TestQuoteCSS(t *testing.T) {
	for _, s := range []string{"a.png", `a"b`, `a'b`, `a\b`, "a\nb", "../x%3Fy.css"} {
		for _, q := range []byte{'"', '\''} {
			css := "a{b:url(" + QuoteCSS(s, q) + ")}"
			refs := ScanCSS(css)
			if len(refs) != 1 || refs[0].URL != s {
				t.Errorf("QuoteCSS(%q, %c) = %s: scanned back as %+v", s, q, css, refs)
			}
		}
	}
}

// FuzzScanCSS checks that ScanCSS never panics, returns ordered ranges in
// bounds, and that replacing every reference's value with a quoted string
// gives a style sheet with the same references, each with that value: the
// property link conversion relies on.
func FuzzScanCSS(f *testing.F) {
	for _, s := range []string{
		`@import "a.css"; body{background:url(b.png)}`,
		`@import url(x.css) screen; /* url(no) */ a{b:url( 'c d' )}`,
		`a{b:url(x\)y)} c{content:"url(z)"}`,
		`a{b:url(x y)} @font-face{src:url(f.woff2)}`,
		"@import \"a\n", `url(`, `/*`, `\`, `@import`, `u\72l(a)`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, css string) {
		refs := ScanCSS(css)
		prev := 0
		for _, r := range refs {
			if r.Start < prev || r.End < r.Start || r.End > len(css) {
				t.Fatalf("ScanCSS(%q): bad range %d:%d after %d", css, r.Start, r.End, prev)
			}
			prev = r.End
		}
		var b strings.Builder
		prev = 0
		for _, r := range refs {
			b.WriteString(css[prev:r.Start])
			b.WriteString(QuoteCSS("new/x.png", '"'))
			prev = r.End
		}
		b.WriteString(css[prev:])
		again := ScanCSS(b.String())
		if len(again) != len(refs) {
			t.Fatalf("ScanCSS(%q): %d refs, after rewriting to %q: %d", css, len(refs), b.String(), len(again))
		}
		for i, r := range again {
			if r.URL != "new/x.png" || r.Import != refs[i].Import {
				t.Fatalf("ScanCSS(%q) rewritten to %q: ref %d is %+v, was %+v", css, b.String(), i, r, refs[i])
			}
		}
	})
}

// TestParseStylesheet checks that Parse reads a style sheet for its
// references: resolved against the sheet's URL, canonical, each once, at
// most MaxLinks of them, and nothing else of a page.
func TestParseStylesheet(t *testing.T) {
	base, _ := url.Parse("https://example.com/static/site.css?v=2")
	css := []byte(`@import "print.css"; body { background: url( "../img/bg.png#x" ) }
		.a { background: url(/img/bg.png) } .b { background: url(data:image/png;base64,AAAA) }
		.c { background: url(https://Example.com:443/img/c.png) }`)
	tests := []struct {
		name     string
		maxLinks int
		want     []string
	}{
		{"all", 0, []string{"https://example.com/static/print.css", "https://example.com/img/bg.png", "https://example.com/img/c.png"}},
		{"capped", 2, []string{"https://example.com/static/print.css", "https://example.com/img/bg.png"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := HTML{MaxLinks: tt.maxLinks}.Parse(base, "text/css; charset=utf-8", css)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Assets, tt.want) || len(p.Links) != 0 || p.Doc != nil {
				t.Errorf("assets %q, links %q; want assets %q and no links", p.Assets, p.Links, tt.want)
			}
		})
	}
}
