// Package sitemap reads sitemaps (https://www.sitemaps.org/protocol.html):
// it parses <urlset> and <sitemapindex> documents and plain text URL lists,
// streaming with encoding/xml and decompressing gzip on the fly, under size
// caps, and walks from a site's sitemaps through nested indexes to the page
// URLs they list.
//
// Parsing is pure computation on a reader. Walking fetches documents
// through a caller-supplied Getter, one at a time; the package opens no
// connection of its own and has no package-level mutable state.
//
// Package sitemap imports no other package of this module.
package sitemap
