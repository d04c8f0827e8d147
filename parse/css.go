package parse

import (
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"
)

// CSSRef is one URL reference found in a style sheet by ScanCSS.
type CSSRef struct {
	// URL is the reference with CSS escapes decoded and surrounding white
	// space removed, as a browser reads it. It may be empty.
	URL string
	// Start and End delimit the reference's value in the scanned text:
	// the quoted string, quotes included, or the unquoted text between
	// "url(" and ")". Replacing css[Start:End] with a quoted CSS string
	// changes this reference and nothing else.
	Start, End int
	// Import reports an @import rule's reference.
	Import bool
}

// ScanCSS returns the URL references of a style sheet (a file, a <style>
// element's text or a style attribute's value) in order: every url(...)
// and the string of each @import rule. Comments are skipped, strings and
// escapes are read as the CSS Syntax standard says, and references inside
// strings or comments are not references. Malformed CSS is not an error:
// an unterminated string, url( or comment ends at the end of the text, as
// in browsers. ScanCSS needs no valid UTF-8 and never panics.
func ScanCSS(css string) []CSSRef {
	var refs []CSSRef
	s := cssScanner{src: css}
	importNext := false // an @import was read and its reference not yet
	for s.pos < len(css) {
		c := css[s.pos]
		switch {
		case c == '/' && strings.HasPrefix(css[s.pos:], "/*"):
			s.skipComment()
			continue
		case c == '"' || c == '\'':
			start := s.pos
			v := s.readString()
			if importNext {
				refs = append(refs, CSSRef{URL: strings.TrimSpace(v), Start: start, End: s.pos, Import: true})
				importNext = false
			}
			continue
		case c == '@':
			s.pos++
			name := s.readIdent()
			importNext = strings.EqualFold(name, "import")
			continue
		case c == '\\':
			// An escape outside strings is part of an identifier: skip it
			// so an escaped quote or parenthesis starts nothing.
			s.pos++
			if s.pos < len(css) {
				_, size := utf8.DecodeRuneInString(css[s.pos:])
				s.pos += size
			}
			importNext = false
			continue
		case isNameStart(c) || c == '-':
			name := s.readIdent()
			if strings.EqualFold(name, "url") && s.pos < len(css) && css[s.pos] == '(' {
				s.pos++
				if ref, ok := s.readURL(); ok {
					ref.Import = importNext
					refs = append(refs, ref)
				}
			}
			importNext = false
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			// White space keeps an @import waiting for its reference.
		default:
			importNext = false
		}
		s.pos++
	}
	return refs
}

// cssScanner reads a style sheet from pos.
type cssScanner struct {
	src string
	pos int
}

// skipComment skips a comment starting at pos ("/*").
func (s *cssScanner) skipComment() {
	end := strings.Index(s.src[s.pos+2:], "*/")
	if end < 0 {
		s.pos = len(s.src)
		return
	}
	s.pos += 2 + end + 2
}

// readIdent reads an identifier's code points from pos, decoding escapes.
func (s *cssScanner) readIdent() string {
	var b strings.Builder
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case isNameStart(c) || c == '-' || (c >= '0' && c <= '9'):
			b.WriteByte(c)
			s.pos++
		case c == '\\' && s.pos+1 < len(s.src) && s.src[s.pos+1] != '\n':
			s.pos++
			b.WriteString(s.readEscape())
		default:
			return b.String()
		}
	}
	return b.String()
}

// readString reads a quoted string starting at pos and returns its value.
// A newline ends it unterminated (the newline is not consumed).
func (s *cssScanner) readString() string {
	quote := s.src[s.pos]
	s.pos++
	var b strings.Builder
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == quote:
			s.pos++
			return b.String()
		case c == '\n':
			return b.String()
		case c == '\\':
			s.pos++
			if s.pos >= len(s.src) {
				return b.String()
			}
			if s.src[s.pos] == '\n' {
				s.pos++ // an escaped newline continues the string
				continue
			}
			b.WriteString(s.readEscape())
		default:
			b.WriteByte(c)
			s.pos++
		}
	}
	return b.String()
}

// readURL reads what follows "url(" at pos: a quoted string then ")", or
// an unquoted URL. It reports false for a function that is not a URL
// (a bad url token, such as a quote inside an unquoted URL).
func (s *cssScanner) readURL() (CSSRef, bool) {
	s.skipSpace()
	if s.pos < len(s.src) && (s.src[s.pos] == '"' || s.src[s.pos] == '\'') {
		start := s.pos
		v := s.readString()
		end := s.pos
		s.skipSpace()
		if s.pos < len(s.src) && s.src[s.pos] == ')' {
			s.pos++
		}
		return CSSRef{URL: strings.TrimSpace(v), Start: start, End: end}, true
	}
	start := s.pos
	var b strings.Builder
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == ')':
			ref := CSSRef{URL: b.String(), Start: start, End: s.pos}
			s.pos++
			return ref, true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			end := s.pos
			s.skipSpace()
			if s.pos < len(s.src) && s.src[s.pos] != ')' {
				s.skipBadURL()
				return CSSRef{}, false
			}
			s.pos++
			return CSSRef{URL: b.String(), Start: start, End: end}, true
		case c == '"' || c == '\'' || c == '(' || c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f:
			s.skipBadURL()
			return CSSRef{}, false
		case c == '\\':
			if s.pos+1 >= len(s.src) || s.src[s.pos+1] == '\n' {
				s.skipBadURL()
				return CSSRef{}, false
			}
			s.pos++
			b.WriteString(s.readEscape())
		default:
			b.WriteByte(c)
			s.pos++
		}
	}
	return CSSRef{URL: b.String(), Start: start, End: s.pos}, true
}

// skipBadURL consumes the rest of a bad url token, through ")".
func (s *cssScanner) skipBadURL() {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		s.pos++
		switch c {
		case ')':
			return
		case '\\':
			if s.pos < len(s.src) {
				s.pos++
			}
		}
	}
}

// skipSpace skips CSS white space.
func (s *cssScanner) skipSpace() {
	for s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\r', '\f':
			s.pos++
		default:
			return
		}
	}
}

// readEscape decodes the escape whose backslash was just consumed: up to
// six hex digits and one white space, or one code point as itself.
func (s *cssScanner) readEscape() string {
	if s.pos >= len(s.src) {
		return "\uFFFD"
	}
	n, i := rune(0), 0
	for i < 6 && s.pos+i < len(s.src) && cssIsHex(s.src[s.pos+i]) {
		n = n<<4 | cssUnhex(s.src[s.pos+i])
		i++
	}
	if i == 0 {
		r, size := utf8.DecodeRuneInString(s.src[s.pos:])
		s.pos += size
		return string(r)
	}
	s.pos += i
	if s.pos < len(s.src) {
		switch s.src[s.pos] {
		case ' ', '\t', '\n', '\f':
			s.pos++
		case '\r':
			s.pos++
			if s.pos < len(s.src) && s.src[s.pos] == '\n' {
				s.pos++
			}
		}
	}
	if n == 0 || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
		return "\uFFFD"
	}
	return string(n)
}

// isNameStart reports whether c may start a CSS identifier (a non-ASCII
// byte counts, as every non-ASCII code point does).
func isNameStart(c byte) bool {
	return c == '_' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// QuoteCSS returns s as a CSS string in the quote character q (' or "),
// escaping q, backslashes and line breaks, for writing a URL into a style
// sheet in place of a CSSRef's value.
func QuoteCSS(s string, q byte) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case q, '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n', '\r', '\f', 0:
			b.WriteString(`\` + string(cssHexDigits[c>>4]) + string(cssHexDigits[c&15]) + " ")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// cssHexDigits are the digits QuoteCSS writes escapes with.
const cssHexDigits = "0123456789ABCDEF"

// cssIsHex reports whether c is a hexadecimal digit.
func cssIsHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// cssUnhex is the value of the hexadecimal digit c.
func cssUnhex(c byte) rune {
	if c <= '9' {
		return rune(c - '0')
	}
	return rune(c|0x20-'a') + 10
}

// IsCSS reports whether contentType names a style sheet (text/css).
func IsCSS(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(contentType)), ";")
	}
	return mt == "text/css"
}

// parseCSS is Parse for a style sheet: its url() and @import references,
// resolved against pageURL and canonical, each once, at most MaxLinks of
// them, as the Page's Assets.
func (h HTML) parseCSS(pageURL *url.URL, body []byte) (*Page, error) {
	base, err := h.Normalizer.NewResolver(pageURL.String())
	if err != nil {
		return nil, err
	}
	limit := h.MaxLinks
	if limit == 0 {
		limit = DefaultMaxLinks
	}
	p := &Page{URL: pageURL}
	seen := make(map[string]bool)
	for _, ref := range ScanCSS(string(body)) {
		if ref.URL == "" {
			continue
		}
		abs, err := base.Resolve(ref.URL)
		if err != nil || seen[abs] {
			continue
		}
		if limit > 0 && len(p.Assets) >= limit {
			break
		}
		seen[abs] = true
		p.Assets = append(p.Assets, abs)
	}
	return p, nil
}
