package sitemap

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const urlsetDoc = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc> https://a.test/1 </loc><lastmod>2026-01-02</lastmod>
    <image:image><image:loc>https://a.test/1.png</image:loc></image:image></url>
  <url><loc>https://a.test/2?x=1&amp;y=2</loc></url>
  <url><lastmod>2026-01-02</lastmod></url>
  <url><loc><![CDATA[https://a.test/3]]></loc></url>
</urlset>`

const indexDoc = `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://a.test/s1.xml.gz</loc><lastmod>2026-01-01</lastmod></sitemap>
  <sitemap><loc>/s2.xml</loc></sitemap>
</sitemapindex>`

func gz(s string) string {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.String()
}

// collect runs Parse and renders what it yields, one entry or error a line.
func collect(doc string, lim Limits) []string {
	var out []string
	for e, err := range Parse(strings.NewReader(doc), lim) {
		if err != nil {
			out = append(out, "error: "+err.Error())
			continue
		}
		s := e.Loc
		if e.Index {
			s = "index " + s
		}
		if e.LastMod != "" {
			s += " @" + e.LastMod
		}
		out = append(out, s)
	}
	return out
}

func TestParse(t *testing.T) {
	many := "<urlset>" + strings.Repeat("<url><loc>https://a.test/x</loc></url>", 5) + "</urlset>"
	tests := []struct {
		name string
		doc  string
		lim  Limits
		want []string
	}{
		{"urlset", urlsetDoc, Limits{}, []string{"https://a.test/1 @2026-01-02", "https://a.test/2?x=1&y=2", "https://a.test/3"}},
		{"index", indexDoc, Limits{}, []string{"index https://a.test/s1.xml.gz @2026-01-01", "index /s2.xml"}},
		{"gzip", gz(urlsetDoc), Limits{}, []string{"https://a.test/1 @2026-01-02", "https://a.test/2?x=1&y=2", "https://a.test/3"}},
		{"text", "\ufeffhttps://a.test/1\n\n  https://a.test/2  \r\nnot a url\nftp://a.test/3\n", Limits{}, []string{"https://a.test/1", "https://a.test/2"}},
		{"empty", "", Limits{}, nil},
		{"too many", many, Limits{MaxURLs: 3}, []string{"https://a.test/x", "https://a.test/x", "https://a.test/x", "error: sitemap: more entries than MaxURLs (3)"}},
		{"exactly max", many, Limits{MaxURLs: 5}, []string{"https://a.test/x", "https://a.test/x", "https://a.test/x", "https://a.test/x", "https://a.test/x"}},
		{"too large", urlsetDoc, Limits{MaxBytes: int64(strings.Index(urlsetDoc, "</url>") + 10)}, []string{"https://a.test/1 @2026-01-02", "error: sitemap: document larger than MaxBytes"}},
		{"gzip bomb", gz("<urlset>" + strings.Repeat(" ", 1<<20) + "</urlset>"), Limits{MaxBytes: 64 << 10}, []string{"error: sitemap: document larger than MaxBytes"}},
		{"wrong root", "<html><body>hi</body></html>", Limits{}, []string{"error: sitemap: root element <html>: want <urlset> or <sitemapindex>"}},
		{"malformed", "<urlset><url><loc>https://a.test/1</loc></url><url><loc>x", Limits{}, []string{"https://a.test/1", "error: sitemap: xml: XML syntax error on line 1: unexpected EOF"}},
		{"bad gzip", "\x1f\x8bnot gzip", Limits{}, []string{"error: sitemap: gzip: gzip: invalid header"}},
		{"other charset", `<?xml version="1.0" encoding="ISO-8859-1"?><urlset/>`, Limits{}, []string{`error: sitemap: xml: xml: opening charset "ISO-8859-1": unsupported charset "ISO-8859-1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(tt.doc, tt.lim)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestParseStopsWhenConsumerBreaks(t *testing.T) {
	n := 0
	for range Parse(strings.NewReader(urlsetDoc), Limits{}) {
		n++
		break
	}
	if n != 1 {
		t.Errorf("%d entries after break", n)
	}
}

// fakeGetter serves documents from a map and counts the fetches.
type fakeGetter struct {
	docs    map[string]string
	fetches map[string]int
}

func (g *fakeGetter) Get(ctx context.Context, u string) (int, []byte, error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	g.fetches[u]++
	if u == "https://a.test/down.xml" {
		return 0, nil, errors.New("connection refused")
	}
	doc, ok := g.docs[u]
	if !ok {
		return 404, []byte("not found"), nil
	}
	return 200, []byte(doc), nil
}

func TestWalk(t *testing.T) {
	set := func(locs ...string) string {
		var b strings.Builder
		b.WriteString("<urlset>")
		for _, l := range locs {
			fmt.Fprintf(&b, "<url><loc>%s</loc></url>", l)
		}
		b.WriteString("</urlset>")
		return b.String()
	}
	index := func(locs ...string) string {
		var b strings.Builder
		b.WriteString("<sitemapindex>")
		for _, l := range locs {
			fmt.Fprintf(&b, "<sitemap><loc>%s</loc></sitemap>", l)
		}
		b.WriteString("</sitemapindex>")
		return b.String()
	}
	g := &fakeGetter{fetches: map[string]int{}, docs: map[string]string{
		// robots.txt named index.xml; the walk also tries /sitemap.xml.
		"https://a.test/index.xml":   index("https://a.test/s1.xml.gz", "/nested.xml", "https://a.test/index.xml", "https://a.test/missing.xml", "https://a.test/down.xml"),
		"https://a.test/s1.xml.gz":   gz(set("https://a.test/p1", "p2", "mailto:x@a.test", "https://a.test/p3")),
		"https://a.test/nested.xml":  index("https://a.test/deeper.xml", "https://a.test/s1.xml.gz"),
		"https://a.test/deeper.xml":  index("https://a.test/deepest.xml"),
		"https://a.test/deepest.xml": set("https://a.test/too-deep"),
		"https://a.test/sitemap.xml": set("https://a.test/p4"),
	}}
	var got, errs []string
	for e, err := range Walk(context.Background(), g, Limits{}, "https://a.test/index.xml", "https://a.test/sitemap.xml", "https://a.test/index.xml") {
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		got = append(got, e.Loc+" < "+e.Sitemap)
	}
	want := []string{
		"https://a.test/p4 < https://a.test/sitemap.xml",
		"https://a.test/p1 < https://a.test/s1.xml.gz",
		"https://a.test/p2 < https://a.test/s1.xml.gz",
		"https://a.test/p3 < https://a.test/s1.xml.gz",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantErrs := []string{
		"sitemap: https://a.test/missing.xml: HTTP 404",
		"sitemap: https://a.test/down.xml: connection refused",
		"sitemap: https://a.test/deepest.xml: sitemap indexes nested deeper than 2",
	}
	if strings.Join(errs, "\n") != strings.Join(wantErrs, "\n") {
		t.Errorf("errors\n%s\nwant\n%s", strings.Join(errs, "\n"), strings.Join(wantErrs, "\n"))
	}
	for u, n := range g.fetches {
		if n != 1 {
			t.Errorf("%s fetched %d times", u, n)
		}
	}
	if g.fetches["https://a.test/deepest.xml"] != 0 {
		t.Error("a sitemap nested too deep was fetched")
	}
}

func TestWalkLimitsAndCancel(t *testing.T) {
	g := &fakeGetter{fetches: map[string]int{}, docs: map[string]string{
		"https://a.test/a.xml": "<urlset><url><loc>https://a.test/1</loc></url></urlset>",
		"https://a.test/b.xml": "<urlset><url><loc>https://a.test/2</loc></url></urlset>",
	}}
	var errs []error
	n := 0
	for _, err := range Walk(context.Background(), g, Limits{MaxFiles: 1}, "https://a.test/a.xml", "https://a.test/b.xml") {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	var se *Error
	if n != 1 || len(errs) != 1 || !errors.As(errs[0], &se) || se.URL != "https://a.test/b.xml" {
		t.Errorf("MaxFiles 1: %d entries, errors %v", n, errs)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range Walk(ctx, g, Limits{}, "https://a.test/a.xml") {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("canceled walk yielded %v", err)
		}
	}
	if err := (Limits{MaxURLs: -1}).Validate(); err == nil {
		t.Error("a negative limit is valid")
	}
}

func FuzzParse(f *testing.F) {
	for _, doc := range []string{urlsetDoc, indexDoc, gz(urlsetDoc), "https://a.test/\n", "<urlset><url><loc>"} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		n := 0
		for e, err := range Parse(bytes.NewReader(doc), Limits{MaxBytes: 1 << 16, MaxURLs: 100}) {
			if err != nil {
				break
			}
			if e.Loc == "" || e.Loc != strings.TrimSpace(e.Loc) {
				t.Fatalf("entry with loc %q", e.Loc)
			}
			if n++; n > 100 {
				t.Fatal("more entries than MaxURLs")
			}
		}
	})
}
