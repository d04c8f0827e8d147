package output

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"

	"github.com/hivecrawl/crawl/parse"
)

// linkAttrs returns the attributes of the element tag whose values
// ConvertLinks rewrites: one URL each, except srcset (a list of
// candidates). style is rewritten on every element, as CSS.
func linkAttrs(tag string) []string {
	switch tag {
	case "a", "area", "link", "base":
		return []string{"href"}
	case "img", "source":
		return []string{"src", "srcset"}
	case "video":
		return []string{"src", "poster"}
	case "script", "audio", "embed", "iframe", "frame", "track", "input":
		return []string{"src"}
	case "form":
		return []string{"action"}
	case "object":
		return []string{"data"}
	}
	return nil
}

// convertHTML rewrites the links of an HTML document, changing the bytes
// of the rewritten attribute values and style sheets only: everything else
// is copied from src as it is. It reports whether anything changed.
func (p *pageConv) convertHTML(src []byte) ([]byte, bool) {
	if !p.converted {
		p.base = documentBase(src, p.base)
	}
	z := html.NewTokenizer(bytes.NewReader(src))
	var out bytes.Buffer
	out.Grow(len(src) + len(src)/8)
	changed, inStyle := false, false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			out.Write(z.Raw()) // whatever the tokenizer held back at the end
			break
		}
		// Raw's bytes change when TagName or TagAttr is called: copy.
		raw := bytes.Clone(z.Raw())
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			var attrs []html.Attribute
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				if len(k) == 0 && !more {
					break
				}
				attrs = append(attrs, html.Attribute{Key: string(k), Val: string(v)})
			}
			if nraw, ok := p.rewriteTag(raw, tag, attrs); ok {
				raw, changed = nraw, true
			}
			inStyle = tt == html.StartTagToken && tag == "style"
		case html.TextToken:
			if inStyle {
				if css, ok := p.convertCSS(string(raw), '"'); ok {
					raw, changed = []byte(css), true
				}
			}
		default:
			inStyle = false
		}
		out.Write(raw)
	}
	if !changed {
		return src, false
	}
	return out.Bytes(), true
}

// rewriteTag rewrites the link attributes of one start tag's raw text.
// attrs are the tokenizer's reading of the tag: the values are only
// rewritten where scanning raw finds the same attributes, so that a tag
// read differently is left alone rather than damaged.
func (p *pageConv) rewriteTag(raw []byte, tag string, attrs []html.Attribute) ([]byte, bool) {
	wanted := linkAttrs(tag)
	interesting := false
	for _, a := range attrs {
		if a.Key == "style" || contains(wanted, a.Key) {
			interesting = true
			break
		}
	}
	if !interesting {
		return raw, false
	}
	found := scanRawAttrs(raw)
	if len(found) != len(attrs) {
		return raw, false
	}
	for i, a := range found {
		if a.key != attrs[i].Key {
			return raw, false
		}
	}
	var out []byte
	prev, changed := 0, false
	for i, a := range found {
		if !a.hasValue {
			continue
		}
		val := attrs[i].Val
		var nv string
		ok := false
		switch {
		case a.key == "style":
			nv, ok = p.convertCSS(val, '\'')
		case !contains(wanted, a.key):
		case tag == "base":
			// Links are rewritten relative to the file: the base must not
			// move them elsewhere. An empty href is the document's URL.
			nv, ok = "", val != ""
		case a.key == "srcset":
			nv, ok = p.convertSrcset(val)
		default:
			nv, ok = p.link(val)
		}
		if !ok || nv == val {
			continue
		}
		out = append(out, raw[prev:a.outStart]...)
		out = append(out, '"')
		out = append(out, escapeAttr(nv)...)
		out = append(out, '"')
		prev, changed = a.outEnd, true
	}
	if !changed {
		return raw, false
	}
	return append(out, raw[prev:]...), true
}

// convertSrcset rewrites each candidate URL of a srcset value.
func (p *pageConv) convertSrcset(val string) (string, bool) {
	var b strings.Builder
	prev, changed := 0, false
	for _, c := range parse.Srcset(val) {
		nv, ok := p.link(val[c.Start:c.End])
		if !ok || nv == val[c.Start:c.End] {
			continue
		}
		if strings.ContainsAny(nv, " \t\n\r\f,") {
			continue // would not read back as one candidate
		}
		b.WriteString(val[prev:c.Start])
		b.WriteString(nv)
		prev, changed = c.End, true
	}
	if !changed {
		return val, false
	}
	b.WriteString(val[prev:])
	return b.String(), true
}

// convertCSS rewrites the url() and @import references of a style sheet,
// writing new values as strings quoted with quote.
func (p *pageConv) convertCSS(css string, quote byte) (string, bool) {
	refs := parse.ScanCSS(css)
	if len(refs) == 0 {
		return css, false
	}
	var b strings.Builder
	prev, changed := 0, false
	for _, r := range refs {
		nv, ok := p.link(r.URL)
		if !ok || nv == r.URL {
			continue
		}
		b.WriteString(css[prev:r.Start])
		b.WriteString(parse.QuoteCSS(nv, quote))
		prev, changed = r.End, true
	}
	if !changed {
		return css, false
	}
	b.WriteString(css[prev:])
	return b.String(), true
}

// escapeAttr escapes s for a double-quoted attribute value.
func escapeAttr(s string) string {
	if !strings.ContainsAny(s, `&"`) {
		return s
	}
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;").Replace(s)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// rawAttr is an attribute found in a start tag's raw text.
type rawAttr struct {
	key              string // lower-cased
	hasValue         bool
	outStart, outEnd int // the value with its quotes, if any
}

// scanRawAttrs finds the attributes of a start tag's raw text ("<name
// ...>") the way golang.org/x/net/html's tokenizer reads them (the first of
// duplicate keys kept), with the byte range of each value.
func scanRawAttrs(raw []byte) []rawAttr {
	n := len(raw)
	isSpace := func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' }
	skipSpace := func(i int) int {
		for i < n && isSpace(raw[i]) {
			i++
		}
		return i
	}
	// The tag name: from raw[1] to white space, "/" or ">".
	i := 2
	for i < n && !isSpace(raw[i]) && raw[i] != '/' && raw[i] != '>' {
		i++
	}
	if i < n && isSpace(raw[i]) {
		i++
	}
	var out []rawAttr
	seen := map[string]bool{}
	i = skipSpace(i)
	for i < n && raw[i] != '>' {
		// Key.
		ks := i
		for i < n {
			c := raw[i]
			if c == '=' && i == ks {
				i++
				continue
			}
			if c == '=' || isSpace(c) || c == '/' || c == '>' {
				break
			}
			i++
		}
		rawKey := asciiLower(raw[ks:i])
		a := rawAttr{key: strings.ReplaceAll(rawKey, "\x00", "\uFFFD")}
		// Value.
		j := skipSpace(i)
		switch {
		case j >= n:
			i = j
		case raw[j] == '/':
			i = j + 1
		case raw[j] != '=':
			i = j
		default:
			j = skipSpace(j + 1)
			switch {
			case j >= n:
				i = j
			case raw[j] == '>':
				i = j
			case raw[j] == '"' || raw[j] == '\'':
				q := raw[j]
				k := j + 1
				for k < n && raw[k] != q {
					k++
				}
				if k < n {
					k++ // the closing quote
				}
				a.hasValue, a.outStart, a.outEnd = true, j, k
				i = k
			default:
				k := j
				for k < n && !isSpace(raw[k]) && raw[k] != '>' {
					k++
				}
				a.hasValue, a.outStart, a.outEnd = true, j, k
				i = k
				if k < n && isSpace(raw[k]) {
					i++
				}
			}
		}
		if ks != i && rawKey != "" && !seen[rawKey] {
			seen[rawKey] = true
			out = append(out, a)
		}
		i = skipSpace(i)
	}
	return out
}

// documentBase is the URL the links of an HTML document are resolved
// against: its first <base href> resolved against page, or page.
func documentBase(src []byte, page *url.URL) *url.URL {
	if !bytes.Contains(bytes.ToLower(src), []byte("<base")) {
		return page
	}
	z := html.NewTokenizer(bytes.NewReader(src))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return page
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			if string(name) != "base" {
				continue
			}
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				if string(k) == "href" {
					if b, err := page.Parse(strings.Trim(string(v), " \t\n\r\f")); err == nil {
						return b
					}
					return page
				}
			}
		}
	}
}

// asciiLower lower-cases the ASCII letters of b, as the tokenizer does.
func asciiLower(b []byte) string {
	out := []byte(string(b))
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return string(out)
}
