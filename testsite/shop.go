package testsite

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// ShopOptions configures a Shop. The zero value is a shop of 57 products,
// 10 to a listing page, linked the usual way.
type ShopOptions struct {
	// Products is the number of products. Zero means 57.
	Products int
	// PerPage is the number of product cards on a listing page. Zero
	// means 10.
	PerPage int
	// SitemapOnly serves pages without a single link: every page but the
	// home page is reachable only through the sitemaps. robots.txt names
	// /sitemap_index.xml, which lists a gzip-compressed sitemap of the
	// products (/sitemaps/products.xml.gz) and a nested index
	// (/sitemaps/more.xml) listing the listing pages' sitemap
	// (/sitemaps/listings.xml); /sitemap.xml lists /about. Without
	// SitemapOnly the sitemaps are served too, and the pages link as a
	// shop does.
	SitemapOnly bool
}

func (o ShopOptions) withDefaults() ShopOptions {
	if o.Products <= 0 {
		o.Products = 57
	}
	if o.PerPage <= 0 {
		o.PerPage = 10
	}
	return o
}

// Product is one product of a Shop: the site's own data, which a scraper's
// output is checked against.
type Product struct {
	ID   int
	Name string // may contain "&", which pages escape
	// PriceCents is the price in cents; pages show it as "$1,234.56".
	PriceCents int
	SKU        string
	Tags       []string
	InStock    bool
	// Path is the detail page's path, such as "/product/7/blue-widget".
	Path string
	// Image is the product image's path, such as "/img/7.png".
	Image string
	// Variants are the sizes on the detail page, each with its price.
	Variants []Variant
}

// Variant is one size of a product.
type Variant struct {
	Size       string
	PriceCents int
}

// Price returns the price in dollars.
func (p Product) Price() float64 { return float64(p.PriceCents) / 100 }

// Shop is a small web shop for scraping tests: a home page, listing pages
// with pagination (/shop, /shop?page=2, …), product detail pages, images,
// a stylesheet and a script, a directory of files with awkward names
// (/files/), sitemaps, and an /about page. Product detail pages also link
// to related products with a ?ref=related query, the tracking parameter a
// crawler must strip to see each product once.
//
// A Shop is an http.Handler, safe for concurrent use; it counts the
// requests for each path (with its query) it serves. Create it with
// NewShop.
type Shop struct {
	opts     ShopOptions
	products []Product

	mu       sync.Mutex
	requests map[string]int // RequestURI → GETs
}

// NewShop returns a Shop configured by opts.
func NewShop(opts ShopOptions) *Shop {
	opts = opts.withDefaults()
	s := &Shop{opts: opts, requests: make(map[string]int)}
	for id := 1; id <= opts.Products; id++ {
		s.products = append(s.products, newProduct(id))
	}
	return s
}

var (
	shopAdjectives = []string{"Blue", "Red", "Tiny", "Giant", "Quiet", "Rapid", "Golden", "Rustic", "Modern", "Salt"}
	shopNouns      = []string{"Widget", "Gadget", "Teapot", "Lamp", "Chair", "Kettle", "Clock", "Basket", "Mug", "Pepper Mill"}
	shopTags       = []string{"home", "kitchen", "office", "garden", "gift", "sale"}
	shopSizes      = []string{"S", "M", "L"}
)

func newProduct(id int) Product {
	adj := shopAdjectives[id%len(shopAdjectives)]
	noun := shopNouns[(id/len(shopAdjectives))%len(shopNouns)]
	name := adj + " " + noun
	if id%10 == 9 {
		name = adj + " & " + noun
	}
	name = fmt.Sprintf("%s No. %d", name, id)
	slug := strings.ToLower(strings.NewReplacer(" & ", "-and-", ". ", "-", " ", "-").Replace(name))
	p := Product{
		ID:         id,
		Name:       name,
		PriceCents: (id*7919)%250000 + 99,
		SKU:        fmt.Sprintf("SKU-%05d", id),
		InStock:    id%3 != 0,
		Path:       fmt.Sprintf("/product/%d/%s", id, slug),
		Image:      fmt.Sprintf("/img/%d.png", id),
	}
	for i := 0; i <= id%3; i++ {
		p.Tags = append(p.Tags, shopTags[(id+i*2)%len(shopTags)])
	}
	for i, size := range shopSizes[:1+id%len(shopSizes)] {
		p.Variants = append(p.Variants, Variant{Size: size, PriceCents: p.PriceCents + i*500})
	}
	return p
}

// Options returns the shop's options with their defaults applied.
func (s *Shop) Options() ShopOptions { return s.opts }

// Products returns the shop's products, by ID. The slice is the caller's.
func (s *Shop) Products() []Product {
	out := make([]Product, len(s.products))
	for i, p := range s.products {
		p.Tags = append([]string(nil), p.Tags...)
		p.Variants = append([]Variant(nil), p.Variants...)
		out[i] = p
	}
	return out
}

// ListingPages returns the number of listing pages.
func (s *Shop) ListingPages() int { return (len(s.products) + s.opts.PerPage - 1) / s.opts.PerPage }

// ListingPath returns the path of listing page n (1-based): "/shop" for
// the first, "/shop?page=n" for the others.
func (s *Shop) ListingPath(n int) string {
	if n <= 1 {
		return "/shop"
	}
	return fmt.Sprintf("/shop?page=%d", n)
}

// PagePaths returns the paths (with queries) of every HTML page a complete
// crawl fetches: home, listings, products and /about, and, unless
// SitemapOnly, the /files/ index.
func (s *Shop) PagePaths() []string {
	paths := []string{"/", "/about"}
	if !s.opts.SitemapOnly {
		paths = append(paths, "/files/")
	}
	for n := 1; n <= s.ListingPages(); n++ {
		paths = append(paths, s.ListingPath(n))
	}
	for _, p := range s.products {
		paths = append(paths, p.Path)
	}
	return paths
}

// AssetPaths returns the paths of the assets the HTML pages embed: the
// stylesheet, the script, the logo and every product image.
func (s *Shop) AssetPaths() []string {
	paths := []string{"/static/shop.css", "/static/shop.js", "/static/logo.png"}
	for _, p := range s.products {
		paths = append(paths, p.Image)
	}
	return paths
}

// FilePaths returns the escaped paths of the files /files/ links to, as
// they are requested: names with spaces, encoded slashes and dot segments,
// characters file systems reject, and a query.
func (s *Shop) FilePaths() []string { return append([]string(nil), shopFiles...) }

// shopFiles are the awkward names under /files/, as escaped in links.
var shopFiles = []string{
	"/files/report%202024.pdf",
	"/files/a%2Fb.txt",
	"/files/..%2F..%2Fescape.txt",
	"/files/weird%3Cname%3E%3A%2A%7C.txt",
	"/files/back%5Cslash.txt",
	"/files/data?x=1&y=a/b",
	"/files/docs",
	"/files/docs/intro.txt",
	"/files/%2E%2E/%2E%2E/up.txt",
}

// FileBody returns the body served at a /files/ path (as requested, with
// its query).
func FileBody(requestURI string) []byte {
	return []byte("file at " + requestURI + "\n")
}

// Requests returns the number of GETs of a path with its query, such as
// "/shop?page=2", exactly as requested.
func (s *Shop) Requests(requestURI string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[requestURI]
}

// RequestURIs returns every path (with query) requested, sorted, with its
// count.
func (s *Shop) RequestURIs() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.requests))
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// Duplicates returns the request URIs fetched more than once, sorted.
func (s *Shop) Duplicates() []string {
	var dup []string
	for k, v := range s.RequestURIs() {
		if v > 1 {
			dup = append(dup, k)
		}
	}
	sort.Strings(dup)
	return dup
}

// ServeHTTP serves the shop. GET and HEAD are served; other methods get
// 405.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Method == http.MethodGet {
		s.mu.Lock()
		s.requests[r.RequestURI]++
		s.mu.Unlock()
	}
	s.serve(w, r)
}
