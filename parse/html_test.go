package parse

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"

	"github.com/hivecrawl/crawl/urlnorm"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestParse(t *testing.T) {
	const pageURL = "https://example.com/dir/page.html"
	tests := []struct {
		name string
		h    HTML
		body string

		wantTitle     string
		wantBase      string
		wantLinks     []string
		wantAssets    []string
		wantFound     int
		wantSkipped   int
		wantTruncated bool
		wantNoFollow  bool
		wantNoIndex   bool
	}{
		{
			name:      "links resolved against the page",
			body:      `<title>Hello</title><a href="a.html">a</a><a href="/b">b</a><a href="//cdn.example/c">c</a><area href="../d">`,
			wantTitle: "Hello",
			wantLinks: []string{"https://example.com/dir/a.html", "https://example.com/b", "https://cdn.example/c", "https://example.com/d"},
			wantFound: 4,
		},
		{
			name:      "title whitespace collapsed",
			body:      "<title>\n  Hello,\t\tbig \r\n world  </title>",
			wantTitle: "Hello, big world",
		},
		{
			name:      "first title only, entities decoded",
			body:      "<head><title>One &amp; only</title></head><body><title>Two</title></body>",
			wantTitle: "One & only",
		},
		{
			name:      "svg title is not the page title",
			body:      `<body><svg><title>icon</title></svg><p>x</p></body>`,
			wantTitle: "",
		},
		{
			name:      "whitespace and newlines inside href",
			body:      "<a href=\"  /a\n/b\t/c  \">x</a><a href=\"\n\thttps://Example.com/d\r\n\">y</a>",
			wantLinks: []string{"https://example.com/a/b/c", "https://example.com/d"},
			wantFound: 2,
		},
		{
			name:      "base href",
			body:      `<head><base href="https://static.example/root/"><base href="/ignored/"></head><a href="x">x</a><a href="/y">y</a>`,
			wantBase:  "https://static.example/root/",
			wantLinks: []string{"https://static.example/root/x", "https://static.example/y"},
			wantFound: 2,
		},
		{
			name:      "relative base href",
			body:      `<base href="../other/"><a href="x">x</a>`,
			wantBase:  "https://example.com/other/",
			wantLinks: []string{"https://example.com/other/x"},
			wantFound: 1,
		},
		{
			name:      "base after the links still applies",
			body:      `<a href="x">x</a><base href="/b/">`,
			wantBase:  "https://example.com/b/",
			wantLinks: []string{"https://example.com/b/x"},
			wantFound: 1,
		},
		{
			name:      "unusable base href ignored",
			body:      `<base href="javascript:void(0)"><a href="x">x</a>`,
			wantLinks: []string{"https://example.com/dir/x"},
			wantFound: 1,
		},
		{
			name:      "base without href ignored",
			body:      `<base target="_blank"><base href="/b/"><a href="x">x</a>`,
			wantBase:  "https://example.com/b/",
			wantLinks: []string{"https://example.com/b/x"},
			wantFound: 1,
		},
		{
			name:      "rel nofollow skipped",
			body:      `<a href="/a" rel="nofollow">a</a><a href="/b" rel="external NoFollow noopener">b</a><a href="/c" rel="nofollowx">c</a>`,
			wantLinks: []string{"https://example.com/c"},
			wantFound: 1,
		},
		{
			name:      "rel nofollow followed when asked",
			h:         HTML{FollowNofollow: true},
			body:      `<a href="/a" rel="nofollow">a</a><a href="/b">b</a>`,
			wantLinks: []string{"https://example.com/a", "https://example.com/b"},
			wantFound: 2,
		},
		{
			name:         "meta robots nofollow",
			body:         `<meta name="robots" content="index, nofollow"><a href="/a">a</a><img src="/i.png">`,
			wantNoFollow: true,
			wantAssets:   []string{"https://example.com/i.png"},
		},
		{
			name:         "meta robots nofollow followed when asked",
			h:            HTML{FollowNofollow: true},
			body:         `<meta name="ROBOTS" content="NOFOLLOW"><a href="/a">a</a>`,
			wantNoFollow: true,
			wantLinks:    []string{"https://example.com/a"},
			wantFound:    1,
		},
		{
			name:        "meta robots noindex",
			body:        `<meta name="Robots" content="noindex"><a href="/a">a</a>`,
			wantNoIndex: true,
			wantLinks:   []string{"https://example.com/a"},
			wantFound:   1,
		},
		{
			name:         "meta robots none",
			body:         `<meta name="robots" content="none"><a href="/a">a</a>`,
			wantNoFollow: true,
			wantNoIndex:  true,
		},
		{
			name:         "meta robots spread over two tags",
			body:         `<meta name="robots" content="noindex"><meta name="robots" content="nofollow">`,
			wantNoFollow: true,
			wantNoIndex:  true,
		},
		{
			name: "other meta names ignored",
			body: `<meta name="googlebot" content="nofollow"><meta name="description" content="noindex, nofollow"><meta content="none">`,
		},
		{
			name:        "unsupported schemes skipped and counted",
			body:        `<a href="javascript:void(0)">j</a><a href="mailto:a@example.com">m</a><a href="tel:+1555">t</a><a href="data:text/html,x">d</a><a href="JavaScript:x">J</a><a href="http://exa mple.com/">bad</a><a href="/ok">ok</a>`,
			wantLinks:   []string{"https://example.com/ok"},
			wantFound:   1,
			wantSkipped: 6,
		},
		{
			name:      "deduplicated after canonicalization",
			body:      `<a href="/a">1</a><a href="/a#x">2</a><a href="https://EXAMPLE.com:443/a">3</a><a href="/%61">4</a><a href="/b">5</a><a href="/a?">6</a>`,
			wantLinks: []string{"https://example.com/a", "https://example.com/b"},
			wantFound: 2,
		},
		{
			name:      "fragment-only and empty hrefs are the page",
			body:      `<a href="#top">top</a><a href="">self</a><a>no href</a>`,
			wantLinks: []string{"https://example.com/dir/page.html"},
			wantFound: 1,
		},
		{
			name:      "tracking and StripParams params stripped",
			h:         HTML{Normalizer: urlnorm.Normalizer{StripParams: []string{"ref"}}},
			body:      `<a href="/a?utm_source=x&amp;id=1&amp;ref=y">a</a><a href="/a?id=1">dup</a>`,
			wantLinks: []string{"https://example.com/a?id=1"},
			wantFound: 1,
		},
		{
			name:          "max links",
			h:             HTML{MaxLinks: 2},
			body:          `<a href="/1">1</a><a href="/2">2</a><a href="/1">1 again</a><a href="/3">3</a><a href="/4">4</a><a href="/3">3 again</a>`,
			wantLinks:     []string{"https://example.com/1", "https://example.com/2"},
			wantFound:     4,
			wantTruncated: true,
		},
		{
			name:      "max links exactly reached is not truncated",
			h:         HTML{MaxLinks: 2},
			body:      `<a href="/1">1</a><a href="/2">2</a><a href="/2">2</a>`,
			wantLinks: []string{"https://example.com/1", "https://example.com/2"},
			wantFound: 2,
		},
		{
			name: "assets",
			body: `<link rel="stylesheet" href="/s.css"><link rel="icon" href="/favicon.ico"><link rel="Alternate StyleSheet" href="alt.css">
				<script src="/app.js"></script><script>inline()</script><img src="i.png"><img src="i.png"><img data-src="lazy.png">
				<video src="v.mp4"><source src="v.webm"></video><audio src="a.ogg"></audio><embed src="e.swf"><iframe src="//frames.example/f"></iframe>
				<img src="data:image/png;base64,AAAA"><a href="/page">p</a>`,
			wantAssets: []string{
				"https://example.com/s.css", "https://example.com/favicon.ico", "https://example.com/dir/alt.css", "https://example.com/app.js",
				"https://example.com/dir/i.png", "https://example.com/dir/v.mp4", "https://example.com/dir/v.webm",
				"https://example.com/dir/a.ogg", "https://example.com/dir/e.swf", "https://frames.example/f",
			},
			wantLinks: []string{"https://example.com/page"},
			wantFound: 1,
		},
		{
			name:      "malformed HTML",
			body:      `<html><title>Broken<a href="/in-title"></title><div><a href=/unquoted>x<p><a href='/single'>y</b></i></html></body><a href="/after">`,
			wantTitle: `Broken<a href="/in-title">`,
			wantLinks: []string{"https://example.com/unquoted", "https://example.com/single", "https://example.com/after"},
			wantFound: 3,
		},
		{
			name: "empty body",
			body: "",
		},
		{
			name:      "unreadable bytes",
			body:      "\x00\xff\xfe<a href=\"/x\xff\">",
			wantLinks: []string{"https://example.com/x%C3%BF"},
			wantFound: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.h.Parse(mustURL(t, pageURL), "text/html", []byte(tt.body))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Title != tt.wantTitle {
				t.Errorf("Title = %q, want %q", p.Title, tt.wantTitle)
			}
			wantBase := tt.wantBase
			if wantBase == "" {
				wantBase = pageURL
			}
			if p.Base.String() != wantBase {
				t.Errorf("Base = %q, want %q", p.Base, wantBase)
			}
			if !reflect.DeepEqual(p.Links, tt.wantLinks) {
				t.Errorf("Links = %q, want %q", p.Links, tt.wantLinks)
			}
			if !reflect.DeepEqual(p.Assets, tt.wantAssets) {
				t.Errorf("Assets = %q, want %q", p.Assets, tt.wantAssets)
			}
			if p.Found != tt.wantFound || p.Skipped != tt.wantSkipped || p.Truncated != tt.wantTruncated {
				t.Errorf("Found, Skipped, Truncated = %d, %d, %v; want %d, %d, %v",
					p.Found, p.Skipped, p.Truncated, tt.wantFound, tt.wantSkipped, tt.wantTruncated)
			}
			if p.NoFollow != tt.wantNoFollow || p.NoIndex != tt.wantNoIndex {
				t.Errorf("NoFollow, NoIndex = %v, %v; want %v, %v", p.NoFollow, p.NoIndex, tt.wantNoFollow, tt.wantNoIndex)
			}
			if p.URL.String() != pageURL {
				t.Errorf("URL = %q, want %q", p.URL, pageURL)
			}
			if p.Doc == nil || p.Doc.Url != p.URL {
				t.Errorf("Doc = %v, want a document with Url set", p.Doc)
			}
		})
	}
}

func TestParseMaxLinks(t *testing.T) {
	var b strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&b, `<a href="/p/%d">%d</a><a href="/p/%d#again">again</a><img src="/i/%d.png">`, i, i, i, i)
	}
	body := []byte(b.String())
	page := mustURL(t, "http://example.com/")
	tests := []struct {
		name          string
		maxLinks      int
		wantLinks     int
		wantTruncated bool
	}{
		{"default cap", 0, DefaultMaxLinks, true},
		{"small cap", 10, 10, true},
		{"unlimited", -1, 1500, false},
		{"cap above count", 5000, 1500, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := HTML{MaxLinks: tt.maxLinks}.Parse(page, "", body)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Links) != tt.wantLinks || p.Truncated != tt.wantTruncated || p.Found != 1500 {
				t.Errorf("len(Links), Truncated, Found = %d, %v, %d; want %d, %v, 1500",
					len(p.Links), p.Truncated, p.Found, tt.wantLinks, tt.wantTruncated)
			}
			if len(p.Assets) != tt.wantLinks || p.AssetsTruncated != tt.wantTruncated {
				t.Errorf("len(Assets), AssetsTruncated = %d, %v; want %d, %v",
					len(p.Assets), p.AssetsTruncated, tt.wantLinks, tt.wantTruncated)
			}
			for i, l := range p.Links {
				if want := fmt.Sprintf("http://example.com/p/%d", i); l != want {
					t.Fatalf("Links[%d] = %q, want %q", i, l, want)
				}
			}
		})
	}
}

func encode(t *testing.T, e encoding.Encoding, s string) []byte {
	t.Helper()
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

func TestParseCharsets(t *testing.T) {
	const (
		ruTitle = "Привет, мир"
		ruLink  = "Ссылка на раздел"
		jaTitle = "日本語のページ"
		jaLink  = "リンク先"
	)
	ruPage := func(meta string) string {
		return `<html><head>` + meta + `<title>` + ruTitle + `</title></head><body>` +
			`<a href="/раздел/страница">` + ruLink + `</a> <a href="/поиск?q=привет&x=1">search</a></body></html>`
	}
	jaPage := func(meta string) string {
		return `<html><head>` + meta + `<title>` + jaTitle + `</title></head><body>` +
			`<a href="/日本">` + jaLink + `</a> <a href="/検索?q=日本">search</a></body></html>`
	}
	// Paths are UTF-8 percent-encoded; queries in the page's own encoding,
	// as browsers request them.
	ruLinks := []string{
		"http://example.ru/%D1%80%D0%B0%D0%B7%D0%B4%D0%B5%D0%BB/%D1%81%D1%82%D1%80%D0%B0%D0%BD%D0%B8%D1%86%D0%B0",
		"http://example.ru/%D0%BF%D0%BE%D0%B8%D1%81%D0%BA?q=%EF%F0%E8%E2%E5%F2&x=1",
	}
	jaLinks := []string{
		"http://example.jp/%E6%97%A5%E6%9C%AC",
		"http://example.jp/%E6%A4%9C%E7%B4%A2?q=%93%FA%96%7B",
	}
	utf8Links := []string{
		"http://example.ru/%D1%80%D0%B0%D0%B7%D0%B4%D0%B5%D0%BB/%D1%81%D1%82%D1%80%D0%B0%D0%BD%D0%B8%D1%86%D0%B0",
		"http://example.ru/%D0%BF%D0%BE%D0%B8%D1%81%D0%BA?q=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82&x=1",
	}
	tests := []struct {
		name        string
		pageURL     string
		contentType string
		body        []byte
		wantTitle   string
		wantText    string
		wantLinks   []string
	}{
		{
			name:      "windows-1251 by meta charset",
			pageURL:   "http://example.ru/",
			body:      encode(t, charmap.Windows1251, ruPage(`<meta charset="windows-1251">`)),
			wantTitle: ruTitle, wantText: ruLink, wantLinks: ruLinks,
		},
		{
			name:      "Shift_JIS by meta charset",
			pageURL:   "http://example.jp/",
			body:      encode(t, japanese.ShiftJIS, jaPage(`<meta charset="Shift_JIS">`)),
			wantTitle: jaTitle, wantText: jaLink, wantLinks: jaLinks,
		},
		{
			name:      "Shift_JIS by meta http-equiv",
			pageURL:   "http://example.jp/",
			body:      encode(t, japanese.ShiftJIS, jaPage(`<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">`)),
			wantTitle: jaTitle, wantText: jaLink, wantLinks: jaLinks,
		},
		{
			name:        "windows-1251 by header",
			pageURL:     "http://example.ru/",
			contentType: "text/html; charset=Windows-1251",
			body:        encode(t, charmap.Windows1251, ruPage("")),
			wantTitle:   ruTitle, wantText: ruLink, wantLinks: ruLinks,
		},
		{
			name:        "header wins over meta",
			pageURL:     "http://example.ru/",
			contentType: "text/html;charset=cp1251",
			body:        encode(t, charmap.Windows1251, ruPage(`<meta charset="utf-8">`)),
			wantTitle:   ruTitle, wantText: ruLink, wantLinks: ruLinks,
		},
		{
			name:      "UTF-8 by meta",
			pageURL:   "http://example.ru/",
			body:      []byte(ruPage(`<meta charset="utf-8">`)),
			wantTitle: ruTitle, wantText: ruLink, wantLinks: utf8Links,
		},
		{
			name:      "UTF-8 undeclared",
			pageURL:   "http://example.ru/",
			body:      []byte(ruPage("")),
			wantTitle: ruTitle, wantText: ruLink, wantLinks: utf8Links,
		},
		{
			name:      "UTF-8 BOM",
			pageURL:   "http://example.ru/",
			body:      append([]byte("\xef\xbb\xbf"), ruPage(`<meta charset="windows-1251">`)...),
			wantTitle: ruTitle, wantText: ruLink, wantLinks: utf8Links,
		},
		{
			name:      "UTF-16LE BOM",
			pageURL:   "http://example.ru/",
			body:      encode(t, unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), ruPage("")),
			wantTitle: ruTitle, wantText: ruLink, wantLinks: utf8Links,
		},
		{
			name:      "windows-1252 default",
			pageURL:   "http://example.fr/",
			body:      encode(t, charmap.Windows1252, `<title>Café crème</title><a href="/é">liên</a>`),
			wantTitle: "Café crème", wantText: "liên",
			wantLinks: []string{"http://example.fr/%C3%A9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := HTML{}.Parse(mustURL(t, tt.pageURL), tt.contentType, tt.body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Title != tt.wantTitle {
				t.Errorf("Title = %q, want %q", p.Title, tt.wantTitle)
			}
			if got := p.Doc.Find("a").First().Text(); got != tt.wantText {
				t.Errorf("link text = %q, want %q", got, tt.wantText)
			}
			if !reflect.DeepEqual(p.Links, tt.wantLinks) {
				t.Errorf("Links = %q, want %q", p.Links, tt.wantLinks)
			}
		})
	}
}

func TestParseBadPageURL(t *testing.T) {
	tests := []struct {
		name string
		u    *url.URL
	}{
		{"nil", nil},
		{"ftp", mustURL(t, "ftp://example.com/")},
		{"relative", mustURL(t, "/x")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := (HTML{}).Parse(tt.u, "text/html", []byte("<a href=x>")); err == nil {
				t.Errorf("Parse = %+v, want an error", p)
			}
		})
	}
}

func TestParseFastPathNoCopy(t *testing.T) {
	for _, tt := range []struct {
		name, contentType string
		body              []byte
	}{
		{"utf-8 header", "text/html; charset=utf-8", []byte("<p>héllo</p>")},
		{"ascii undeclared", "text/html", []byte("<p>hello</p>")},
		{"ascii declared legacy", "", []byte(`<meta charset="shift_jis"><p>hello</p>`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			text, enc, err := decode(tt.body, tt.contentType)
			if err != nil {
				t.Fatal(err)
			}
			if &text[0] != &tt.body[0] || enc != nil {
				t.Errorf("decode copied the body or kept an encoding (%v)", enc)
			}
		})
	}
}

func TestParseCanonical(t *testing.T) {
	const pageURL = "https://example.com/dir/page.html?sort=price&id=7"
	tests := []struct {
		name, body, want string
	}{
		{"none", `<head><title>x</title></head>`, ""},
		{"relative", `<head><link rel="canonical" href="page.html?id=7"></head>`, "https://example.com/dir/page.html?id=7"},
		{"canonicalized", `<head><link rel=canonical href="HTTPS://Example.com/dir/page.html?utm_source=x&amp;id=7#f"></head>`, "https://example.com/dir/page.html?id=7"},
		{"self", `<head><link rel="canonical" href="?id=7&amp;sort=price"></head>`, "https://example.com/dir/page.html?id=7&sort=price"},
		{"against base", `<head><base href="/other/"><link rel="canonical" href="p"></head>`, "https://example.com/other/p"},
		{"rel token list, any case", `<head><link rel="alternate CANONICAL" href="/c"></head>`, "https://example.com/c"},
		{"other host", `<head><link rel="canonical" href="https://www.example.org/c"></head>`, "https://www.example.org/c"},
		{"two that agree", `<head><link rel="canonical" href="/c"><link rel="canonical" href="https://example.com/c#x"></head>`, "https://example.com/c"},
		{"two that disagree", `<head><link rel="canonical" href="/c"><link rel="canonical" href="/d"></head>`, ""},
		{"in body ignored", `<head></head><body><link rel="canonical" href="/c"></body>`, ""},
		{"unresolvable", `<head><link rel="canonical" href="javascript:x"></head>`, ""},
		{"no href", `<head><link rel="canonical"></head>`, ""},
		{"nofollow page keeps it", `<head><meta name="robots" content="nofollow"><link rel="canonical" href="/c"></head>`, "https://example.com/c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := HTML{}.Parse(mustURL(t, pageURL), "text/html", []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if p.Canonical != tt.want {
				t.Errorf("Canonical = %q, want %q", p.Canonical, tt.want)
			}
		})
	}
}
