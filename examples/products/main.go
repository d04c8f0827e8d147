// Command products is a complete scraping pipeline on the crawl library:
// it crawls a shop, extracts one item per product page with extraction
// rules, and writes the items as JSON lines to stdout (and as CSV with
// -csv FILE).
//
//	go run ./examples/products                      # crawls a shop it serves itself
//	go run ./examples/products https://shop.example/ -csv products.csv
//
// With no URL it starts the project's test shop on a loopback port and
// crawls that, so it runs offline. The crawl streams through
// Crawler.Pages: a slow writer slows the crawl down instead of buffering.
//
// It imports crawler, output, parse and testsite of this module, as a
// user's program would (testsite only for the shop it serves offline).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/signal"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/testsite"
)

// rules are the extraction rules, as configs/products.yaml has them in
// YAML: one item per product detail page.
var rules = []parse.Rule{{
	Name: "product",
	URL:  `/product/\d+/[^/?]+$`,
	Fields: []parse.FieldRule{
		{Name: "name", Selector: "h1.name", Transform: []string{"collapse"}, Required: true},
		{Name: "price", Selector: ".price span", Transform: []string{`regex:([\d,]+\.\d{2})`, "number"}},
		{Name: "sku", Selector: ".sku", Transform: []string{"trim"}},
		{Name: "image", Selector: "img.main", Attr: "src", Transform: []string{"absurl"}},
		{Name: "tags", Selector: "ul.tags li", List: true},
		{Name: "variants", Selector: "tr.variant", Fields: []parse.FieldRule{
			{Name: "size", Selector: ".size"},
			{Name: "price", Selector: ".vprice", Transform: []string{`regex:([\d,]+\.\d{2})`, "number"}},
		}},
	},
}}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "products:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("products", flag.ContinueOnError)
	fs.SetOutput(stderr)
	csvPath := fs.String("csv", "", "also write the items as CSV to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	seed := fs.Arg(0)
	if seed == "" {
		shop := httptest.NewServer(testsite.NewShop(testsite.ShopOptions{}))
		defer shop.Close()
		seed = shop.URL + "/"
		fmt.Fprintln(stderr, "products: crawling the test shop at", seed)
	}

	extractor, err := parse.NewExtractor(rules)
	if err != nil {
		return err // a bad selector or regex: caught before any request
	}
	items := output.NewJSONItems(stdout)
	handlers := []crawler.Handler{items}
	if *csvPath != "" {
		f, err := os.Create(*csvPath)
		if err != nil {
			return err
		}
		defer f.Close()
		csvItems, err := output.NewCSVItems(f, extractor.Columns(), true)
		if err != nil {
			return err
		}
		defer csvItems.Flush()
		handlers = append(handlers, csvItems)
	}

	cfg := crawler.DefaultConfig() // robots.txt, retries and grace as on the command line
	cfg.Concurrency, cfg.PerHost, cfg.Rate = 4, 4, 20
	// Related-product links carry ?ref=related: one URL per product.
	cfg.Normalizer.StripParams = []string{"ref"}
	cfg.Extractor = extractor
	c, err := crawler.New(cfg)
	if err != nil {
		return err
	}
	pages, failed := 0, 0
	for page, err := range c.Pages(ctx, seed) {
		if err != nil {
			return errors.Join(err, items.Flush())
		}
		pages++
		if page.Result.Error != "" {
			failed++
			fmt.Fprintf(stderr, "products: %s: %s\n", page.Result.URL, page.Result.Error)
		}
		for _, h := range handlers {
			if err := h.HandlePage(ctx, page); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stderr, "products: %d pages (%d failed), %d items\n", pages, failed, items.Items())
	return items.Flush()
}
