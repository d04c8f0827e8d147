package testsite

import (
	"fmt"
	"html"
	"net/http"
	"strings"
)

// The canonical cases: pages that are one page under several URLs.
//
//	/canonical/variants      links to six variants of /canonical/item?id=7,
//	                         differing by their sort and sessid parameters,
//	                         each declaring
//	                         <link rel="canonical" href="/canonical/item?id=7">;
//	                         the item links to /canonical/item?id=8&sort=price&sessid=a1
//	/canonical/order         links to /canonical/sorted/1 with a=1, b=2, c=3
//	                         in three orders, to /canonical/sorted/2?a=1&a=2
//	                         and to /canonical/sorted/3?a=2&a=1 (repeated
//	                         names: two pages)
//	/canonical/header        HTML with a Link: </canonical/header-target>;
//	                         rel="canonical" header; links to
//	                         /canonical/after, which links to the target
//	/canonical/conflict      a Link header and a <link> that disagree
//
// A crawler that honours canonical URLs fetches at most two variants of
// item 7 (those in flight when the first one answers), item 8 once, each
// /canonical/sorted/<n> once, and never /canonical/header-target.
var canonicalVariants = []string{
	"/canonical/item?id=7&sort=price&sessid=a1",
	"/canonical/item?sessid=b2&sort=name&id=7",
	"/canonical/item?id=7&sort=date&sessid=c3",
	"/canonical/item?id=7&sessid=d4&sort=rating",
	"/canonical/item?sort=price&id=7&sessid=e5",
	"/canonical/item?id=7&sort=size&sessid=f6",
}

var canonicalOrders = []string{
	"/canonical/sorted/1?a=1&b=2&c=3",
	"/canonical/sorted/1?c=3&b=2&a=1",
	"/canonical/sorted/1?b=2&a=1&c=3",
	"/canonical/sorted/2?a=1&a=2",
	"/canonical/sorted/3?a=2&a=1",
}

// linkList writes an <a> for each URL.
func linkList(urls []string) string {
	var b strings.Builder
	for _, u := range urls {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a>\n", html.EscapeString(u), html.EscapeString(u))
	}
	return b.String()
}

// canonicalPage writes a small HTML page declaring canonical in its head.
func canonicalPage(w http.ResponseWriter, title, canonical, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><html><head><title>%s</title><link rel=\"canonical\" href=\"%s\"></head><body>\n%s\n</body></html>\n",
		html.EscapeString(title), html.EscapeString(canonical), body)
}

func (h *Hostile) serveCanonical(w *recorder, r *http.Request) {
	switch p := r.URL.Path; {
	case p == "/canonical/variants":
		page(w, "Variants of one page", linkList(canonicalVariants))
	case p == "/canonical/item":
		id := r.URL.Query().Get("id")
		body := "<p>item " + html.EscapeString(id) + "</p>"
		if id == "7" {
			body += linkList([]string{"/canonical/item?id=8&sort=price&sessid=a1"})
		}
		canonicalPage(w, "Item "+id, "/canonical/item?id="+id, body)
	case p == "/canonical/order":
		page(w, "One query, several orders", linkList(canonicalOrders))
	case strings.HasPrefix(p, "/canonical/sorted/"):
		page(w, "sorted", "<p>"+html.EscapeString(r.URL.RawQuery)+"</p>")
	case p == "/canonical/header":
		w.Header().Set("Link", `</canonical/header-target>; rel="canonical", </t/style.css>; rel=stylesheet`)
		page(w, "Canonical by header", linkList([]string{"/canonical/after"}))
	case p == "/canonical/after":
		page(w, "After", linkList([]string{"/canonical/header-target"}))
	case p == "/canonical/header-target":
		page(w, "Canonical target", "")
	case p == "/canonical/conflict":
		w.Header().Set("Link", `</canonical/conflict-a>; rel=canonical`)
		canonicalPage(w, "Conflicting canonicals", "/canonical/conflict-b", "")
	default:
		http.NotFound(w, r)
	}
}
