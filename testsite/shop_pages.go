package testsite

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
)

// shopPNG is a valid 1×1 PNG; each image appends its ID so bodies differ.
var shopPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// serve routes one request.
func (s *Shop) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	base := "http://" + r.Host
	switch {
	case path == "/":
		s.page(w, r, "Shop home", s.home())
	case path == "/about":
		s.page(w, r, "About us", `<h1>About</h1><p>We sell things.</p>`)
	case path == "/shop":
		n := 1
		if q := r.URL.Query().Get("page"); q != "" {
			v, err := strconv.Atoi(q)
			if err != nil || v < 1 || v > s.ListingPages() || r.URL.RawQuery != "page="+q || v == 1 {
				http.NotFound(w, r)
				return
			}
			n = v
		} else if r.URL.RawQuery != "" {
			http.NotFound(w, r)
			return
		}
		s.page(w, r, fmt.Sprintf("Shop, page %d", n), s.listing(n))
	case strings.HasPrefix(path, "/product/"):
		p, ok := s.productAt(path)
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.page(w, r, html.EscapeString(p.Name), s.detail(p))
	case strings.HasPrefix(path, "/img/"):
		id, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(path, "/img/"), ".png"))
		if err != nil || id < 1 || id > len(s.products) || path != s.products[id-1].Image {
			http.NotFound(w, r)
			return
		}
		writeBody(w, r, "image/png", append(append([]byte(nil), shopPNG...), strconv.Itoa(id)...))
	case path == "/static/shop.css":
		writeBody(w, r, "text/css", []byte("body { font-family: sans-serif; }\n.card { display: inline-block; }\n"))
	case path == "/static/shop.js":
		writeBody(w, r, "text/javascript", []byte("console.log('shop');\n"))
	case path == "/static/logo.png":
		writeBody(w, r, "image/png", shopPNG)
	case path == "/files/" && !s.opts.SitemapOnly:
		var b strings.Builder
		b.WriteString("<h1>Files</h1><ul>")
		for _, f := range shopFiles {
			fmt.Fprintf(&b, `<li><a href="%s">%s</a></li>`, html.EscapeString(f), html.EscapeString(f))
		}
		b.WriteString("</ul>")
		s.page(w, r, "Files", b.String())
	case strings.HasPrefix(path, "/files/") && !s.opts.SitemapOnly:
		writeBody(w, r, "application/octet-stream", FileBody(r.RequestURI))
	case path == "/robots.txt":
		writeBody(w, r, "text/plain; charset=utf-8", []byte("User-agent: *\nDisallow: /cart\n\nSitemap: "+base+"/sitemap_index.xml\n"))
	case path == "/sitemap_index.xml":
		writeBody(w, r, "application/xml", sitemapIndex(base+"/sitemaps/products.xml.gz", base+"/sitemaps/more.xml"))
	case path == "/sitemaps/more.xml":
		writeBody(w, r, "application/xml", sitemapIndex(base+"/sitemaps/listings.xml"))
	case path == "/sitemaps/listings.xml":
		var locs []string
		for n := 1; n <= s.ListingPages(); n++ {
			locs = append(locs, base+s.ListingPath(n))
		}
		writeBody(w, r, "application/xml", urlset(locs))
	case path == "/sitemaps/products.xml.gz":
		var locs []string
		for _, p := range s.products {
			locs = append(locs, base+p.Path)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(urlset(locs)) // a bytes.Buffer does not fail
		_ = zw.Close()
		writeBody(w, r, "application/gzip", gz.Bytes())
	case path == "/sitemap.xml":
		writeBody(w, r, "application/xml", urlset([]string{base + "/about"}))
	default:
		http.NotFound(w, r)
	}
}

func sitemapIndex(locs ...string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	for _, l := range locs {
		fmt.Fprintf(&b, "  <sitemap><loc>%s</loc><lastmod>2026-01-02</lastmod></sitemap>\n", html.EscapeString(l))
	}
	b.WriteString("</sitemapindex>\n")
	return b.Bytes()
}

func urlset(locs []string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">` + "\n")
	for _, l := range locs {
		fmt.Fprintf(&b, "  <url>\n    <loc>%s</loc>\n    <changefreq>daily</changefreq>\n  </url>\n", html.EscapeString(l))
	}
	b.WriteString("</urlset>\n")
	return b.Bytes()
}

// productAt finds the product whose detail page is at path.
func (s *Shop) productAt(path string) (Product, bool) {
	rest := strings.TrimPrefix(path, "/product/")
	id, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '/'), 0)])
	if err != nil || id < 1 || id > len(s.products) || s.products[id-1].Path != path {
		return Product{}, false
	}
	return s.products[id-1], true
}

// link returns an anchor, or only its text when the shop serves no links.
func (s *Shop) link(href, attrs, text string) string {
	if s.opts.SitemapOnly {
		return text
	}
	return fmt.Sprintf(`<a href="%s"%s>%s</a>`, html.EscapeString(href), attrs, text)
}

func (s *Shop) page(w http.ResponseWriter, r *http.Request, title, body string) {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n<title>")
	b.WriteString(title)
	b.WriteString("</title>\n<link rel=\"stylesheet\" href=\"/static/shop.css\">\n<script src=\"/static/shop.js\"></script>\n</head>\n<body>\n<header><img class=\"logo\" src=\"/static/logo.png\" alt=\"logo\">")
	b.WriteString(s.link("/", "", "Home") + " " + s.link("/shop", "", "Shop") + " " + s.link("/about", "", "About"))
	b.WriteString("</header>\n<main>\n")
	b.WriteString(body)
	b.WriteString("\n</main>\n</body></html>\n")
	writeBody(w, r, "text/html; charset=utf-8", []byte(b.String()))
}

func (s *Shop) home() string {
	return "<h1>Welcome</h1>\n<p>" + s.link("/shop", "", "Browse the shop") + " or see our " + s.link("/files/", "", "files") + ".</p>"
}

// money formats cents as "$1,234.56".
func money(cents int) string {
	d := strconv.Itoa(cents / 100)
	var b strings.Builder
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return fmt.Sprintf("$%s.%02d", b.String(), cents%100)
}

func (s *Shop) listing(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<h1>Products, page %d</h1>\n<div class=\"grid\">\n", n)
	lo, hi := (n-1)*s.opts.PerPage, min(n*s.opts.PerPage, len(s.products))
	for _, p := range s.products[lo:hi] {
		fmt.Fprintf(&b, "<div class=\"card\" data-id=\"%d\">\n  %s\n  <span class=\"price\">%s</span>\n  <img src=\"%s\" alt=\"\">\n</div>\n",
			p.ID, s.link(p.Path, ` class="title"`, html.EscapeString(p.Name)), money(p.PriceCents), p.Image)
	}
	b.WriteString("</div>\n<nav class=\"pages\">")
	for i := 1; i <= s.ListingPages(); i++ {
		b.WriteString(s.link(s.ListingPath(i), "", strconv.Itoa(i)) + " ")
	}
	if n < s.ListingPages() {
		b.WriteString(s.link(s.ListingPath(n+1), ` rel="next"`, "next"))
	}
	b.WriteString("</nav>")
	return b.String()
}

func (s *Shop) detail(p Product) string {
	var b strings.Builder
	// White space around the name and a nested element test trimming.
	fmt.Fprintf(&b, "<article class=\"product\" data-sku=\"%s\">\n<h1 class=\"name\">\n   %s\n</h1>\n", p.SKU, html.EscapeString(p.Name))
	fmt.Fprintf(&b, "<p class=\"price\">Price: <span>%s</span></p>\n", money(p.PriceCents))
	fmt.Fprintf(&b, "<p>SKU: <span class=\"sku\">%s</span></p>\n", p.SKU)
	stock := "Out of stock"
	if p.InStock {
		stock = "In stock"
	}
	fmt.Fprintf(&b, "<p class=\"stock\">%s</p>\n", stock)
	// A relative image reference, for the absurl transform.
	fmt.Fprintf(&b, "<img class=\"main\" src=\"../../img/%d.png\" alt=\"%s\">\n", p.ID, html.EscapeString(p.Name))
	b.WriteString("<ul class=\"tags\">")
	for _, t := range p.Tags {
		fmt.Fprintf(&b, "<li>%s</li>", t)
	}
	b.WriteString("</ul>\n<table class=\"variants\">\n")
	for _, v := range p.Variants {
		fmt.Fprintf(&b, "<tr class=\"variant\"><td class=\"size\">%s</td><td class=\"vprice\">%s</td></tr>\n", v.Size, money(v.PriceCents))
	}
	fmt.Fprintf(&b, "</table>\n<div class=\"description\"><p>The \"%s\", in stock: %t, priced to sell.</p></div>\n",
		html.EscapeString(p.Name), p.InStock)
	b.WriteString("<aside class=\"related\">")
	for _, id := range []int{p.ID%len(s.products) + 1, (p.ID+6)%len(s.products) + 1} {
		r := s.products[id-1]
		b.WriteString(s.link(r.Path+"?ref=related", "", html.EscapeString(r.Name)) + " ")
	}
	b.WriteString("</aside>\n<nav class=\"crumbs\">" + s.link("/shop", "", "Back to the shop") + "</nav>\n</article>")
	return b.String()
}
