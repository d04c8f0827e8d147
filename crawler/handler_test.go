package crawler_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/testsite"
	"github.com/hivecrawl/crawl/urlnorm"
)

// recorder is a Handler that keeps every Page.
type recorder struct {
	mu    sync.Mutex
	pages map[string]*crawler.Page
	dups  []string
}

func (r *recorder) HandlePage(_ context.Context, p *crawler.Page) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pages == nil {
		r.pages = make(map[string]*crawler.Page)
	}
	if _, ok := r.pages[p.Result.URL]; ok {
		r.dups = append(r.dups, p.Result.URL)
	}
	r.pages[p.Result.URL] = p
	return nil
}

func shopExtractor(t *testing.T) *parse.Extractor {
	t.Helper()
	ex, err := parse.NewExtractor([]parse.Rule{{
		Name: "product", URL: `/product/`,
		Fields: []parse.FieldRule{{Name: "name", Selector: "h1.name", Transform: []string{"collapse"}, Required: true}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func TestHandlerSeesPagesAndAssets(t *testing.T) {
	shop := testsite.NewShop(testsite.ShopOptions{Products: 12, PerPage: 5})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	rec := &recorder{}
	var sunk bytes.Buffer
	sink := output.NewJSONLines(&sunk)
	c, err := crawler.New(crawler.Config{
		Concurrency: 4, PerHost: 4, Rate: -1,
		Normalizer: urlnorm.Normalizer{StripParams: []string{"ref"}},
		Assets:     true,
		MaxDepth:   1, // assets are fetched whatever the depth
		Handler:    crawler.Handlers(rec, sink),
		Extractor:  shopExtractor(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.dups) > 0 {
		t.Errorf("handled twice: %q", rec.dups)
	}
	if n := int64(strings.Count(sunk.String(), "\n")); n != int64(len(rec.pages)) {
		t.Errorf("%d records in the sink, %d pages handled", n, len(rec.pages))
	}
	var pages, assets, items int64
	for u, p := range rec.pages {
		path := strings.TrimPrefix(u, srv.URL)
		if p.Result.Status != 200 || p.Header == nil || p.Header.Get("Content-Type") == "" {
			t.Errorf("%s: status %d, header %v", path, p.Result.Status, p.Header)
			continue
		}
		if p.Result.Asset {
			assets++
			if p.Parsed != nil || len(p.Items) > 0 || p.Result.Depth < 1 {
				t.Errorf("asset %s: parsed %v, %d items, depth %d", path, p.Parsed != nil, len(p.Items), p.Result.Depth)
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			if !bytes.Equal(body.Bytes(), p.Body) {
				t.Errorf("asset %s: body differs from the server's", path)
			}
			continue
		}
		pages++
		if p.Parsed == nil && strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: HTML page not parsed", path)
		}
		items += int64(len(p.Items))
		if strings.HasPrefix(path, "/product/") != (len(p.Items) == 1) {
			t.Errorf("%s: %d items", path, len(p.Items))
		}
	}
	// Depth 1 reaches the home page's links: the shop, about, files.
	if sum.Assets != assets || sum.Done != pages || sum.Failed != 0 {
		t.Errorf("summary %+v: %d pages and %d assets handled", sum, pages, assets)
	}
	if wantAssets := int64(3 + 5); assets != wantAssets { // static files, and the first listing's images
		t.Errorf("%d assets, want %d", assets, wantAssets)
	}
	if items != 0 {
		t.Errorf("%d items at depth 1: no product page is that close", items)
	}
}

func TestAssetsTakeNoPageBudget(t *testing.T) {
	shop := testsite.NewShop(testsite.ShopOptions{})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	c, err := crawler.New(crawler.Config{Concurrency: 2, PerHost: 2, Rate: -1, MaxPages: 2, Assets: true})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if sum.Done != 2 || sum.Assets == 0 {
		t.Errorf("summary %+v: want 2 pages and their assets", sum)
	}
}

func TestHandlerErrorStopsCrawl(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 400, LinksPerPage: 6, PageBytes: 256})
	srv := httptest.NewServer(site)
	defer srv.Close()
	boom := errors.New("disk full")
	var mu sync.Mutex
	handled := 0
	var sunk bytes.Buffer
	sink := output.NewJSONLines(&sunk)
	c, err := crawler.New(crawler.Config{
		Concurrency: 2, PerHost: 2, Rate: -1, IgnoreRobots: true,
		Handler: crawler.Handlers(nil, crawler.HandlerFunc(func(context.Context, *crawler.Page) error {
			mu.Lock()
			defer mu.Unlock()
			if handled++; handled > 5 {
				return boom
			}
			return nil
		}), sink),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = c.Run(ctx, srv.URL+"/")
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want the handler's error", err)
	}
	if n := strings.Count(sunk.String(), "\n"); n != 5 {
		t.Errorf("%d records written, want the 5 handled without error", n)
	}
}

func TestSitemapsSeedTheCrawl(t *testing.T) {
	shop := testsite.NewShop(testsite.ShopOptions{Products: 20, PerPage: 4, SitemapOnly: true})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	rec := &recorder{}
	c, err := crawler.New(crawler.Config{Concurrency: 4, PerHost: 4, Rate: -1, Sitemaps: true, Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range shop.PagePaths() {
		got, ok := rec.pages[srv.URL+p]
		if !ok {
			t.Errorf("%s not crawled", p)
			continue
		}
		if p != "/" && !strings.Contains(got.Result.Parent, "sitemap") {
			t.Errorf("%s: parent %q, want the sitemap that listed it", p, got.Result.Parent)
		}
	}
	if want := int64(len(shop.PagePaths()) - 1); sum.SitemapURLs != want || sum.Done != want+1 {
		t.Errorf("summary %+v: want %d sitemap URLs", sum, want)
	}
	if n := shop.Requests("/sitemaps/products.xml.gz"); n != 1 {
		t.Errorf("gzip sitemap fetched %d times", n)
	}
}

// TestSitemapFetchesArePolite checks that sitemap documents, leased from
// the frontier like pages, are spaced by the host's delay like pages, and
// that they add no more URLs than MaxPages can use.
func TestSitemapFetchesArePolite(t *testing.T) {
	shop := testsite.NewShop(testsite.ShopOptions{Products: 20, PerPage: 4, SitemapOnly: true})
	var mu sync.Mutex
	var times []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "sitemap") {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
		}
		shop.ServeHTTP(w, r)
	}))
	defer srv.Close()
	const rate = 10 // requests per second: 100 ms apart
	c, err := crawler.New(crawler.Config{Concurrency: 4, PerHost: 4, Rate: rate, Sitemaps: true, MaxPages: 3})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(times) < 2 {
		t.Fatalf("%d sitemap requests; the shop has an index and several sitemaps", len(times))
	}
	for i := 1; i < len(times); i++ {
		// Slack for the requests' own travel times, which the server's
		// clock sees; sent back to back they would be a millisecond apart.
		if gap := times[i].Sub(times[i-1]); gap < time.Second/rate/2 {
			t.Errorf("sitemap requests %d and %d %v apart; want at least %v", i, i+1, gap, time.Second/rate)
		}
	}
	if sum.SitemapURLs > 3 {
		t.Errorf("sitemaps added %d URLs with MaxPages 3", sum.SitemapURLs)
	}
}
