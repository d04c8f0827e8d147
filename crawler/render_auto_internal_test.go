package crawler

import (
	"fmt"
	"testing"

	"github.com/hivecrawl/crawl/parse"
)

func TestPathTemplate(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://a.test/", "/"},
		{"http://a.test/app/", "/app/"},
		{"http://a.test/app/item/17", "/app/item/*"},
		{"http://a.test/p/item-17/reviews?page=2", "/p/*/reviews"},
		{"http://a.test/blog/0f8e5c0a-1b2c-4d3e-9f00-aabbccddeeff", "/blog/*"},
		{"http://a.test/about", "/about"},
	} {
		if got := pathTemplate(tt.in); got != tt.want {
			t.Errorf("pathTemplate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHasScript(t *testing.T) {
	for _, tt := range []struct {
		body string
		want bool
	}{
		{"<p>no</p>", false}, {"<SCRIPT src=x>", true}, {"<p>x</p><script>", true}, {"<scrip", false}, {"", false}, {"<noscript>", false},
	} {
		if got := hasScript([]byte(tt.body)); got != tt.want {
			t.Errorf("hasScript(%q) = %v", tt.body, got)
		}
	}
}

// TestAutoRenderDecide runs the heuristic over pages of a server-rendered
// pattern (rendering finds nothing) and of an app pattern (it finds
// more): the first is rendered once, then once per autoRecheck pages;
// the app shells always.
func TestAutoRenderDecide(t *testing.T) {
	a := newAutoRender()
	full := &parse.Page{Title: "Page", Found: 3, Links: []string{"http://a.test/x"}}
	shell := &parse.Page{Title: "Loading"}
	script := []byte("<html><script src=/a.js></script></html>")
	rendered := 0
	const n = 90
	for i := 1; i <= n; i++ {
		key, render, compare := a.decide(fmt.Sprintf("http://a.test/pages/%d", i), full, script)
		if render {
			rendered++
		}
		if compare {
			a.learn(key, foundMore(full, full, nil))
		}
	}
	if want := 1 + n/autoRecheck; rendered != want {
		t.Errorf("server pattern: %d of %d rendered, want %d", rendered, n, want)
	}
	for i := 1; i <= 10; i++ {
		key, render, compare := a.decide(fmt.Sprintf("http://a.test/app/item/%d", i), shell, script)
		if !render || !compare {
			t.Fatalf("app shell %d: render %v, compare %v", i, render, compare)
		}
		a.learn(key, foundMore(shell, &parse.Page{Title: "Item", Links: []string{"http://a.test/app/"}}, nil))
	}
	if _, render, _ := a.decide("http://a.test/static", full, []byte("<p>no script</p>")); render {
		t.Error("a page without a script rendered")
	}
	// Pages that come while a pattern's first comparison runs are not
	// sampled as well; a comparison that fails lets the next page sample.
	key, render, _ := a.decide("http://a.test/list/1", full, script)
	if _, again, _ := a.decide("http://a.test/list/2", full, script); !render || again {
		t.Errorf("first page rendered %v, second (while the first is compared) %v", render, again)
	}
	a.abandon(key)
	if _, render, _ := a.decide("http://a.test/list/3", full, script); !render {
		t.Error("no sample after an abandoned one")
	}
	// A pattern that looks complete but whose rendering adds links: it is
	// learned after two comparisons, and rendered from then on.
	hydrated := &parse.Page{Title: "Shop", Found: 1, Links: []string{"http://a.test/"}}
	more := &parse.Page{Title: "Shop", Links: []string{"http://a.test/", "http://a.test/shop/item/1"}}
	for i := 1; i <= 5; i++ {
		key, render, compare := a.decide(fmt.Sprintf("http://a.test/shop/%d", i), hydrated, script)
		if !render {
			t.Errorf("hydrated page %d not rendered", i)
		}
		if compare {
			a.learn(key, foundMore(hydrated, more, nil))
		}
	}
}
