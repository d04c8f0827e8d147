package crawler

import (
	"net/url"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/parse"
)

// Asset requests are marked by a negative depth: an asset found on a page
// at depth d is queued at depth -(d+1), and one found in a style sheet
// fetched as an asset one lower again (an @import's own images and
// imports). The mark needs no new field in frontier.Request, so every
// backend persists it as is; seeds have depth 0, so it is never
// ambiguous. Under breadth-first order (depth as priority) a host's assets
// go before its next pages.

// maxStylesheetNesting bounds, under MaxDepth, an @import chain: a style
// sheet at asset depth MaxDepth+1+maxStylesheetNesting (that many imports
// past the sheets of the deepest pages) is fetched, but not read for more.
const maxStylesheetNesting = 8

// isAsset reports whether r was queued as an asset.
func isAsset(r frontier.Request) bool { return r.Depth < 0 }

// withAssets appends the in-scope assets of the page parent to links (the
// worker's buffer, or nil), as asset requests. Assets are fetched whatever
// MaxDepth says, as a page's requisites; a URL that is also a link of the
// page comes earlier in the batch, so the frontier keeps it as a page.
func (w *worker) withAssets(parent frontier.Request, links []frontier.Request, assets []string) []frontier.Request {
	if len(assets) == 0 {
		return links
	}
	if links == nil {
		links = w.linkScratch()
	}
	depth := -(parent.Depth + 1)
	if isAsset(parent) {
		depth = parent.Depth - 1
	}
	for _, a := range assets {
		if w.c.scope.allows(a) {
			links = append(links, frontier.Request{URL: a, Depth: depth, Parent: parent.URL})
		}
	}
	return w.keepLinks(links)
}

// stylesheetAssets returns the in-scope url() and @import references of a
// style sheet fetched as the asset req, canonical and each once (at most
// MaxLinks of them), as asset requests one level further. With MaxDepth
// set, @import chains end maxStylesheetNesting style sheets past the
// deepest page, so that a site cannot make an endless chain of them; a
// style sheet that is not text/css, or failed, contributes nothing.
func (w *worker) stylesheetAssets(req frontier.Request, resp *fetch.Response) []frontier.Request {
	c := w.c
	if !isAsset(req) || resp == nil || resp.Status < 200 || resp.Status > 299 || !parse.IsCSS(resp.ContentType) {
		return nil
	}
	if c.cfg.MaxDepth > 0 && -req.Depth >= c.cfg.MaxDepth+1+maxStylesheetNesting {
		return nil
	}
	base, err := url.Parse(resp.FinalURL)
	if err != nil || resp.FinalURL == "" {
		if base, err = url.Parse(req.URL); err != nil {
			return nil
		}
	}
	// The Parser reads a style sheet for its references (parse.HTML
	// does: canonical, each once, at most MaxLinks of them).
	page, err := c.cfg.Parser.Parse(base, resp.ContentType, resp.Body)
	if err != nil || page == nil {
		return nil
	}
	return w.withAssets(req, nil, page.Assets)
}
