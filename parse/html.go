package parse

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding"

	"github.com/hivecrawl/crawl/urlnorm"
)

// DefaultMaxLinks is the cap on links (and, separately, on assets) taken
// from one page when HTML.MaxLinks is zero.
const DefaultMaxLinks = 1000

// HTML parses HTML pages into links and page facts. The zero value is
// usable: links are canonicalized by the zero Normalizer, at most
// DefaultMaxLinks are taken per page, and nofollow is obeyed. An HTML is
// read-only after construction and safe for concurrent use.
type HTML struct {
	// Normalizer resolves and canonicalizes every link and asset.
	Normalizer urlnorm.Normalizer
	// MaxLinks caps the distinct links, and separately the distinct assets,
	// taken from one page. Zero means DefaultMaxLinks; negative means no cap.
	MaxLinks int
	// FollowNofollow, when true, ignores rel="nofollow" on links and a meta
	// robots nofollow directive (Page.NoFollow is still reported).
	FollowNofollow bool
}

// Page is what HTML.Parse learned from one page. The caller owns it.
type Page struct {
	// URL is the page's URL as passed to Parse.
	URL *url.URL
	// Base is the canonical URL that relative links were resolved against:
	// the first <base href> resolved against URL, or URL itself.
	Base *url.URL
	// Title is the text of the first <title>, with runs of ASCII whitespace
	// collapsed to one space and trimmed; empty when there is none.
	Title string
	// NoFollow and NoIndex report the page's <meta name="robots"> directives
	// ("none" sets both).
	NoFollow, NoIndex bool
	// Links are the canonical URLs of a[href] and area[href], in document
	// order, each once, at most MaxLinks of them. Links marked
	// rel="nofollow" are left out unless FollowNofollow. When NoFollow is
	// set and FollowNofollow is not, links are not collected at all: Links
	// is empty and Found and Skipped are zero.
	Links []string
	// Assets are the canonical URLs of resources the page embeds (img,
	// script, source, video, audio, embed and iframe src, img and source
	// srcset, video poster, object data, the href of a link whose rel is
	// stylesheet or an icon, and the url() and @import references of
	// <style> elements and style attributes), in document order, each
	// once, at most MaxLinks of them. They are not pages to follow.
	Assets []string
	// Found is the number of distinct valid links before the MaxLinks cap.
	Found int
	// Skipped is the number of link references (href values of a and area)
	// that could not be resolved or canonicalized: other schemes such as
	// javascript: and mailto:, malformed hosts, over-long URLs.
	Skipped int
	// Truncated reports that Links was cut at MaxLinks (Found > len(Links)).
	Truncated bool
	// AssetsTruncated reports that Assets was cut at MaxLinks.
	AssetsTruncated bool
	// Canonical is the canonical URL the page declares with <link
	// rel="canonical" href> in its <head>, resolved against its base and
	// canonicalized; empty when it declares none, when the href cannot be
	// resolved, or when several declarations disagree (Google ignores
	// conflicting canonical declarations, and so does this). It may equal
	// the page's own URL.
	Canonical string
	// Doc is the parsed document (UTF-8), with Doc.Url set to URL, for
	// extraction rules that need more than the facts above.
	Doc *goquery.Document
}

// Validate reports whether the configuration is usable.
func (h HTML) Validate() error {
	if err := h.Normalizer.Validate(); err != nil {
		return fmt.Errorf("parse: html: %w", err)
	}
	return nil
}

// Parse decodes body to UTF-8, parses it once, and extracts the page's
// title, meta robots directives, links and assets. pageURL is the URL the
// body was fetched from (after redirects) and must be an absolute http or
// https URL; contentType is the response's Content-Type header, used for its
// charset parameter.
//
// The charset is found as the HTML standard says: a byte order mark, else
// the charset parameter of contentType, else a <meta charset> or <meta
// http-equiv="content-type"> declaration in the first 1024 bytes, else
// UTF-8 if those bytes are valid UTF-8, else windows-1252. As in browsers, non-ASCII characters in the
// query of a link on a page in a legacy encoding are percent-encoded in
// that encoding.
//
// Malformed HTML is not an error: the HTML5 parsing algorithm recovers from
// anything. Parse fails only for an unusable pageURL or a decoding failure.
//
// A style sheet (contentType text/css) is read for its url() and @import
// references instead: the Page has only URL and Assets.
func (h HTML) Parse(pageURL *url.URL, contentType string, body []byte) (*Page, error) {
	if pageURL == nil {
		return nil, fmt.Errorf("%w: nil page url", urlnorm.ErrInvalid)
	}
	if IsCSS(contentType) {
		return h.parseCSS(pageURL, body)
	}
	n := &h.Normalizer
	pageBase, err := n.NewResolver(pageURL.String())
	if err != nil {
		return nil, err
	}
	text, queryEnc, err := decode(body, contentType)
	if err != nil {
		return nil, err
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("parse: html: %w", err)
	}
	doc.Url = pageURL

	c := collector{followNofollow: h.FollowNofollow}
	for _, root := range doc.Nodes {
		c.walk(root)
	}

	p := &Page{URL: pageURL, Doc: doc, Title: c.title}
	p.NoFollow, p.NoIndex = c.noFollow, c.noIndex

	scratch := make([]byte, 0, 256)
	b := pageBase
	if c.hasBase {
		if s, err := pageBase.Resolve(c.baseHref); err == nil {
			if nb, err := n.NewResolver(s); err == nil {
				b = nb
			}
		}
	}
	if p.Base, err = url.Parse(b.Base()); err != nil {
		p.Base = pageURL // unreachable: canonical URLs parse (fuzzed)
	}
	p.Canonical = canonicalOf(&b, c.canonicals)

	limit := h.MaxLinks
	if limit == 0 {
		limit = DefaultMaxLinks
	}
	if !p.NoFollow || h.FollowNofollow {
		links := dedup{max: limit}
		for _, ref := range c.links {
			ref = encodeQuery(ref, queryEnc)
			if scratch, err = b.AppendResolve(scratch[:0], ref); err != nil {
				p.Skipped++
				continue
			}
			links.add(scratch, ref, b.Base())
		}
		p.Links, p.Found, p.Truncated = links.list, links.found, links.truncated
	}
	assets := dedup{max: limit}
	for _, ref := range c.assets {
		ref = encodeQuery(ref, queryEnc)
		if scratch, err = b.AppendResolve(scratch[:0], ref); err == nil {
			assets.add(scratch, ref, b.Base())
		}
	}
	p.Assets, p.AssetsTruncated = assets.list, assets.truncated
	return p, nil
}

// collector gathers raw facts in one walk over the parse tree. Strings are
// the tree's own attribute values, not copies.
type collector struct {
	followNofollow    bool // keep rel="nofollow" links
	title             string
	hasTitle, hasBase bool
	baseHref          string
	noFollow, noIndex bool
	links, assets     []string
	canonicals        []string // href of each <link rel=canonical> in <head>
}

// walk visits every node under root in document order, without recursion
// (the tree may be arbitrarily deep).
func (c *collector) walk(root *html.Node) {
	for nd := root; nd != nil; {
		if nd.Type == html.ElementNode && nd.Namespace == "" {
			c.element(nd)
		}
		if nd.FirstChild != nil {
			nd = nd.FirstChild
			continue
		}
		for nd != root && nd.NextSibling == nil {
			nd = nd.Parent
		}
		if nd == root {
			return
		}
		nd = nd.NextSibling
	}
}

// element records what one HTML element contributes.
func (c *collector) element(nd *html.Node) {
	switch nd.DataAtom {
	case atom.A, atom.Area:
		href, ok := attr(nd, "href")
		if !ok {
			return
		}
		if !c.followNofollow {
			if rel, _ := attr(nd, "rel"); hasToken(rel, "nofollow") {
				return
			}
		}
		c.links = append(c.links, href)
	case atom.Base:
		if href, ok := attr(nd, "href"); ok && !c.hasBase {
			c.baseHref, c.hasBase = href, true
		}
	case atom.Title:
		if !c.hasTitle {
			c.hasTitle = true
			c.title = collapseText(nd)
		}
	case atom.Meta:
		if name, _ := attr(nd, "name"); strings.EqualFold(strings.TrimSpace(name), "robots") {
			content, _ := attr(nd, "content")
			c.robots(content)
		}
	case atom.Link:
		if rel, _ := attr(nd, "rel"); hasToken(rel, "canonical") && nd.Parent != nil && nd.Parent.DataAtom == atom.Head {
			if href, ok := attr(nd, "href"); ok {
				c.canonicals = append(c.canonicals, href)
			}
		}
		if rel, _ := attr(nd, "rel"); isAssetRel(rel) {
			if href, ok := attr(nd, "href"); ok {
				c.assets = append(c.assets, href)
			}
		}
	case atom.Img, atom.Script, atom.Source, atom.Video, atom.Audio, atom.Embed, atom.Iframe:
		if src, ok := attr(nd, "src"); ok {
			c.assets = append(c.assets, src)
		}
		c.embedded(nd)
	case atom.Object:
		if data, ok := attr(nd, "data"); ok {
			c.assets = append(c.assets, data)
		}
	case atom.Style:
		c.styleSheet(nd)
	}
	if style, ok := attr(nd, "style"); ok {
		c.assets = appendCSSURLs(c.assets, style)
	}
}

// robots applies the directives of a meta robots content attribute. Tokens
// are separated by commas (the standard) or whitespace (seen in the wild).
func (c *collector) robots(content string) {
	for content != "" {
		i := strings.IndexAny(content, ", \t\n\f\r")
		tok := content
		if i >= 0 {
			tok, content = content[:i], content[i+1:]
		} else {
			content = ""
		}
		switch {
		case strings.EqualFold(tok, "nofollow"):
			c.noFollow = true
		case strings.EqualFold(tok, "noindex"):
			c.noIndex = true
		case strings.EqualFold(tok, "none"):
			c.noFollow, c.noIndex = true, true
		}
	}
}

// attr returns the value of the attribute key (lower-case, no namespace).
func attr(nd *html.Node, key string) (string, bool) {
	for _, a := range nd.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val, true
		}
	}
	return "", false
}

// hasToken reports whether the space-separated list s holds tok, ASCII
// case-insensitively.
func hasToken(s, tok string) bool {
	for s != "" {
		i := strings.IndexAny(s, " \t\n\f\r")
		t := s
		if i >= 0 {
			t, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if strings.EqualFold(t, tok) {
			return true
		}
	}
	return false
}

// collapseText returns the text under nd with runs of ASCII whitespace
// collapsed to one space and trimmed, as document.title does.
func collapseText(nd *html.Node) string {
	var b strings.Builder
	space := false
	var visit func(*html.Node)
	visit = func(nd *html.Node) {
		for ch := nd.FirstChild; ch != nil; ch = ch.NextSibling {
			switch ch.Type {
			case html.TextNode:
				for i := 0; i < len(ch.Data); i++ {
					switch c := ch.Data[i]; c {
					case ' ', '\t', '\n', '\f', '\r':
						space = b.Len() > 0
					default:
						if space {
							b.WriteByte(' ')
							space = false
						}
						b.WriteByte(c)
					}
				}
			case html.ElementNode:
				visit(ch)
			}
		}
	}
	visit(nd)
	s := b.String()
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// canonicalOf resolves the page's canonical declarations: the one URL
// they agree on, or "" when there is none or they disagree.
func canonicalOf(b *urlnorm.Resolver, hrefs []string) string {
	canonical := ""
	for _, href := range hrefs {
		s, err := b.Resolve(href)
		switch {
		case err != nil:
			return ""
		case canonical != "" && s != canonical:
			return ""
		}
		canonical = s
	}
	return canonical
}

// upperHex are the digits of a percent-escape.
const upperHex = "0123456789ABCDEF"

// smallSet is the size up to which dedup scans a slice instead of hashing.
const smallSet = 32

// dedup keeps the first max distinct strings in order and counts all
// distinct ones. A negative max means no cap.
type dedup struct {
	max       int
	list      []string
	seen      map[string]struct{}
	found     int
	truncated bool
}

// add adds the URL in b, given as bytes so that a repeat costs no
// allocation; reuse lists strings that b may equal, to keep instead of a
// copy.
func (d *dedup) add(b []byte, reuse ...string) {
	if d.seen == nil {
		for _, v := range d.list {
			if v == string(b) {
				return
			}
		}
		if len(d.list) < smallSet && (d.max < 0 || len(d.list) < d.max) {
			d.list = append(d.list, toString(b, reuse))
			d.found++
			return
		}
		// Past the slice's reach (too many, or capped): switch to a set
		// that also remembers what the cap kept out.
		d.seen = make(map[string]struct{}, 2*len(d.list)+1)
		for _, v := range d.list {
			d.seen[v] = struct{}{}
		}
	}
	if _, ok := d.seen[string(b)]; ok {
		return
	}
	s := toString(b, reuse)
	d.seen[s] = struct{}{}
	d.found++
	if d.max < 0 || len(d.list) < d.max {
		d.list = append(d.list, s)
	} else {
		d.truncated = true
	}
}

// toString returns b as a string, reusing one of reuse if equal.
func toString(b []byte, reuse []string) string {
	for _, r := range reuse {
		if string(b) == r {
			return r
		}
	}
	return string(b)
}

// encodeQuery percent-encodes the non-ASCII characters in the query of ref
// in the page's legacy encoding enc, as browsers do when they follow such a
// link; the Normalizer then keeps those escapes. enc nil means UTF-8, which
// the Normalizer handles by itself.
func encodeQuery(ref string, enc encoding.Encoding) string {
	if enc == nil {
		return ref
	}
	q := strings.IndexByte(ref, '?')
	if q < 0 {
		return ref
	}
	end := len(ref)
	if h := strings.IndexByte(ref, '#'); h >= 0 {
		if h < q {
			return ref
		}
		end = h
	}
	query := ref[q+1 : end]
	if isASCIIString(query) {
		return ref
	}
	var b strings.Builder
	b.Grow(len(ref) + 2*len(query))
	b.WriteString(ref[:q+1])
	e := enc.NewEncoder()
	for _, r := range query {
		if r < utf8.RuneSelf {
			b.WriteRune(r)
			continue
		}
		// Unencodable characters come back as an HTML character reference
		// ("&#26085;"), which is escaped like any other byte.
		out, err := e.String(string(r))
		if err != nil {
			out = string(r)
		}
		for i := 0; i < len(out); i++ {
			b.WriteByte('%')
			b.WriteByte(upperHex[out[i]>>4])
			b.WriteByte(upperHex[out[i]&15])
		}
	}
	b.WriteString(ref[end:])
	return b.String()
}
