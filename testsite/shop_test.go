package testsite

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestShopServesEveryPath(t *testing.T) {
	shop := NewShop(ShopOptions{Products: 23, PerPage: 5})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	paths := append(shop.PagePaths(), shop.AssetPaths()...)
	paths = append(paths, shop.FilePaths()...)
	paths = append(paths, "/robots.txt", "/sitemap_index.xml", "/sitemaps/more.xml", "/sitemaps/listings.xml", "/sitemaps/products.xml.gz", "/sitemap.xml")
	for _, p := range paths {
		if code, _ := get(p); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
	for _, p := range []string{"/shop?page=1", "/shop?page=6", "/shop?page=x", "/product/3/nope", "/img/0.png", "/nope"} {
		if code, _ := get(p); code != 404 {
			t.Errorf("%s: %d, want 404", p, code)
		}
	}
	if shop.ListingPages() != 5 {
		t.Errorf("%d listing pages, want 5", shop.ListingPages())
	}
	_, body := get(shop.Products()[8].Path)
	if !strings.Contains(body, "&amp;") || !strings.Contains(body, "?ref=related") {
		t.Errorf("detail page lacks an escaped name or related links:\n%s", body)
	}
	if got := money(123456789); got != "$1,234,567.89" {
		t.Errorf("money = %s", got)
	}
}

func TestShopSitemapOnlyHasNoLinks(t *testing.T) {
	shop := NewShop(ShopOptions{SitemapOnly: true})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	for _, p := range shop.PagePaths() {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.Contains(string(b), "<a ") {
			t.Errorf("%s: status %d or a link in\n%s", p, resp.StatusCode, b)
		}
	}
}
