package parse

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// embedded records the assets of a media element besides its src: the
// candidates of img and source srcset, and a video's poster.
func (c *collector) embedded(nd *html.Node) {
	switch nd.DataAtom {
	case atom.Img, atom.Source:
		if set, ok := attr(nd, "srcset"); ok {
			for _, cand := range Srcset(set) {
				c.assets = append(c.assets, set[cand.Start:cand.End])
			}
		}
	case atom.Video:
		if poster, ok := attr(nd, "poster"); ok {
			c.assets = append(c.assets, poster)
		}
	}
}

// styleSheet records the url() and @import references of a <style>
// element's text.
func (c *collector) styleSheet(nd *html.Node) {
	for ch := nd.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.TextNode {
			c.assets = appendCSSURLs(c.assets, ch.Data)
		}
	}
}

// appendCSSURLs appends the non-empty references ScanCSS finds in css.
func appendCSSURLs(dst []string, css string) []string {
	if !strings.ContainsAny(css, "uU@\\") {
		return dst // no url( however written, no @import: most style attributes
	}
	for _, r := range ScanCSS(css) {
		if r.URL != "" {
			dst = append(dst, r.URL)
		}
	}
	return dst
}

// isAssetRel reports whether a link's rel makes its href an asset: a
// stylesheet, or an icon the browser shows with the page.
func isAssetRel(rel string) bool {
	for _, tok := range []string{"stylesheet", "icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"} {
		if hasToken(rel, tok) {
			return true
		}
	}
	return false
}

// SrcsetCandidate is one image candidate of a srcset attribute.
type SrcsetCandidate struct {
	// Start and End delimit the candidate's URL in the attribute value.
	Start, End int
}

// Srcset returns the URL of each image candidate in a srcset attribute
// value, as the HTML standard's parsing algorithm splits it: a URL runs to
// white space (a trailing comma ends the candidate), then descriptors run
// to a comma outside parentheses. It never fails: a malformed value gives
// what a browser would take from it.
func Srcset(s string) []SrcsetCandidate {
	var out []SrcsetCandidate
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
	i := 0
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		end := i
		trailingComma := false
		for end > start && s[end-1] == ',' {
			end--
			trailingComma = true
		}
		if end > start {
			out = append(out, SrcsetCandidate{Start: start, End: end})
		}
		if trailingComma {
			continue
		}
		// Descriptors: up to a comma outside parentheses.
		depth := 0
		for i < len(s) {
			c := s[i]
			i++
			if c == '(' {
				depth++
			} else if c == ')' && depth > 0 {
				depth--
			} else if c == ',' && depth == 0 {
				break
			}
		}
	}
	return out
}
