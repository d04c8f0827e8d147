package testsite

import (
	"html"
	"net/http"
	"strconv"
	"strings"
)

// form is the way a link is written. The forms up to formVariant stay on the
// site; the others do not lead to a page.
type form uint8

const (
	formPath           form = iota // "/p/5"; "/" for page 0
	formFragment                   // "/p/5#top"
	formDot                        // "./5"; "p/5" on the home page
	formDotDot                     // "../p/5"
	formAbsolute                   // "http://host/p/5"
	formSchemeRelative             // "//host/p/5"
	formVariant                    // "HTTP://HOST/p/%35": the same URL, differently spelled
	formOffsite                    // OffsiteURL + "/x/<n>"
	formPrivate                    // DisallowPrefix + "<n>"
	formMailto                     // "mailto:page<n>@example.invalid"
	formJavascript                 // "javascript:void(0)"
)

// link is one href of a page: its form and the page it leads to (for the
// off-site, private and mailto: forms, the page it is on).
type link struct {
	form form
	page int32
}

// onSite reports whether l leads to a page of the site.
func (l link) onSite() bool { return l.form <= formVariant }

// rng is splitmix64: a few lines, no allocation, and the same sequence on
// every platform and Go release, which math/rand does not promise.
type rng struct{ state uint64 }

func newRNG(seed int64, n int) rng {
	return rng{state: uint64(seed)*0x9E3779B97F4A7C15 ^ uint64(n)*0xD1B54A32D192ED03}
}

func (r *rng) next() uint64 {
	r.state += 0x9E3779B97F4A7C15
	z := r.state
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// randomPage returns a page in [1, Pages), or 0 on a one-page site.
func (s *Site) randomPage(r *rng) int32 {
	if s.opts.Pages <= 1 {
		return 0
	}
	return int32(1 + r.next()%uint64(s.opts.Pages-1))
}

// appendLinks appends page n's links to dst, in page order: the tree links,
// then the fixed forms in the order below, then random plain links, the whole
// cut at LinksPerPage (the tree links always fit, since LinksPerPage >= 2).
// Random targets are drawn in that order, so a smaller LinksPerPage gives a
// prefix of the same list.
func (s *Site) appendLinks(dst []link, n int) []link {
	start := len(dst)
	limit := start + s.opts.LinksPerPage
	for _, c := range [2]int{2*n + 1, 2*n + 2} {
		if c < s.opts.Pages {
			dst = append(dst, link{formPath, int32(c)})
		}
	}
	r := newRNG(s.opts.Seed, n)
	for f := 0; len(dst) < limit; f++ {
		var l link
		switch f {
		case 0: // a cycle back to the home page
			l = link{formPath, 0}
		case 1: // a cycle back to the parent
			if n == 0 {
				continue
			}
			l = link{formDotDot, int32((n - 1) / 2)}
		case 2: // the same link twice
			l = dst[start]
		case 3:
			l = link{formFragment, s.randomPage(&r)}
		case 4:
			l = link{formDot, s.randomPage(&r)}
		case 5:
			l = link{formDotDot, s.randomPage(&r)}
		case 6:
			l = link{formAbsolute, s.randomPage(&r)}
		case 7:
			l = link{formSchemeRelative, s.randomPage(&r)}
		case 8:
			l = link{formVariant, s.randomPage(&r)}
		case 9:
			l = link{formOffsite, int32(n)}
		case 10:
			l = link{formPrivate, int32(n)}
		case 11:
			l = link{formMailto, int32(n)}
		case 12:
			l = link{formJavascript, int32(n)}
		default:
			l = link{formPath, s.randomPage(&r)}
		}
		dst = append(dst, l)
	}
	return dst
}

// appendPath appends the canonical path of page k.
func appendPath(b []byte, k int32) []byte {
	if k == 0 {
		return append(b, '/')
	}
	return strconv.AppendInt(append(b, "/p/"...), int64(k), 10)
}

// appendUpper appends s upper-cased (ASCII only, as host names are).
func appendUpper(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendHref appends the href of l as written on a page served over scheme
// at host, either at "/" (atRoot) or under /p/. Relative forms are chosen
// so that they resolve to the target page from where the page is served.
func (s *Site) appendHref(b []byte, l link, scheme, host string, atRoot bool) []byte {
	k := l.page
	switch l.form {
	case formPath:
		return appendPath(b, k)
	case formFragment:
		return append(appendPath(b, k), "#top"...)
	case formDot:
		switch {
		case atRoot && k == 0:
			return append(b, "./"...)
		case atRoot:
			return strconv.AppendInt(append(b, "p/"...), int64(k), 10)
		case k == 0:
			return append(b, "../"...)
		}
		return strconv.AppendInt(append(b, "./"...), int64(k), 10)
	case formDotDot:
		if k == 0 {
			return append(b, "../"...)
		}
		return strconv.AppendInt(append(b, "../p/"...), int64(k), 10)
	case formAbsolute:
		b = append(append(append(b, scheme...), "://"...), host...)
		return appendPath(b, k)
	case formSchemeRelative:
		return appendPath(append(append(b, "//"...), host...), k)
	case formVariant:
		b = appendUpper(append(appendUpper(b, scheme), "://"...), host)
		if k == 0 {
			return b // an empty path means "/"
		}
		// "%3" followed by the first digit d is d percent-encoded.
		return strconv.AppendInt(append(b, "/p/%3"...), int64(k), 10)
	case formOffsite:
		return strconv.AppendInt(append(append(b, s.offsite...), "/x/"...), int64(k), 10)
	case formPrivate:
		return strconv.AppendInt(append(b, s.opts.DisallowPrefix...), int64(k), 10)
	case formMailto:
		b = strconv.AppendInt(append(b, "mailto:page"...), int64(k), 10)
		return append(b, "@example.invalid"...)
	default:
		return append(b, "javascript:void(0)"...)
	}
}

// pageBuf is the scratch space of one page render, pooled.
type pageBuf struct {
	b     []byte
	links []link
}

const pageTail = "</p>\n</body></html>\n"

// servePage writes page n.
func (s *Site) servePage(w http.ResponseWriter, r *http.Request, n int, atRoot bool) {
	p, _ := s.bufs.Get().(*pageBuf)
	if p == nil {
		p = &pageBuf{b: make([]byte, 0, s.opts.PageBytes+1024)}
	}
	defer s.bufs.Put(p)

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if strings.ContainsAny(host, `&<>"'`) {
		host = html.EscapeString(host)
	}

	b := append(p.b[:0], "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Page "...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, "</title></head>\n<body>\n<h1>Page "...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, "</h1>\n<ul>\n"...)
	p.links = s.appendLinks(p.links[:0], n)
	for _, l := range p.links {
		b = append(b, "<li><a href=\""...)
		b = s.appendHref(b, l, scheme, host, atRoot)
		b = append(b, "\">link</a></li>\n"...)
	}
	b = append(b, "</ul>\n<p>"...)
	if pad := s.opts.PageBytes - len(b) - len(pageTail); pad > 0 {
		off := n % len(loremText) // so that pages differ in their text too
		b = append(b, s.lorem[off:off+pad]...)
	}
	b = append(b, pageTail...)
	p.b = b
	writeBody(w, r, "text/html; charset=utf-8", b)
}

// servePrivate writes the disallowed page n.
func (s *Site) servePrivate(w http.ResponseWriter, r *http.Request, n int) {
	body := "<!DOCTYPE html>\n<html><head><title>Private " + strconv.Itoa(n) +
		"</title></head>\n<body><p>Disallowed by robots.txt.</p></body></html>\n"
	writeBody(w, r, "text/html; charset=utf-8", []byte(body))
}

// Path returns the canonical path of page n: "/" for page 0, "/p/<n>"
// otherwise. It does not check that n is in range.
func (s *Site) Path(n int) string {
	return string(appendPath(nil, int32(n)))
}

// Links returns the hrefs page n contains, in page order, as written on the
// page at its canonical path (see Path) for the host "site.test" over http.
// Use LinksFor for the hrefs a server's real host sees. It returns nil if n
// is out of range.
func (s *Site) Links(n int) []string { return s.LinksFor("site.test", n) }

// LinksFor returns the hrefs page n contains, in page order, as written on
// the page at its canonical path when requested with the given Host header
// over http (HTML escaping undone). It returns nil if n is out of range.
func (s *Site) LinksFor(host string, n int) []string {
	if n < 0 || n >= s.opts.Pages {
		return nil
	}
	links := s.appendLinks(nil, n)
	hrefs := make([]string, len(links))
	for i, l := range links {
		hrefs[i] = string(s.appendHref(nil, l, "http", host, n == 0))
	}
	return hrefs
}

// Reachable returns, for every page reachable from the home page by at most
// maxDepth links, its shortest link depth: 0 for the home page, 1 for the
// pages it links to, and so on. Only links that lead to a page of the same
// host count (not off-site, disallowed, mailto: or javascript: links). A
// maxDepth of 0 or less means no limit; then every page is in the map. It
// takes time and memory in proportion to the site's size.
func (s *Site) Reachable(maxDepth int) map[int]int {
	depth := make([]int32, s.opts.Pages)
	for i := range depth {
		depth[i] = -1
	}
	depth[0] = 0
	queue := []int32{0}
	var links []link
	for head := 0; head < len(queue); head++ {
		p := queue[head]
		d := depth[p]
		if maxDepth > 0 && int(d) >= maxDepth {
			continue
		}
		links = s.appendLinks(links[:0], int(p))
		for _, l := range links {
			if l.onSite() && depth[l.page] < 0 {
				depth[l.page] = d + 1
				queue = append(queue, l.page)
			}
		}
	}
	m := make(map[int]int, len(queue))
	for _, p := range queue {
		m[int(p)] = int(depth[p])
	}
	return m
}

// loremText pads pages to Options.PageBytes.
const loremText = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod " +
	"tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis " +
	"nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis " +
	"aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat " +
	"nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui " +
	"officia deserunt mollit anim id est laborum. "
