package crawler

import (
	"strings"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/urlnorm"
)

// declaredCanonical returns the canonical URL a page declares, by a
// Link: <…>; rel="canonical" response header or a <link rel="canonical">
// in its <head> (page may be nil: a response that is not HTML), in
// canonical form. When the declarations disagree it returns "": Google
// documents that it ignores conflicting canonical declarations rather than
// prefer one channel, and so does this.
func (c *Crawler) declaredCanonical(resp *fetch.Response, page *parse.Page) string {
	header := ""
	if links := resp.Header.Values("Link"); len(links) > 0 {
		var ok bool
		if header, ok = linkHeaderCanonical(&c.cfg.Normalizer, resp.FinalURL, links); !ok {
			return ""
		}
	}
	switch {
	case page == nil || page.Canonical == "":
		return header
	case header == "" || header == page.Canonical:
		return page.Canonical
	}
	return ""
}

// linkHeaderCanonical returns the rel="canonical" target of Link header
// values (RFC 8288), resolved against base and canonicalized: "" and true
// when there is none, "" and false when there are several that disagree.
// Targets that cannot be canonicalized are ignored.
func linkHeaderCanonical(n *urlnorm.Normalizer, base string, values []string) (string, bool) {
	var r *urlnorm.Resolver
	canonical := ""
	for _, v := range values {
		for v != "" {
			var target string
			var rel bool
			target, rel, v = nextLink(v)
			if !rel || target == "" {
				continue
			}
			if r == nil {
				rs, err := n.NewResolver(base)
				if err != nil {
					return "", true
				}
				r = &rs
			}
			s, err := r.Resolve(target)
			switch {
			case err != nil:
			case canonical != "" && s != canonical:
				return "", false
			default:
				canonical = s
			}
		}
	}
	return canonical, true
}

// nextLink parses the first link-value of a Link header value s:
// "<target>" and its parameters, up to the ',' that ends it outside a
// quoted string. It reports whether a rel parameter lists "canonical",
// and returns the rest of s. Malformed input yields an empty target, never
// a panic, and the scan always advances.
func nextLink(s string) (target string, canonical bool, rest string) {
	s = strings.TrimLeft(s, " \t,")
	if s == "" {
		return "", false, ""
	}
	if s[0] == '<' {
		if end := strings.IndexByte(s, '>'); end > 0 {
			target, s = s[1:end], s[end+1:]
		} else {
			target, s = "", s[1:]
		}
	}
	// Parameters: ; name [= token | quoted-string], up to a ',' outside
	// quotes.
	for s != "" {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		if s[0] == ',' {
			return target, canonical, s[1:]
		}
		if s[0] != ';' {
			// Not a parameter: skip to the next link-value.
			i := strings.IndexByte(s, ',')
			if i < 0 {
				return "", false, ""
			}
			return "", false, s[i+1:]
		}
		s = strings.TrimLeft(s[1:], " \t")
		i := strings.IndexAny(s, "=;,")
		name := strings.TrimSpace(s[:max(i, 0)])
		if i < 0 {
			name, s = strings.TrimSpace(s), ""
		} else {
			s = s[i:]
		}
		value := ""
		if s != "" && s[0] == '=' {
			value, s = paramValue(strings.TrimLeft(s[1:], " \t"))
		}
		if strings.EqualFold(name, "rel") {
			for _, tok := range strings.Fields(value) {
				if strings.EqualFold(tok, "canonical") {
					canonical = true
				}
			}
		}
	}
	return target, canonical, ""
}

// paramValue reads a token or a quoted string (with backslash escapes)
// from the start of s and returns it and what follows.
func paramValue(s string) (string, string) {
	if s == "" || s[0] != '"' {
		i := strings.IndexAny(s, ";,")
		if i < 0 {
			return strings.TrimSpace(s), ""
		}
		return strings.TrimSpace(s[:i]), s[i:]
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ""
}

// noteCanonical handles the canonical URL a fetched page declares: the
// record carries it when it differs from the URL; when it is on the same
// host and in scope, it is marked seen with the completion, so that a
// link to it is not fetched again; and when it differs from the page's
// URL only by query parameters, their names are learned as ignored for
// that host and path (see forwardIgnored and discover).
func (w *worker) noteCanonical(out *frontier.Outcome, res *Result, req frontier.Request, resp *fetch.Response, page *parse.Page) {
	c := w.c
	canonical := c.declaredCanonical(resp, page)
	if canonical == "" || canonical == req.URL {
		return
	}
	res.Canonical = canonical
	if frontier.HostOf(canonical) == frontier.HostOf(req.URL) && c.scope.allows(canonical) {
		out.Seen = append(out.Seen[:0:0], canonical)
	}
	if final, err := c.cfg.Normalizer.Canonical(resp.FinalURL); err == nil {
		w.r.ignored.Learn(final, canonical)
	}
}

// forwardIgnored completes a page request whose URL has query parameters
// learned as ignored since it was queued (a variant of a page already
// fetched): instead of fetching it, it hands the URL without them to the
// frontier, which drops it if it was seen and queues it otherwise. It
// reports false, and does nothing, for any other request.
func (w *worker) forwardIgnored(out frontier.Outcome, req frontier.Request) (frontier.Outcome, bool) {
	if req.Kind != frontier.KindPage {
		return out, false
	}
	u := w.r.ignored.Apply(req.URL)
	if u == req.URL {
		return out, false
	}
	fw := frontier.Request{URL: u, Depth: req.Depth, Parent: req.Parent, Kind: req.Kind}
	out.Links = w.keepLinks(append(w.linkScratch(), fw))
	return out, true
}
