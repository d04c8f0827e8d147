package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base32"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nlnwa/gowarc/v3"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/testsite"
)

// readLines decodes a JSON lines file into values of type T.
func readLines[T any](t *testing.T, path string) []T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s does not end with a whole line", path)
	}
	return out
}

// productItem is an item of the product rule of configs/products.yaml.
type productItem struct {
	URL      string   `json:"url"`
	Rule     string   `json:"rule"`
	ID       *float64 `json:"id"`
	Name     string   `json:"name"`
	Price    *float64 `json:"price"`
	SKU      string   `json:"sku"`
	InStock  string   `json:"in_stock"`
	Image    string   `json:"image"`
	Tags     []string `json:"tags"`
	Variants []struct {
		Size  string   `json:"size"`
		Price *float64 `json:"price"`
	} `json:"variants"`
	Description string `json:"description"`
	Link        string `json:"link"` // card rule
}

func cents(f *float64) int {
	if f == nil {
		return -1
	}
	return int(math.Round(*f * 100))
}

// checkProduct compares an extracted product with the shop's own record.
func checkProduct(t *testing.T, base string, it productItem, p testsite.Product) {
	t.Helper()
	stock := "Out of stock"
	if p.InStock {
		stock = "In stock"
	}
	switch {
	case it.URL != base+p.Path:
		t.Errorf("product %d: url %q, want %q", p.ID, it.URL, base+p.Path)
	case it.Name != p.Name:
		t.Errorf("product %d: name %q, want %q", p.ID, it.Name, p.Name)
	case cents(it.Price) != p.PriceCents:
		t.Errorf("product %d: price %v, want %d cents", p.ID, it.Price, p.PriceCents)
	case it.SKU != p.SKU || it.InStock != stock:
		t.Errorf("product %d: sku %q stock %q", p.ID, it.SKU, it.InStock)
	case it.Image != base+p.Image:
		t.Errorf("product %d: image %q, want %q", p.ID, it.Image, base+p.Image)
	case !slices.Equal(it.Tags, p.Tags):
		t.Errorf("product %d: tags %q, want %q", p.ID, it.Tags, p.Tags)
	case len(it.Variants) != len(p.Variants):
		t.Errorf("product %d: %d variants, want %d", p.ID, len(it.Variants), len(p.Variants))
	case !strings.Contains(it.Description, "priced to sell") || !strings.HasPrefix(it.Description, "<p>"):
		t.Errorf("product %d: description %q", p.ID, it.Description)
	}
	for i, v := range it.Variants {
		if i < len(p.Variants) && (v.Size != p.Variants[i].Size || cents(v.Price) != p.Variants[i].PriceCents) {
			t.Errorf("product %d: variant %d is %+v, want %+v", p.ID, i, v, p.Variants[i])
		}
	}
}

func TestProductsPipeline(t *testing.T) {
	shop := testsite.NewShop(testsite.ShopOptions{Products: 43, PerPage: 7})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	dir := t.TempDir()
	path := func(name string) string { return filepath.Join(dir, name) }
	var stderr bytes.Buffer
	err := run(context.Background(), []string{
		"--config", "../../configs/products.yaml", "--quiet",
		"-o", path("pages.jsonl"), "--items", path("items.jsonl"), "--items-csv", path("items.csv"),
		"--warc", path("crawl.warc.gz"), "--save", path("site"), "--assets",
		srv.URL + "/",
	}, &bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if d := shop.Duplicates(); len(d) > 0 {
		t.Errorf("fetched more than once: %q", d)
	}
	for _, p := range append(shop.PagePaths(), shop.AssetPaths()...) {
		if shop.Requests(p) != 1 {
			t.Errorf("%s fetched %d times, want 1", p, shop.Requests(p))
		}
	}
	products := shop.Products()

	// Items as JSON lines: every product once from its page, once from its card.
	items := readLines[productItem](t, path("items.jsonl"))
	byRule := map[string]map[string]productItem{"product": {}, "card": {}}
	for _, it := range items {
		m, ok := byRule[it.Rule]
		if !ok {
			t.Fatalf("item of unknown rule %q", it.Rule)
		}
		key := it.URL
		if it.Rule == "card" {
			key = it.Link
		}
		if _, dup := m[key]; dup {
			t.Errorf("%s item for %s extracted twice", it.Rule, key)
		}
		m[key] = it
	}
	if len(byRule["product"]) != len(products) || len(byRule["card"]) != len(products) {
		t.Errorf("%d product and %d card items, want %d of each", len(byRule["product"]), len(byRule["card"]), len(products))
	}
	for _, p := range products {
		it, ok := byRule["product"][srv.URL+p.Path]
		if !ok {
			t.Errorf("product %d (%s) not extracted", p.ID, p.Path)
			continue
		}
		if cents(it.ID) != p.ID*100 {
			t.Errorf("product %d: id %v", p.ID, it.ID)
		}
		checkProduct(t, srv.URL, it, p)
		card, ok := byRule["card"][srv.URL+p.Path]
		if !ok || card.Name != p.Name || cents(card.Price) != p.PriceCents {
			t.Errorf("product %d: card %+v", p.ID, card)
		}
	}

	// Items as CSV: the header is the rules' fields; nested values are JSON.
	f, err := os.Open(path("items.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("items.csv: %v", err)
	}
	wantHeader := []string{"url", "rule", "id", "name", "price", "sku", "in_stock", "image", "tags", "variants", "description", "link"}
	if len(rows) == 0 || !slices.Equal(rows[0], wantHeader) {
		t.Fatalf("csv header %q, want %q", rows[0], wantHeader)
	}
	if len(rows)-1 != len(items) {
		t.Errorf("%d csv rows, %d json items", len(rows)-1, len(items))
	}
	seen := make(map[string]bool)
	for _, row := range rows[1:] {
		if row[1] != "product" {
			continue
		}
		var it productItem
		it.URL, it.Name, it.SKU, it.InStock, it.Image, it.Description = row[0], row[3], row[5], row[6], row[7], row[10]
		price, err := strconv.ParseFloat(row[4], 64)
		if err != nil {
			t.Errorf("csv price %q: %v", row[4], err)
		}
		it.Price = &price
		if err := json.Unmarshal([]byte(row[8]), &it.Tags); err != nil {
			t.Errorf("csv tags %q: %v", row[8], err)
		}
		if err := json.Unmarshal([]byte(row[9]), &it.Variants); err != nil {
			t.Errorf("csv variants %q: %v", row[9], err)
		}
		id, _ := strconv.Atoi(row[2])
		if id < 1 || id > len(products) || seen[row[0]] {
			t.Errorf("csv row with id %q (url %s) out of range or repeated", row[2], row[0])
			continue
		}
		seen[row[0]] = true
		checkProduct(t, srv.URL, it, products[id-1])
	}
	if len(seen) != len(products) {
		t.Errorf("%d product rows in csv, want %d", len(seen), len(products))
	}

	records := readLines[crawler.Result](t, path("pages.jsonl"))
	checkWARC(t, path("crawl.warc.gz"), records)
	checkSaved(t, shop, srv.URL, path("site"), records)
}

// checkWARC reads the archive back with gowarc and checks that every
// response the crawl got is in it once, with its request, and that the
// payload digest matches the payload and the body the server sends.
func checkWARC(t *testing.T, file string, records []crawler.Result) {
	t.Helper()
	want := make(map[string]bool)
	for _, r := range records {
		if r.Status != 0 {
			want[r.FinalURL] = true
		}
	}
	r, err := gowarc.NewWarcFileReader(file, 0, gowarc.WithStrictValidation())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	responses := make(map[string]string) // target → record id
	requests := make(map[string]string)  // concurrent-to → target
	infos := 0
	for rec, err := range r.Records() {
		if err != nil {
			t.Fatalf("reading the warc: %v", err)
		}
		if len(rec.Validation) > 0 {
			t.Errorf("record at %d: %v", rec.Offset, rec.Validation)
		}
		wr := rec.WarcRecord
		target := wr.WarcHeader().Get(gowarc.WarcTargetURI)
		switch wr.Type() {
		case gowarc.Warcinfo:
			infos++
		case gowarc.Request:
			requests[wr.WarcHeader().GetId(gowarc.WarcConcurrentTo)] = target
		case gowarc.Response:
			if _, dup := responses[target]; dup {
				t.Errorf("%s archived twice", target)
			}
			responses[target] = wr.RecordId()
			block, ok := wr.Block().(gowarc.HttpResponseBlock)
			if !ok {
				t.Errorf("%s: block is %T", target, wr.Block())
				break
			}
			pr, err := block.PayloadBytes()
			if err != nil {
				t.Fatal(err)
			}
			payload, err := io.ReadAll(pr)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha1.Sum(payload)
			digest := "sha1:" + base32.StdEncoding.EncodeToString(sum[:])
			if got := wr.WarcHeader().Get(gowarc.WarcPayloadDigest); got != digest {
				t.Errorf("%s: payload digest %s, payload hashes to %s", target, got, digest)
			}
			if block.HttpStatusCode() == 200 {
				resp, err := http.Get(target)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if sum2 := sha1.Sum(body); sum2 != sum {
					t.Errorf("%s: archived payload differs from the served body", target)
				}
			}
		}
		rec.Close()
	}
	if infos != 1 {
		t.Errorf("%d warcinfo records, want 1", infos)
	}
	for u := range want {
		id, ok := responses[u]
		if !ok {
			t.Errorf("%s fetched but not archived", u)
			continue
		}
		if requests[id] != u {
			t.Errorf("%s: no request record concurrent to its response", u)
		}
	}
	if len(responses) != len(want) {
		t.Errorf("%d responses archived, %d fetched", len(responses), len(want))
	}
}

// checkSaved checks the --save tree: every 2xx body where wget -x would put
// it, names escaped, nothing but files and directories, nothing else.
func checkSaved(t *testing.T, shop *testsite.Shop, base, dir string, records []crawler.Result) {
	t.Helper()
	u, _ := url.Parse(base)
	host := u.Host // wget's "host:port"
	want := map[string]bool{}
	for _, r := range records {
		if r.Status != 200 {
			continue
		}
		rel, err := output.SavePath(r.FinalURL)
		if err != nil {
			t.Fatal(err)
		}
		want[rel] = true
	}
	// Spot checks of the layout, relative to DIR/host.
	for _, p := range []string{
		"index.html", "shop", "shop?page=2", "about", "files/index.html",
		strings.TrimPrefix(shop.Products()[8].Path, "/"),
		"img/9.png", "static/shop.css", "static/shop.js", "static/logo.png",
		"files/report 2024.pdf", "files/a%2Fb.txt", "files/..%2F..%2Fescape.txt",
		"files/weird%3Cname%3E%3A%2A%7C.txt", "files/back%5Cslash.txt",
		"files/data?x=1&y=a%2Fb", "files/docs/index.html", "files/docs/intro.txt",
	} {
		rel := filepath.Join(host, filepath.FromSlash(p))
		if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
			t.Errorf("not saved: %s (%v)", rel, err)
		}
	}
	got := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir(), rel == output.IndexName:
			return nil
		case !d.Type().IsRegular():
			t.Errorf("%s is not a regular file", rel)
		case strings.HasSuffix(rel, "~"):
			t.Errorf("temporary file left behind: %s", rel)
		}
		got[rel] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// "/files/docs" was moved into the directory "/files/docs/" needs.
	moved := filepath.Join(host, "files", "docs")
	if want[moved] {
		delete(want, moved)
		want[filepath.Join(moved, "index.html")] = true
	}
	for rel := range want {
		if !got[rel] {
			t.Errorf("%s missing from the tree", rel)
		}
	}
	for rel := range got {
		if !want[rel] {
			t.Errorf("%s in the tree, not fetched", rel)
		}
	}
	body, err := os.ReadFile(filepath.Join(dir, host, "files", "..%2F..%2Fescape.txt"))
	if err != nil || string(body) != string(testsite.FileBody("/files/..%2F..%2Fescape.txt")) {
		t.Errorf("escape.txt: %q, %v", body, err)
	}
}

func TestSitemapOnlySite(t *testing.T) {
	shop := testsite.NewShop(testsite.ShopOptions{Products: 31, PerPage: 6, SitemapOnly: true})
	srv := httptest.NewServer(shop)
	defer srv.Close()
	for _, sitemaps := range []bool{false, true} {
		t.Run("sitemaps="+strconv.FormatBool(sitemaps), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "pages.jsonl")
			args := []string{"--rate", "0", "--per-host", "4", "--quiet", "-o", out, srv.URL + "/"}
			if sitemaps {
				args = append([]string{"--sitemaps"}, args...)
			}
			var stderr bytes.Buffer
			if err := run(context.Background(), args, &bytes.Buffer{}, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			got := map[string]bool{}
			for _, r := range readLines[crawler.Result](t, out) {
				if r.Status != 200 || r.Error != "" {
					t.Errorf("%s: status %d, error %s", r.URL, r.Status, r.Error)
				}
				got[strings.TrimPrefix(r.URL, srv.URL)] = true
			}
			if !sitemaps {
				if len(got) != 1 {
					t.Errorf("without --sitemaps, %d pages fetched: the site has no links", len(got))
				}
				return
			}
			for _, p := range shop.PagePaths() {
				if !got[p] {
					t.Errorf("%s not crawled", p)
				}
			}
			if len(got) != len(shop.PagePaths()) {
				t.Errorf("%d pages crawled, want %d", len(got), len(shop.PagePaths()))
			}
			if !strings.Contains(stderr.String(), "sitemap URLs queued "+strconv.Itoa(len(shop.PagePaths())-1)) {
				t.Errorf("stderr: %s", stderr.String())
			}
		})
	}
}

func TestBadRuleExitsTwo(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, yaml, want string
	}{
		{"bad selector", "rules:\n  - name: shoes\n    fields:\n      - {name: title, selector: 'h1[class='}\n", `"shoes"`},
		{"bad regex", "rules:\n  - name: hats\n    fields:\n      - {name: p, selector: p, transform: ['regex:(']}\n", `"hats"`},
		{"bad url pattern", "rules:\n  - name: bags\n    url: '(['\n    fields:\n      - {name: p, selector: p}\n", `"bags"`},
		{"unknown transform", "rules:\n  - name: caps\n    fields:\n      - {name: p, selector: p, transform: [shout]}\n", "shout"},
		{"unknown key", "rules:\n  - name: socks\n    fields:\n      - {name: p, selectr: p}\n", "selectr"},
		{"items without rules", "items: out.jsonl\n", "rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			err := run(context.Background(), []string{"--config", path, "http://127.0.0.1:1/"}, &bytes.Buffer{}, &stderr)
			if code := exitCode(err); code != exitUsage {
				t.Fatalf("exit %d (%v), want %d", code, err, exitUsage)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q: want one line naming %s", stderr.String(), tt.want)
			}
		})
	}
}

// TestSaveNamesLikeTemporaryFiles crawls a site whose URLs are named like
// the --save tree's temporary files, in the order that used to make a
// save fail and stop the crawl, and checks that the crawl ends well with
// every body saved.
func TestSaveNamesLikeTemporaryFiles(t *testing.T) {
	pages := map[string]string{ // path → the links of its page
		"/":            `<a href="/.a.tmp~/b">b</a>`,
		"/.a.tmp~/b":   `<a href="/a">a</a> <a href="/.c.tmp~">c</a>`,
		"/a":           `<a href="/c">c</a> <a href="/d.moving~/x">x</a>`,
		"/.c.tmp~":     "",
		"/c":           "",
		"/d.moving~/x": `<a href="/d">d</a>`,
		"/d":           `<a href="/d/e">e</a>`,
		"/d/e":         "",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		links, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><title>"+r.URL.Path+"</title>"+links+"</html>")
	}))
	defer srv.Close()
	dir := t.TempDir()
	save := filepath.Join(dir, "site")
	var stderr bytes.Buffer
	// One worker: each page is saved before the pages it links to are fetched.
	err := run(context.Background(), []string{"--concurrency", "1", "--rate", "0", "--quiet",
		"-o", filepath.Join(dir, "pages.jsonl"), "--save", save, srv.URL + "/"}, io.Discard, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	u, _ := url.Parse(srv.URL)
	host := u.Host
	for path, file := range map[string]string{
		"/":            "index.html",
		"/.a.tmp~/b":   ".a.tmp~/b",
		"/a":           "a",
		"/.c.tmp~":     ".c.tmp~",
		"/c":           "c",
		"/d.moving~/x": "d.moving~/x",
		"/d":           "d/index.html",
		"/d/e":         "d/e",
	} {
		body, err := os.ReadFile(filepath.Join(save, host, filepath.FromSlash(file)))
		if err != nil || !strings.Contains(string(body), "<title>"+path+"</title>") {
			t.Errorf("%s: saved as %s: %.60q, %v", path, file, body, err)
		}
	}
	if !strings.Contains(stderr.String(), "files saved 8\n") || strings.Contains(stderr.String(), "not saved") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// TestResumeWritesItemsThrough checks that a resumable crawl (appendTo,
// as with --state or --frontier) has every item of a page in --items and
// --items-csv when the handler returns, before any flush or close: the
// crawl commits the URL's completion next, and would not fetch it again
// after a kill. Without appendTo the items wait in the buffers.
func TestResumeWritesItemsThrough(t *testing.T) {
	page := &crawler.Page{Items: []parse.Item{
		{URL: "https://a.test/1", Rule: "p", Fields: parse.Record{{Name: "name", Value: "Salt\nfine"}}},
		{URL: "https://a.test/1", Rule: "p", Fields: parse.Record{{Name: "name", Value: "Pepper"}}},
	}}
	tests := []struct {
		appendTo bool
		wantJSON string
		wantCSV  string
	}{
		{true,
			`{"url":"https://a.test/1","rule":"p","name":"Salt\nfine"}` + "\n" + `{"url":"https://a.test/1","rule":"p","name":"Pepper"}` + "\n",
			"url,rule,name\nhttps://a.test/1,p,\"Salt\nfine\"\nhttps://a.test/1,p,Pepper\n"},
		{false, "", ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint("appendTo=", tt.appendTo), func(t *testing.T) {
			dir := t.TempDir()
			o := pipelineOptions{
				Rules:    []parse.Rule{{Name: "p", Fields: []parse.FieldRule{{Name: "name", Selector: "h1"}}}},
				Items:    filepath.Join(dir, "items.jsonl"),
				ItemsCSV: filepath.Join(dir, "items.csv"),
			}
			p, err := o.setup(io.Discard, slog.New(slog.DiscardHandler), tt.appendTo, crawler.DefaultUserAgent)
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			if err := crawler.Handlers(p.handlers...).HandlePage(context.Background(), page); err != nil {
				t.Fatal(err)
			}
			for file, want := range map[string]string{o.Items: tt.wantJSON, o.ItemsCSV: tt.wantCSV} {
				got, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					t.Errorf("%s holds %q when the handler returns, want %q", filepath.Base(file), got, want)
				}
			}
		})
	}
}
