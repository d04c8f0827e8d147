package crawler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
)

// TestStylesheetAssets checks that a style sheet fetched as an asset is
// scanned for its url() and @import references, which are fetched as
// assets one level further, and that text/css alone is scanned.
func TestStylesheetAssets(t *testing.T) {
	mux := http.NewServeMux()
	serve := func(path, ctype, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			fmt.Fprint(w, body)
		})
	}
	serve("/{$}", "text/html", `<link rel=stylesheet href="/s/site.css?v=3"><img src="/i/logo.png"><a href="/p">p</a>`)
	serve("/p", "text/html", `<p>page</p>`)
	serve("/s/site.css", "text/css; charset=utf-8", `@import "base.css"; body{background:url(../i/bg.png)} /* url(/i/no.png) */`)
	serve("/s/base.css", "text/css", `@font-face{src:url("/f/font.woff2")} a{b:url(//elsewhere.example/x.png)}`)
	serve("/i/", "image/png", "PNG")
	serve("/f/", "font/woff2", "WOFF")
	srv := httptest.NewServer(mux)
	defer srv.Close()

	rec := &recorder{}
	c, err := crawler.New(crawler.Config{Concurrency: 2, PerHost: 2, Rate: -1, Assets: true, IgnoreRobots: true, Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{ // asset path → Result.Depth
		"/s/site.css?v=3": 1, "/i/logo.png": 1,
		"/s/base.css": 2, "/i/bg.png": 2,
		"/f/font.woff2": 3,
	}
	got := map[string]int{}
	for u, p := range rec.pages {
		if p.Result.Asset {
			got[strings.TrimPrefix(u, srv.URL)] = p.Result.Depth
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("assets (path: depth) = %v\nwant %v", got, want)
	}
	if p := rec.pages[srv.URL+"/p"]; p == nil || p.Result.Asset {
		t.Errorf("/p: want a page, got %+v", p)
	}
}

// TestStylesheetImportChainEnds checks that an endless chain of @import
// ends under MaxDepth.
func TestStylesheetImportChainEnds(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<link rel=stylesheet href="/c/0.css">`)
	})
	mux.HandleFunc("/c/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimSuffix(r.PathValue("n"), ".css"))
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprintf(w, `@import "%d.css";`, n+1)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := crawler.New(crawler.Config{Concurrency: 2, PerHost: 2, Rate: -1, Assets: true, IgnoreRobots: true, MaxDepth: 2})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := c.Run(context.Background(), srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	// The page at depth 0 embeds 0.css (asset depth 1); the chain goes on
	// to asset depth MaxDepth+1+8 = 11, and that one's import is dropped.
	if sum.Assets != 11 {
		t.Errorf("summary %+v: want 11 style sheets", sum)
	}
}
