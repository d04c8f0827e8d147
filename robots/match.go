package robots

import (
	"net/url"
	"strings"
	"time"
)

// rule is one Allow or Disallow line of a group, its pattern normalized
// like the paths it is matched against.
type rule struct {
	allow bool
	// length is the pattern's length in octets, after normalization and
	// with its special characters: the rule's weight (RFC 9309 2.2.2,
	// "the most specific match").
	length int
	// segs are the literal pieces between the pattern's "*"s; there is
	// always at least one (empty when the pattern starts with "*").
	segs []string
	// anchored reports a final "$": the path must end where the pattern
	// does.
	anchored bool
}

// newRule builds the rule of a non-empty Allow or Disallow value.
func newRule(allow bool, value string) rule {
	p := normalize(value)
	r := rule{allow: allow, length: len(p)}
	if strings.HasSuffix(p, "$") {
		r.anchored = true
		p = p[:len(p)-1]
	}
	r.segs = strings.Split(p, "*")
	return r
}

// matches reports whether the rule matches target, a normalized path and
// query. A pattern matches from the start of the path; "*" matches any run
// of octets, a final "$" the end of the path, and "$" elsewhere itself.
//
// Each piece is taken at its leftmost place after the one before: that
// leaves the most room to the pieces after it, so if any placement
// matches, this one does. The cost is O(len(target) × pieces).
func (r *rule) matches(target string) bool {
	segs := r.segs
	if !strings.HasPrefix(target, segs[0]) {
		return false
	}
	if len(segs) == 1 {
		return !r.anchored || len(target) == len(segs[0])
	}
	pos := len(segs[0])
	for _, s := range segs[1 : len(segs)-1] {
		i := strings.Index(target[pos:], s)
		if i < 0 {
			return false
		}
		pos += i + len(s)
	}
	last := segs[len(segs)-1]
	if r.anchored {
		return len(target)-pos >= len(last) && strings.HasSuffix(target, last)
	}
	return strings.Contains(target[pos:], last)
}

// group is what a robots.txt says to one product token: the rules of every
// group naming it (or, failing that, of every "*" group), merged.
type group struct {
	rules []rule
	// delay is the largest valid Crawl-delay of the merged groups; zero if
	// none.
	delay time.Duration
}

// allowed reports whether the group lets the crawler fetch target, a
// normalized path and query: the longest matching rule decides, Allow
// winning a tie (RFC 9309 2.2.2); no match allows.
func (g *group) allowed(target string) bool {
	best, allow := -1, true
	for i := range g.rules {
		r := &g.rules[i]
		if r.length < best || (r.length == best && !r.allow) {
			continue // cannot change the verdict
		}
		if r.matches(target) {
			best, allow = r.length, r.allow
		}
	}
	return allow
}

// targetOf returns the part of u that rules are matched against: its path
// (at least "/") and query, normalized.
func targetOf(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		p += "?" + u.RawQuery
	}
	return normalize(p)
}

// normalize returns s in the one form that rule patterns and URL paths are
// compared in (RFC 9309 2.2.2 and RFC 3986 6.2.2): octets outside printable
// US-ASCII, and the ASCII characters a URL may not hold as such, are
// percent-encoded; percent-encoded unreserved characters are decoded; the
// hex digits of the rest are uppercased; a "%" that starts no escape is
// itself encoded. Reserved characters keep their form, encoded or not, as
// the two differ in meaning. normalize(normalize(s)) == normalize(s), and s
// is returned as is when it is already normal.
func normalize(s string) string {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 < len(s) && isUpperHex(s[i+1]) && isUpperHex(s[i+2]) && !unreserved(unhex(s[i+1])<<4|unhex(s[i+2])) {
				i += 2
				continue
			}
			break
		}
		if mustEscape(c) {
			break
		}
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreserved(v) {
				b.WriteByte(v)
			} else {
				writeEscaped(&b, v)
			}
			i += 2
		case c == '%' || mustEscape(c):
			writeEscaped(&b, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

const upperHex = "0123456789ABCDEF"

func writeEscaped(b *strings.Builder, c byte) {
	b.WriteByte('%')
	b.WriteByte(upperHex[c>>4])
	b.WriteByte(upperHex[c&15])
}

// mustEscape reports whether c may not appear unencoded in a URL: controls,
// space, non-ASCII octets and the ASCII characters RFC 3986 neither
// reserves nor leaves unreserved.
func mustEscape(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return true
	}
	switch c {
	case '"', '<', '>', '\\', '^', '`', '{', '|', '}':
		return true
	}
	return false
}

// unreserved reports whether c is an RFC 3986 unreserved character, which
// means the same encoded or not.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isUpperHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
