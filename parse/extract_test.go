package parse

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

const extractPage = `<!DOCTYPE html><html><head><base href="/catalog/"><title>Shop</title></head><body>
<h1 class="title">
   Salt &amp; Pepper
   Mill </h1>
<p class="price">Now only <b>$1,299.50</b>!</p>
<p class="bad-price">call us</p>
<img class="main" src="img/mill.png" alt="">
<a class="more" href="../about">about</a>
<ul class="tags"><li> kitchen </li><li></li><li>gift</li></ul>
<div class="desc"><p>Grinds <em>both</em>.</p></div>
<div class="card" data-id="1"><a href="/p/1">One</a><span class="price">$1.00</span>
  <ul><li class="v">S</li><li class="v">M</li></ul></div>
<div class="card" data-id="2"><a href="/p/2">Two</a><span class="price">$2.50</span></div>
<div class="card" data-id="3"><span class="price">$3.00</span></div>
</body></html>`

func parsePage(t *testing.T, raw, body string) *Page {
	t.Helper()
	u, _ := url.Parse(raw)
	p, err := HTML{}.Parse(u, "text/html; charset=utf-8", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func itemJSON(t *testing.T, items []Item) []string {
	t.Helper()
	var out []string
	for _, it := range items {
		out = append(out, marshal(t, it))
	}
	return out
}

// marshal encodes v as the crawl's JSON writers do: no HTML escaping.
func marshal(t *testing.T, v any) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestExtract(t *testing.T) {
	page := parsePage(t, "https://shop.test/catalog/mill?x=1", extractPage)
	tests := []struct {
		name  string
		rules []Rule
		want  []string
	}{
		{
			name: "text, attr, html, list and transforms",
			rules: []Rule{{Name: "product", URL: `/catalog/`, Fields: []FieldRule{
				{Name: "title", Selector: "h1.title", Transform: []string{"collapse"}},
				{Name: "raw", Selector: "h1.title", Transform: []string{"trim"}},
				{Name: "price", Selector: ".price", Transform: []string{`regex:\$([\d,.]+)`, "number"}},
				{Name: "bad_price", Selector: ".bad-price", Transform: []string{"number"}},
				{Name: "image", Selector: "img.main", Attr: "SRC", Transform: []string{"absurl"}},
				{Name: "more", Selector: "a.more", Attr: "href", Transform: []string{"absurl"}},
				{Name: "alt", Selector: "img.main", Attr: "alt", Transform: []string{"absurl"}},
				{Name: "missing", Selector: "h6"},
				{Name: "tags", Selector: ".tags li", List: true, Transform: []string{"trim", "regex:.+"}},
				{Name: "desc", Selector: ".desc", HTML: true},
			}}},
			want: []string{`{"url":"https://shop.test/catalog/mill?x=1","rule":"product","title":"Salt & Pepper Mill","raw":"Salt & Pepper\n   Mill","price":1299.5,"bad_price":null,"image":"https://shop.test/catalog/img/mill.png","more":"https://shop.test/about","alt":null,"missing":null,"tags":["kitchen","gift"],"desc":"<p>Grinds <em>both</em>.</p>"}`},
		},
		{
			name: "one item per element, required, nested records",
			rules: []Rule{{Name: "card", Each: ".card", Fields: []FieldRule{
				{Name: "id", Attr: "data-id", Transform: []string{"number"}},
				{Name: "name", Selector: "a", Required: true},
				{Name: "link", Selector: "a", Attr: "href", Transform: []string{"absurl"}},
				{Name: "sizes", Selector: "li.v", Fields: []FieldRule{{Name: "size", Required: true}}},
			}}},
			want: []string{
				`{"url":"https://shop.test/catalog/mill?x=1","rule":"card","id":1,"name":"One","link":"https://shop.test/p/1","sizes":[{"size":"S"},{"size":"M"}]}`,
				`{"url":"https://shop.test/catalog/mill?x=1","rule":"card","id":2,"name":"Two","link":"https://shop.test/p/2","sizes":[]}`,
			},
		},
		{
			name: "url pattern does not match",
			rules: []Rule{{Name: "other", URL: `^https://other\.test/`, Fields: []FieldRule{
				{Name: "title", Selector: "title"},
			}}},
		},
		{
			name: "rules in order, a required field drops the page's item",
			rules: []Rule{
				{Name: "a", Fields: []FieldRule{{Name: "t", Selector: "title"}}},
				{Name: "b", Fields: []FieldRule{{Name: "t", Selector: "h6", Required: true}}},
				{Name: "c", Fields: []FieldRule{{Name: "n", Selector: ".card", List: true, Transform: []string{"collapse"}}}},
			},
			want: []string{
				`{"url":"https://shop.test/catalog/mill?x=1","rule":"a","t":"Shop"}`,
				`{"url":"https://shop.test/catalog/mill?x=1","rule":"c","n":["One$1.00 SM","Two$2.50","$3.00"]}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := NewExtractor(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			got := itemJSON(t, ex.Extract(page))
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestExtractorColumns(t *testing.T) {
	ex, err := NewExtractor([]Rule{
		{Name: "a", Fields: []FieldRule{{Name: "x", Selector: "p"}, {Name: "y", Selector: "p"}}},
		{Name: "b", Fields: []FieldRule{{Name: "y", Selector: "p"}, {Name: "z", Selector: "p"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ex.Columns(), ","); got != "url,rule,x,y,z" {
		t.Errorf("columns %s", got)
	}
	var nilEx *Extractor
	if items := nilEx.Extract(&Page{}); items != nil {
		t.Errorf("nil extractor gave %v", items)
	}
}

func TestNewExtractorErrors(t *testing.T) {
	f := func(fr FieldRule) []FieldRule { return []FieldRule{fr} }
	tests := []struct {
		name       string
		rules      []Rule
		rule, want string // in the message
	}{
		{"bad selector", []Rule{{Name: "r", Fields: f(FieldRule{Name: "a", Selector: "div[x="})}}, `"r"`, `field "a": selector`},
		{"bad each", []Rule{{Name: "r", Each: ":nope(", Fields: f(FieldRule{Name: "a"})}}, `"r"`, "each selector"},
		{"bad url regex", []Rule{{Name: "r", URL: "(", Fields: f(FieldRule{Name: "a"})}}, `"r"`, "url pattern"},
		{"bad transform regex", []Rule{{Name: "r", Fields: f(FieldRule{Name: "a", Transform: []string{"regex:[z-a]"}})}}, `"r"`, "regex"},
		{"unknown transform", []Rule{{Name: "r", Fields: f(FieldRule{Name: "a", Transform: []string{"upper"}})}}, `"r"`, "unknown transform"},
		{"number not last", []Rule{{Name: "r", Fields: f(FieldRule{Name: "a", Transform: []string{"number", "trim"}})}}, `"r"`, "must come last"},
		{"no name", []Rule{{Fields: f(FieldRule{Name: "a"})}}, `"#1"`, "no name"},
		{"duplicate rule", []Rule{{Name: "r", Fields: f(FieldRule{Name: "a"})}, {Name: "r", Fields: f(FieldRule{Name: "a"})}}, `"r"`, "duplicate rule"},
		{"no fields", []Rule{{Name: "r"}}, `"r"`, "no fields"},
		{"reserved name", []Rule{{Name: "r", Fields: f(FieldRule{Name: "url"})}}, `"r"`, "reserved"},
		{"duplicate field", []Rule{{Name: "r", Fields: []FieldRule{{Name: "a"}, {Name: "a"}}}}, `"r"`, "duplicate field"},
		{"attr and html", []Rule{{Name: "r", Fields: f(FieldRule{Name: "a", Attr: "x", HTML: true})}}, `"r"`, "exclusive"},
		{"nested with attr", []Rule{{Name: "r", Fields: f(FieldRule{Name: "a", Attr: "x", Fields: f(FieldRule{Name: "b"})})}}, `"r"`, "nested"},
		{"nested bad selector", []Rule{{Name: "r", Fields: f(FieldRule{Name: "a", Fields: f(FieldRule{Name: "b", Selector: "[["})})}}, `"r"`, `field "a.b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewExtractor(tt.rules)
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("error %v, want a *RuleError", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "rule "+tt.rule) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q: want rule %s and %q", msg, tt.rule, tt.want)
			}
		})
	}
}

func TestRecordGetAndJSON(t *testing.T) {
	rec := Record{{Name: "a", Value: "<b>"}, {Name: "n", Value: 2.5}, {Name: "z", Value: nil}}
	if v, ok := rec.Get("n"); !ok || v != 2.5 {
		t.Errorf("Get(n) = %v, %v", v, ok)
	}
	if _, ok := rec.Get("x"); ok {
		t.Error("Get(x) found a field")
	}
	if got := marshal(t, rec); got != `{"a":"<b>","n":2.5,"z":null}` {
		t.Errorf("json %s", got)
	}
	if got := marshal(t, Item{URL: "u", Rule: "r"}); got != `{"url":"u","rule":"r"}` {
		t.Errorf("json %s", got)
	}
}
