package output

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/hivecrawl/crawl/crawler"
)

// saveAll saves pages (URL → content type and body) in a new Tree on dir.
func saveAll(t *testing.T, dir string, adjust bool, pages [][3]string) {
	t.Helper()
	tree, err := NewTree(dir, TreeOptions{AdjustExtension: adjust})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	for _, p := range pages {
		page := savePage(p[0], 200, p[2])
		page.Result.ContentType = p[1]
		if err := tree.HandlePage(context.Background(), page); err != nil {
			t.Fatal(err)
		}
	}
}

func convert(t *testing.T, dir string) Converted {
	t.Helper()
	done, err := ConvertLinks(context.Background(), dir, ConvertOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return done
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConvertHTMLInPlace checks that conversion changes link values and
// nothing else of a document: quoting, case, entities, comments, white
// space and unknown markup stay byte for byte.
func TestConvertHTMLInPlace(t *testing.T) {
	const h = "text/html"
	tests := []struct {
		name, body, want string
	}{
		{"quoting kept elsewhere", `<A HREF=b.html Title='x'>b</A><!-- <a href="b.html"> --><p class=x>`,
			`<A HREF=b.html Title='x'>b</A><!-- <a href="b.html"> --><p class=x>`}, // the same link: untouched
		{"root-relative", `<a href="/d/c.css?v=1#x">c</a>`, `<a href="d/c.css%3Fv=1#x">c</a>`},
		{"not saved", `<a href="gone.html">g</a> <a href="http://other.test/x">o</a> <a href="mailto:a@b">m</a> <a href="#top">t</a>`,
			`<a href="http://h.test/gone.html">g</a> <a href="http://other.test/x">o</a> <a href="mailto:a@b">m</a> <a href="#top">t</a>`},
		{"entities in values", `<a href="/q?a=1&amp;b=2">q</a><a href="b.html?x=&quot;">z</a>`,
			`<a href="q%3Fa=1&amp;b=2">q</a><a href="http://h.test/b.html?x=&quot;">z</a>`},
		{"srcset and style", `<img srcset="/i.png 1x, /missing.png 2x" style="background:url(/i.png)"><style>a{b:url( "i.png" )}</style>`,
			`<img srcset="i.png 1x, http://h.test/missing.png 2x" style="background:url('i.png')"><style>a{b:url( "i.png" )}</style>`},
		{"style element", `<style>@import "/d/c.css?v=1"; p{x:url(i.png)}</style><p style="color: red">`,
			`<style>@import "d/c.css%3Fv=1"; p{x:url(i.png)}</style><p style="color: red">`},
		{"base", `<base href="/d/"><a href="c.css?v=1">c</a><img src="../i.png">`,
			`<base href=""><a href="d/c.css%3Fv=1">c</a><img src="i.png">`},
		{"other attributes and duplicates", `<a data-href="/b.html" href="/b.html" href="/i.png">x</a><form action="/b.html"><object data=/i.png></object>`,
			`<a data-href="/b.html" href="b.html" href="/i.png">x</a><form action="b.html"><object data="i.png"></object>`},
		{"script text untouched", `<script>var a = '<a href="/b.html">';</script><textarea><a href="/b.html"></textarea>`,
			`<script>var a = '<a href="/b.html">';</script><textarea><a href="/b.html"></textarea>`},
		{"unterminated", `<a href="/b.html">b</a><a href="/b.html`, `<a href="b.html">b</a><a href="/b.html`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			saveAll(t, dir, false, [][3]string{
				{"http://h.test/", h, tt.body},
				{"http://h.test/b.html", h, "<p>b"},
				{"http://h.test/q?a=1&b=2", h, "<p>q"},
				{"http://h.test/d/c.css?v=1", "text/css", "p{}"},
				{"http://h.test/i.png", "image/png", "PNG"},
			})
			convert(t, dir)
			if got := readFile(t, filepath.Join(dir, "h.test", "index.html")); got != tt.want {
				t.Errorf("converted\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestConvertCSS checks style sheets: url() and @import become relative
// to the sheet's own file.
func TestConvertCSS(t *testing.T) {
	dir := t.TempDir()
	saveAll(t, dir, true, [][3]string{
		{"http://h.test:8080/s/site.css?v=2", "text/css", `@import "base.css"; a{b:url(/i/x.png)} c{d:url(data:image/png;base64,AA)} e{f:url(gone.png)}`},
		{"http://h.test:8080/s/base.css", "text/css", `a{}`},
		{"http://h.test:8080/i/x.png", "image/png", "PNG"},
	})
	convert(t, dir)
	got := readFile(t, filepath.Join(dir, "h.test:8080", "s", "site.css?v=2.css"))
	want := `@import "base.css"; a{b:url("../i/x.png")} c{d:url(data:image/png;base64,AA)} e{f:url("http://h.test:8080/s/gone.png")}`
	if got != want {
		t.Errorf("converted\n%s\nwant\n%s", got, want)
	}
}

// TestConvertAfterMoreSaved checks the resume case: pages saved after a
// first conversion, one of which turns a converted page's target file into
// a directory, are linked locally by the next conversion, and links in the
// converted files stay right.
func TestConvertAfterMoreSaved(t *testing.T) {
	dir := t.TempDir()
	const h = "text/html"
	saveAll(t, dir, false, [][3]string{
		{"http://h.test/", h, `<a href="/docs">docs</a> <a href="/docs/intro">intro</a> <a href="/later?x=1">later</a>`},
		{"http://h.test/docs", h, `<a href="/">home</a>`},
	})
	convert(t, dir)
	index := filepath.Join(dir, "h.test", "index.html")
	if got, want := readFile(t, index), `<a href="docs">docs</a> <a href="http://h.test/docs/intro">intro</a> <a href="http://h.test/later?x=1">later</a>`; got != want {
		t.Fatalf("first conversion\n%s\nwant\n%s", got, want)
	}
	// A resumed crawl saves more: "docs" moves to docs/index.html.
	saveAll(t, dir, false, [][3]string{
		{"http://h.test/docs/intro", h, `<a href="../docs">up</a>`},
		{"http://h.test/later?x=1", h, `<p>later`},
	})
	convert(t, dir)
	if got, want := readFile(t, index), `<a href="docs/index.html">docs</a> <a href="docs/intro">intro</a> <a href="later%3Fx=1">later</a>`; got != want {
		t.Errorf("second conversion\n%s\nwant\n%s", got, want)
	}
	if got, want := readFile(t, filepath.Join(dir, "h.test", "docs", "index.html")), `<a href="../index.html">home</a>`; got != want {
		t.Errorf("moved page\n%s\nwant\n%s", got, want)
	}
	if got, want := readFile(t, filepath.Join(dir, "h.test", "docs", "intro")), `<a href="index.html">up</a>`; got != want {
		t.Errorf("new page\n%s\nwant\n%s", got, want)
	}
}

// TestConvertCrashBeforeReplace checks that a conversion recorded in the
// index whose file was never replaced (a crash between the two) is taken
// for what it is: a file still to convert.
func TestConvertCrashBeforeReplace(t *testing.T) {
	dir := t.TempDir()
	saveAll(t, dir, false, [][3]string{
		{"http://h.test/a/", "text/html", `<a href="/b">b</a>`},
		{"http://h.test/b", "text/html", `<p>b`},
	})
	appendFile(t, filepath.Join(dir, IndexName), `{"file":"h.test/a/index.html","converted":"`+sum([]byte(`<a href="../b">b</a>`))+`"}`+"\n")
	convert(t, dir)
	if got, want := readFile(t, filepath.Join(dir, "h.test", "a", "index.html")), `<a href="../b">b</a>`; got != want {
		t.Errorf("converted\n%s\nwant\n%s", got, want)
	}
}

func TestRelLink(t *testing.T) {
	tests := []struct{ from, to, want string }{
		{"h/a.html", "h/b.html", "b.html"},
		{"h/a.html", "h/a.html", "a.html"},
		{"h/x/a.html", "h/b.html", "../b.html"},
		{"h/a.html", "h/x/y/b.html", "x/y/b.html"},
		{"h/a.html", "g:8080/b.html", "../g:8080/b.html"},
		{"h:1/a.html", "h:1/c:d", "./c:d"},
		{"h/a", "h/s.css?v=1 x%41#y", "s.css%3Fv=1%20x%2541%23y"},
		{"h/a", "h/日本", "%E6%97%A5%E6%9C%AC"},
	}
	for _, tt := range tests {
		if got := relLink(tt.from, tt.to); got != tt.want {
			t.Errorf("relLink(%s, %s) = %s, want %s", tt.from, tt.to, got, tt.want)
		}
	}
}

// FuzzConvertHTML checks that the attribute scanner agrees with the
// tokenizer on every start tag, that converting changes nothing where no
// link is rewritten, and that it never panics.
func FuzzConvertHTML(f *testing.F) {
	for _, s := range []string{
		`<a href="/b.html">b</a>`, `<A HREF=b.html Title='x'>`, `<a =x href = 'y' / href=z>`,
		`<img srcset="/i.png 1x, x 2x" style="background:url(/i.png)">`, `<style>@import "/x";</style>`,
		`<base href="/d/"><a href="c">`, `<a href="/b.html`, `<a href=">`, `<p/a=b/c>`, `<!-- <a href=x> -->`,
	} {
		f.Add(s)
	}
	cv := &converter{ix: &treeIndex{files: map[string]*indexedFile{}, names: map[string]string{}}, resolver: netResolver{},
		byURL: map[string]string{"http://h.test/b.html": "h.test/b.html", "http://h.test/i.png": "h.test/i.png"}}
	f.Fuzz(func(t *testing.T, doc string) {
		z := html.NewTokenizer(strings.NewReader(doc))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			raw := []byte(string(z.Raw()))
			var keys []string
			for _, more := z.TagName(); more; {
				var k []byte
				k, _, more = z.TagAttr()
				keys = append(keys, string(k))
			}
			var got []string
			for _, a := range scanRawAttrs(raw) {
				got = append(got, a.key)
				if a.outStart > a.outEnd || a.outEnd > len(raw) {
					t.Fatalf("%q: bad range %d:%d", raw, a.outStart, a.outEnd)
				}
			}
			if strings.Join(got, " ") != strings.Join(keys, " ") {
				t.Fatalf("%q: scanned %q, tokenizer %q", raw, got, keys)
			}
		}
		none := &converter{ix: cv.ix, resolver: netResolver{}, byURL: map[string]string{}}
		p := &pageConv{cv: none, file: "h.test/index.html", base: mustParse("http://h.test/")}
		p.converted, p.linksFrom = true, p.file // relative links unknown to the index: left alone
		out, changed := p.convertHTML([]byte(doc))
		if !changed && string(out) != doc {
			t.Fatalf("unchanged, yet %q became %q", doc, out)
		}
		p = &pageConv{cv: cv, file: "h.test/index.html", base: mustParse("http://h.test/")}
		p.convertHTML([]byte(doc))
	})
}

var _ crawler.Handler = (*Tree)(nil)

func mustParse(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
