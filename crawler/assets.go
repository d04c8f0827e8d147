package crawler

import "github.com/hivecrawl/crawl/frontier"

// Asset requests are marked by a negative depth: an asset found on a page
// at depth d is queued at depth -(d+1). The mark needs no new field in
// frontier.Request, so every backend persists it as is; seeds have depth 0,
// so it is never ambiguous. Under breadth-first order (depth as priority)
// a host's assets go before its next pages.

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
	for _, a := range assets {
		if w.c.scope.allows(a) {
			links = append(links, frontier.Request{URL: a, Depth: depth, Parent: parent.URL})
		}
	}
	return w.keepLinks(links)
}
