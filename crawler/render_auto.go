package crawler

import (
	"net/url"
	"strings"
	"sync"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
)

// RenderAuto renders a page only when its HTTP DOM looks incomplete, or
// when what the crawl has learned about its URL pattern says rendering
// finds more there (see autoRender).
const RenderAuto = "auto"

// The learning of RenderAuto.
const (
	// autoRecheck: once a pattern is learned, one page in autoRecheck of
	// it is rendered and compared again, so a decision that went stale is
	// caught.
	autoRecheck = 30
	// autoMaxPatterns bounds the patterns learned per run; past it, pages
	// of new patterns are decided by their own look alone.
	autoMaxPatterns = 1 << 16
)

// autoRender decides, for RenderAuto, which pages are rendered, and
// learns it per host and path template (frontier.HostOf and
// pathTemplate: "/app/item/17" is "/app/item/*"). The heuristic:
//
//   - A page without a <script> is never rendered: nothing would change.
//   - A page that looks like an app shell (scripts, and no link or no
//     title in the HTTP DOM) is always rendered, and compared.
//   - Otherwise the first page of a pattern is rendered and compared; if
//     rendering found more, the second is too, to confirm. After that the
//     pattern's last comparison decides, and one page in autoRecheck is
//     rendered and compared again. One comparison of a pattern runs at a
//     time: pages that come while it runs follow the pattern's current
//     decision (not rendered, at first).
//
// Rendering "found more" when the rendered DOM has a link the HTTP DOM
// has not, a different non-empty title, or more extracted fields
// (Config.Extractor). It is safe for concurrent use.
type autoRender struct {
	mu       sync.Mutex
	patterns map[string]*autoPattern
}

// autoPattern is what was learned of one host's path template.
type autoPattern struct {
	pages    int  // pages of the pattern seen
	compared int  // pages rendered and compared
	helps    bool // the last comparison: rendering found more
	// sampling reports a comparison under way that the pattern's
	// decision waits for: pages that come meanwhile are not sampled too.
	sampling bool
}

func newAutoRender() *autoRender {
	return &autoRender{patterns: make(map[string]*autoPattern)}
}

// decide reports whether the page at rawURL, whose HTTP DOM is page and
// body, is to be rendered, and whether the rendering is to be compared
// with the HTTP DOM (and learned from with learn, under key).
func (a *autoRender) decide(rawURL string, page *parse.Page, body []byte) (key string, render, compare bool) {
	if !hasScript(body) {
		return "", false, false
	}
	shell := page.Found == 0 || page.Title == ""
	key = frontier.HostOf(rawURL) + pathTemplate(rawURL)
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.patterns[key]
	if p == nil {
		if len(a.patterns) >= autoMaxPatterns {
			return "", shell, false
		}
		p = &autoPattern{}
		a.patterns[key] = p
	}
	p.pages++
	switch {
	case shell:
		return key, true, true
	case p.sampling:
		return key, p.helps, false
	case p.compared == 0, p.compared == 1 && p.helps, p.pages%autoRecheck == 0:
		p.sampling = true
		return key, true, true
	}
	return key, p.helps, false
}

// abandon forgets a comparison decide asked for that did not happen (the
// page could not be rendered).
func (a *autoRender) abandon(key string) {
	if key == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if p := a.patterns[key]; p != nil {
		p.sampling = false
	}
}

// learn records a comparison of the pattern key: whether rendering found
// more than the HTTP DOM.
func (a *autoRender) learn(key string, helps bool) {
	if key == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if p := a.patterns[key]; p != nil {
		p.compared++
		p.helps = helps
		p.sampling = false
	}
}

// foundMore reports whether the rendered page shows more than the HTTP
// one: a new link, another title, or more extracted fields.
func foundMore(http, rendered *parse.Page, ex Extractor) bool {
	if rendered.Title != "" && rendered.Title != http.Title {
		return true
	}
	seen := make(map[string]struct{}, len(http.Links))
	for _, l := range http.Links {
		seen[l] = struct{}{}
	}
	for _, l := range rendered.Links {
		if _, ok := seen[l]; !ok {
			return true
		}
	}
	if ex != nil {
		return fields(ex.Extract(rendered)) > fields(ex.Extract(http))
	}
	return false
}

// fields counts the fields of items that have a value.
func fields(items []parse.Item) int {
	n := 0
	for _, it := range items {
		for _, f := range it.Fields {
			if f.Value != nil {
				n++
			}
		}
	}
	return n
}

// pathTemplate is the path of rawURL with its variable segments (those
// with a digit, or longer than 32 bytes: ids, slugs with numbers, hashes)
// replaced by "*": "/app/item/17" is "/app/item/*".
func pathTemplate(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "/"
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, s := range segs {
		if len(s) > 32 || strings.ContainsAny(s, "0123456789") {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}

// hasScript reports whether an HTML body has a <script element, in any
// case.
func hasScript(body []byte) bool {
	const tag = "<script"
	for i := 0; i+len(tag) <= len(body); i++ {
		if body[i] != '<' {
			continue
		}
		j := 1
		for ; j < len(tag); j++ {
			c := body[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != tag[j] {
				break
			}
		}
		if j == len(tag) {
			return true
		}
	}
	return false
}
