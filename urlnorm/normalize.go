package urlnorm

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them, so test
// with errors.Is.
var (
	// ErrScheme means the URL's scheme is not http or https (javascript:,
	// mailto:, tel:, data:, ftp: and so on).
	ErrScheme = errors.New("urlnorm: unsupported scheme")
	// ErrTooLong means the canonical URL would be longer than the
	// Normalizer's MaxLength.
	ErrTooLong = errors.New("urlnorm: url too long")
	// ErrInvalid means the input is not a usable URL: no scheme, an empty or
	// malformed host, a bad port, or a nil or unusable base.
	ErrInvalid = errors.New("urlnorm: invalid url")
)

// DefaultMaxLength is the MaxLength used when a Normalizer's is zero.
const DefaultMaxLength = 2048

// Normalizer turns URLs into their canonical form, the string the crawler
// uses to decide whether two URLs are the same page.
//
// The canonical form of an absolute URL is:
//
//   - surrounding ASCII whitespace and C0 control characters trimmed, and
//     tabs, newlines and carriage returns removed anywhere (as browsers do);
//   - scheme http or https only, lower-cased; anything else fails with
//     ErrScheme;
//   - user info removed (a canonical URL never carries a password); host
//     lower-cased, percent-escapes in it decoded, internationalized names
//     converted to punycode (IDNA lookup profile), trailing dots removed;
//     only letters, digits, '-', '.', '_' are allowed in a host name; IPv6
//     literals are written in their RFC 5952 form;
//   - the scheme's default port (80 for http, 443 for https) and an empty
//     port removed, leading zeros of a port removed;
//   - an empty path becomes "/"; "." and ".." segments are resolved, and ".."
//     never climbs above the root; a backslash in the path is a slash (as
//     in browsers for http and https); a ";jsessionid=..." path parameter
//     is removed (up to the next ';' or '/');
//   - percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are
//     decoded, the hex digits of every other escape are upper-cased, a '%'
//     that does not start an escape becomes "%25", and space, control
//     characters, non-ASCII bytes and `"<>\^`+"`"+`{|}` are percent-encoded,
//     in both the path and the query;
//   - query parameters that are empty ("a=1&&b=2"), tracking or session
//     parameters (see TrackingParams) or named in StripParams are removed,
//     unless named in KeepParams; the others are sorted by name, bytewise
//     on their canonical form, parameters of the same name keeping their
//     relative order (unless KeepQueryOrder); an empty query loses its '?';
//   - the fragment is removed.
//
// So "?b=2&a=1&utm_source=x" and "?a=1&b=2" are one URL, as Scrapy's
// canonicalize_url has it, except that values do not take part in the
// order: "?a=2&a=1" stays as it is, because for repeated names the order
// may carry meaning.
//
// Canonical forms are fixed points: Canonical(Canonical(x)) ==
// Canonical(x), and Canonical returns its argument itself (no allocation)
// when it is already canonical.
//
// The zero value is the default canonicalization: tracking parameters
// dropped, parameters sorted, 2048 bytes allowed. A Normalizer is
// read-only after construction and safe for concurrent use.
type Normalizer struct {
	// StripParams names more query parameters to remove, besides
	// TrackingParams. A name ending in '*' is a prefix: "ref_*" removes
	// ref_src, ref_url and so on. Names are matched case-sensitively
	// against the parameter name in canonical form (so "ref%5Fsrc" matches
	// "ref_src"). Empty means only the tracking parameters.
	StripParams []string
	// KeepParams names query parameters to keep even though TrackingParams
	// or StripParams would remove them, matched ASCII case-insensitively; a
	// name ending in '*' is a prefix ("utm_*" keeps every utm_ parameter,
	// "*" keeps every parameter). "jsessionid" also keeps the
	// ";jsessionid=" path parameter.
	KeepParams []string
	// KeepQueryOrder keeps query parameters in the order the URL has them
	// instead of sorting them by name.
	KeepQueryOrder bool
	// MaxLength caps the canonical URL's length in bytes; longer URLs fail
	// with ErrTooLong. Zero (or negative) means DefaultMaxLength.
	MaxLength int
}

// Validate reports whether the Normalizer's fields are usable.
func (n Normalizer) Validate() error {
	if n.MaxLength < 0 {
		return fmt.Errorf("urlnorm: negative MaxLength %d", n.MaxLength)
	}
	for _, p := range n.StripParams {
		if p == "" {
			return errors.New("urlnorm: empty name in StripParams")
		}
	}
	for _, p := range n.KeepParams {
		if p == "" {
			return errors.New("urlnorm: empty name in KeepParams")
		}
	}
	return nil
}

// Canonical returns the canonical form of the absolute URL raw. It fails
// with an error wrapping ErrScheme, ErrTooLong or ErrInvalid; it never
// panics, whatever raw holds. The error quotes raw with its user info
// removed.
func (n Normalizer) Canonical(raw string) (string, error) {
	var scratch [256]byte
	buf, err := n.appendCanonical(scratch[:0], raw)
	if err != nil {
		return "", fmt.Errorf("%w: %.100q", err, Redact(raw))
	}
	if string(buf) == raw {
		return raw, nil
	}
	return string(buf), nil
}

// Resolve resolves ref, a reference found in a page (an href or src value),
// against base, the page's base URL, and returns the canonical form of the
// result. ref may be absolute, protocol-relative ("//host/x"), path-absolute,
// relative or query- or fragment-only; whitespace is handled as in
// Canonical. base must be an absolute http or https URL. It fails with an
// error wrapping ErrScheme, ErrTooLong or ErrInvalid.
//
// For many references against one base, use a Resolver: Resolve
// canonicalizes base on every call.
func (n Normalizer) Resolve(base *url.URL, ref string) (string, error) {
	if base == nil {
		return "", fmt.Errorf("%w: nil base", ErrInvalid)
	}
	b, err := n.newBase(base.String())
	if err != nil {
		return "", fmt.Errorf("%w: base %.100q", err, Redact(base.String()))
	}
	return n.resolveString(&b, ref)
}

// Resolver resolves references against one base URL, canonicalized once.
// Build it with Normalizer.NewResolver; it keeps a copy of the Normalizer
// (whose slices must not change while the Resolver is in use). A Resolver
// is read-only and safe for concurrent use.
type Resolver struct {
	n Normalizer
	b base
}

// NewResolver canonicalizes baseURL, an absolute http or https URL, for
// resolving references against it. It fails with an error wrapping
// ErrScheme, ErrTooLong or ErrInvalid.
func (n *Normalizer) NewResolver(baseURL string) (Resolver, error) {
	b, err := n.newBase(baseURL)
	if err != nil {
		return Resolver{}, fmt.Errorf("%w: base %.100q", err, Redact(baseURL))
	}
	return Resolver{n: *n, b: b}, nil
}

// Base returns the canonical base URL.
func (r *Resolver) Base() string { return r.b.s }

// Resolve is Normalizer.Resolve against the Resolver's base. The result
// is ref or Base itself, not a copy, when it equals one of them.
func (r *Resolver) Resolve(ref string) (string, error) {
	return r.n.resolveString(&r.b, ref)
}

// resolveString resolves ref against b, reusing ref or b.s when the result
// equals one of them.
func (n *Normalizer) resolveString(b *base, ref string) (string, error) {
	var scratch [256]byte
	buf, err := n.appendResolved(scratch[:0], b, ref)
	if err != nil {
		return "", fmt.Errorf("%w: %.100q", err, Redact(ref))
	}
	switch string(buf) {
	case ref:
		return ref, nil
	case b.s:
		return b.s, nil
	}
	return string(buf), nil
}

// AppendResolve appends the canonical form of ref resolved against the
// base to dst and returns the extended buffer, for callers that resolve
// many references and keep few of them: it allocates nothing when dst has
// room. Its errors are the bare sentinels ErrScheme, ErrTooLong and
// ErrInvalid (no allocation either); dst's contents past its original
// length are then unspecified.
func (r *Resolver) AppendResolve(dst []byte, ref string) ([]byte, error) {
	return r.n.appendResolved(dst, &r.b, ref)
}

// Redact returns rawURL with any user info removed, for logs, errors and
// records. It returns rawURL itself when it has none (the common case,
// which allocates nothing); it never fails: a string it cannot parse has
// everything between "//" and the last '@' of its authority removed.
func Redact(rawURL string) string {
	i := strings.Index(rawURL, "//")
	if i < 0 {
		return rawURL
	}
	auth := rawURL[i+2:]
	if end := strings.IndexAny(auth, "/?#\\"); end >= 0 {
		auth = auth[:end]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return rawURL
	}
	return rawURL[:i+2] + rawURL[i+2+at+1:]
}

// maxLen is the effective MaxLength.
func (n *Normalizer) maxLen() int {
	if n.MaxLength <= 0 {
		return DefaultMaxLength
	}
	return n.MaxLength
}

// inputLimit bounds the work spent on one input: the canonical form is at
// most a few times shorter than the input (dot segments, stripped
// parameters, decoded escapes), so anything much longer than MaxLength is
// rejected before it is scanned.
func (n *Normalizer) inputLimit() int { return 8 * n.maxLen() }

// base is a canonical base URL with the offsets resolution needs, computed
// once per page.
type base struct {
	s       string // canonical form
	https   bool
	authEnd int // index of the path's leading '/'
	dirEnd  int // index just past the path's last '/'
	pathEnd int // index of '?' or len(s)
}

// newBase canonicalizes raw and records its offsets. Its errors are bare
// sentinels.
func (n *Normalizer) newBase(raw string) (base, error) {
	var scratch [256]byte
	buf, err := n.appendCanonical(scratch[:0], raw)
	if err != nil {
		return base{}, err
	}
	s := raw
	if string(buf) != raw {
		s = string(buf)
	}
	b := base{s: s, https: strings.HasPrefix(s, "https:")}
	prefix := len("http://")
	if b.https {
		prefix++
	}
	// A canonical URL always has a path starting with '/' after the host.
	b.authEnd = prefix + strings.IndexByte(s[prefix:], '/')
	b.pathEnd = len(s)
	if q := strings.IndexByte(s[b.authEnd:], '?'); q >= 0 {
		b.pathEnd = b.authEnd + q
	}
	b.dirEnd = b.authEnd + strings.LastIndexByte(s[b.authEnd:b.pathEnd], '/') + 1
	return b, nil
}

// appendCanonical appends the canonical form of the absolute URL raw.
func (n *Normalizer) appendCanonical(buf []byte, raw string) ([]byte, error) {
	s := clean(raw)
	if len(s) > n.inputLimit() {
		return buf, ErrTooLong
	}
	scheme, rest, ok := splitScheme(s)
	if !ok {
		return buf, ErrInvalid
	}
	https, ok := httpScheme(scheme)
	if !ok {
		return buf, ErrScheme
	}
	return n.appendAbsolute(buf, https, rest)
}

// appendResolved appends the canonical form of ref resolved against b,
// following RFC 3986 section 5.2 with the WHATWG URL standard's leniencies
// for http and https (backslashes as slashes, "http:path" relative to an
// http base).
func (n *Normalizer) appendResolved(buf []byte, b *base, ref string) ([]byte, error) {
	ref = clean(ref)
	if len(ref) > n.inputLimit() {
		return buf, ErrTooLong
	}
	if scheme, rest, ok := splitScheme(ref); ok {
		https, ok := httpScheme(scheme)
		if !ok {
			return buf, ErrScheme
		}
		if https != b.https || hasTwoSlashes(rest) {
			return n.appendAbsolute(buf, https, rest)
		}
		// "http:x" against an http base is relative, as in browsers.
		ref = rest
	}
	switch {
	case hasTwoSlashes(ref): // network-path reference: "//host/path"
		return n.appendAbsolute(buf, b.https, ref)
	case ref == "" || ref[0] == '#':
		buf = append(buf, b.s...)
	case ref[0] == '?':
		buf = append(buf, b.s[:b.pathEnd]...)
		buf = n.appendQuery(buf, queryOf(ref[1:]))
	case isSlash(ref[0]):
		buf = append(buf, b.s[:b.authEnd]...)
		buf = n.appendPathQuery(buf, ref)
	default:
		buf = append(buf, b.s[:b.dirEnd]...)
		buf = n.appendRelative(buf, b.authEnd, ref)
	}
	return n.checkLen(buf)
}

// appendAbsolute appends scheme, authority, path and query; rest is what
// follows "scheme:" in an absolute URL.
func (n *Normalizer) appendAbsolute(buf []byte, https bool, rest string) ([]byte, error) {
	if https {
		buf = append(buf, "https://"...)
	} else {
		buf = append(buf, "http://"...)
	}
	// Browsers skip any number of slashes (and backslashes) before the
	// authority of an http(s) URL, including none.
	for rest != "" && isSlash(rest[0]) {
		rest = rest[1:]
	}
	end := len(rest)
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == '/' || c == '\\' || c == '?' || c == '#' {
			end = i
			break
		}
	}
	buf, err := appendAuthority(buf, rest[:end], https)
	if err != nil {
		return buf, err
	}
	buf = n.appendPathQuery(buf, rest[end:])
	return n.checkLen(buf)
}

// checkLen enforces MaxLength on a finished URL.
func (n *Normalizer) checkLen(buf []byte) ([]byte, error) {
	if len(buf) > n.maxLen() {
		return buf, ErrTooLong
	}
	return buf, nil
}

// appendPathQuery appends the path and query of rest, which is empty or
// starts with a slash, '?' or '#'.
func (n *Normalizer) appendPathQuery(buf []byte, rest string) []byte {
	pathStart := len(buf)
	buf = append(buf, '/')
	if rest != "" && isSlash(rest[0]) {
		rest = rest[1:]
	}
	return n.appendRelative(buf, pathStart, rest)
}

// appendRelative appends the path and query of rel to buf, whose path
// (starting at pathStart with '/') ends with '/'. ".." segments in rel
// remove segments already in buf, never the leading '/'.
func (n *Normalizer) appendRelative(buf []byte, pathStart int, rel string) []byte {
	end := len(rel)
	if i := strings.IndexByte(rel, '#'); i >= 0 {
		end = i
	}
	if i := strings.IndexByte(rel[:end], '?'); i >= 0 {
		end = i
	}
	buf = appendEscaped(buf, rel[:end], true)
	if bytes.IndexByte(buf[pathStart:], ';') >= 0 {
		buf = n.removeSessionParam(buf, pathStart)
	}
	// Dot segments are resolved after escape normalization, so "%2e%2E" is
	// ".." too. Every dot segment follows a '/'.
	if bytes.Contains(buf[pathStart:], []byte("/.")) {
		buf = removeDotSegments(buf, pathStart)
	}
	if end < len(rel) && rel[end] == '?' {
		buf = n.appendQuery(buf, queryOf(rel[end+1:]))
	}
	return buf
}

// removeDotSegments resolves the "." and ".." segments of the path in
// buf[pathStart:], which starts with '/', in place (RFC 3986 section 5.2.4).
// ".." at the root stays at the root.
func removeDotSegments(buf []byte, pathStart int) []byte {
	root := pathStart + 1
	w := root // write index; it never passes the read index
	for r := root; ; {
		end := bytes.IndexByte(buf[r:], '/')
		last := end < 0
		if last {
			end = len(buf)
		} else {
			end += r
		}
		switch string(buf[r:end]) {
		case ".":
		case "..":
			if w > root {
				// Drop the previous segment, keeping its leading '/'.
				w = pathStart + lastIndexByte(buf[pathStart:w-1], '/') + 1
			}
		default:
			w += copy(buf[w:], buf[r:end])
			if !last {
				buf[w] = '/'
				w++
			}
		}
		if last {
			return buf[:w]
		}
		r = end + 1
	}
}

// appendEscaped appends s with percent-encoding normalized. In a path, a
// backslash is a slash, as browsers treat it for http and https. Runs of
// bytes that need no change are copied in one go.
func appendEscaped(buf []byte, s string, path bool) []byte {
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && isPlain(s[j]) {
			j++
		}
		buf = append(buf, s[i:j]...)
		if j == len(s) {
			break
		}
		c := s[j]
		i = j + 1
		switch {
		case c == '%' && j+2 < len(s) && isHex(s[j+1]) && isHex(s[j+2]):
			v := unhex(s[j+1])<<4 | unhex(s[j+2])
			if isUnreserved(v) {
				buf = append(buf, v)
			} else {
				buf = append(buf, '%', upperHex[v>>4], upperHex[v&15])
			}
			i = j + 3
		case c == '%':
			buf = append(buf, "%25"...)
		case c == '\\' && path:
			buf = append(buf, '/')
		default:
			buf = append(buf, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return buf
}

// clean trims leading and trailing C0 controls and spaces and removes tabs
// and newlines anywhere, as the WHATWG URL parser does. It allocates only
// when something has to be removed from the middle.
func clean(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	s = s[i:j]
	// Three vectorized scans beat one byte loop.
	if strings.IndexByte(s, '\n') < 0 && strings.IndexByte(s, '\t') < 0 && strings.IndexByte(s, '\r') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && c != '\n' && c != '\r' {
			b = append(b, c)
		}
	}
	return string(b)
}

// splitScheme splits "scheme:rest". ok is false when s has no scheme (a
// relative reference).
func splitScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", s, false
			}
		case c == ':' && i > 0:
			return s[:i], s[i+1:], true
		default:
			return "", s, false
		}
	}
	return "", s, false
}

// httpScheme reports whether scheme is http or https, case-insensitively.
func httpScheme(scheme string) (https, ok bool) {
	switch {
	case strings.EqualFold(scheme, "http"):
		return false, true
	case strings.EqualFold(scheme, "https"):
		return true, true
	}
	return false, false
}

// queryOf cuts the fragment off what follows a '?'.
func queryOf(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

func hasTwoSlashes(s string) bool { return len(s) >= 2 && isSlash(s[0]) && isSlash(s[1]) }

func isSlash(c byte) bool { return c == '/' || c == '\\' }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

const upperHex = "0123456789ABCDEF"

// isUnreserved reports RFC 3986 unreserved characters, whose escapes are
// decoded.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// Bit c of plainLo (c < 64) or of plainHi (bit c-64) is set for the ASCII
// bytes that appendEscaped copies unchanged: printable ASCII except '%' and
// `"<>\^`+"`"+`{|}`, which are escaped. Control characters, space, DEL and
// non-ASCII bytes are escaped too.
const (
	plainLo uint64 = (1<<64 - 1) &^ (1<<'!' - 1) &^ (1<<'"' | 1<<'%' | 1<<'<' | 1<<'>')
	plainHi uint64 = (1<<63 - 1) &^ (1<<('\\'-64) | 1<<('^'-64) | 1<<('`'-64) | 1<<('{'-64) | 1<<('|'-64) | 1<<('}'-64))
)

// isPlain reports whether c appears unchanged in a canonical path segment
// or query component.
func isPlain(c byte) bool {
	if c < 64 {
		return plainLo>>c&1 != 0
	}
	return c < 128 && plainHi>>(c-64)&1 != 0
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}
