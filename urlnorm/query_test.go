package urlnorm

import (
	"slices"
	"strings"
	"testing"
)

func TestCanonicalQuery(t *testing.T) {
	tests := []struct {
		name string
		n    Normalizer
		in   string
		want string
	}{
		{"sorted", Normalizer{}, "http://h/?b=2&a=1", "http://h/?a=1&b=2"},
		{"both orders are one URL", Normalizer{}, "http://h/?a=1&b=2", "http://h/?a=1&b=2"},
		{"repeated names keep their order", Normalizer{}, "http://h/?b=1&a=2&b=0&a=1", "http://h/?a=2&a=1&b=1&b=0"},
		{"name without value", Normalizer{}, "http://h/?z&y=&x=1", "http://h/?x=1&y=&z"},
		{"sorted on canonical names", Normalizer{}, "http://h/?%62=1&a=2", "http://h/?a=2&b=1"},
		{"bytewise: upper before lower", Normalizer{}, "http://h/?b=1&B=2&_=3&1=4", "http://h/?1=4&B=2&_=3&b=1"},
		{"prefix name first", Normalizer{}, "http://h/?ab=1&a=2", "http://h/?a=2&ab=1"},
		{"many parameters", Normalizer{}, "http://h/?" + manyParams(40, true), "http://h/?" + manyParams(40, false)},
		{"KeepQueryOrder", Normalizer{KeepQueryOrder: true}, "http://h/?b=2&a=1", "http://h/?b=2&a=1"},
		{"sorted after stripping", Normalizer{}, "http://h/?utm_source=x&c=3&gclid=1&a=1", "http://h/?a=1&c=3"},

		{"tracking list", Normalizer{}, "http://h/p?id=7&" + strings.Join(trackingExamples(), "=1&") + "=1", "http://h/p?id=7"},
		{"not tracking", Normalizer{}, "http://h/?sid=1&ref=2&session=3&s=4&utm=5&gclids=6", "http://h/?gclids=6&ref=2&s=4&session=3&sid=1&utm=5"},
		{"KeepParams opts one back in", Normalizer{KeepParams: []string{"GCLID"}}, "http://h/?gclid=1&fbclid=2", "http://h/?gclid=1"},
		{"KeepParams prefix", Normalizer{KeepParams: []string{"utm_*"}}, "http://h/?utm_b=1&utm_a=2&fbclid=3", "http://h/?utm_a=2&utm_b=1"},
		{"KeepParams star keeps all", Normalizer{KeepParams: []string{"*"}, StripParams: []string{"x"}}, "http://h/?x=1&_ga=2", "http://h/?_ga=2&x=1"},
		{"StripParams adds", Normalizer{StripParams: []string{"sort"}}, "http://h/?sort=a&id=1&fbclid=2", "http://h/?id=1"},
		{"KeepParams beats StripParams", Normalizer{StripParams: []string{"sort"}, KeepParams: []string{"sort"}}, "http://h/?sort=a", "http://h/?sort=a"},

		{"jsessionid path parameter", Normalizer{}, "http://h/shop/cart;jsessionid=0A1B2C?x=1", "http://h/shop/cart?x=1"},
		{"jsessionid mid-path", Normalizer{}, "http://h/a;JSESSIONID=1/b", "http://h/a/b"},
		{"jsessionid before other path parameter", Normalizer{}, "http://h/a;jsessionid=1;v=2", "http://h/a;v=2"},
		{"two jsessionids", Normalizer{}, "http://h/a;jsessionid=1;jsessionid=2", "http://h/a"},
		{"jsessionid then dot-dot", Normalizer{}, "http://h/a/b;jsessionid=1/../c", "http://h/a/c"},
		{"other path parameter kept", Normalizer{}, "http://h/a;v=1", "http://h/a;v=1"},
		{"jsessionid kept", Normalizer{KeepParams: []string{"jsessionid"}}, "http://h/a;jsessionid=1?jsessionid=2", "http://h/a;jsessionid=1?jsessionid=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.n.Canonical(tt.in)
			if err != nil {
				t.Fatalf("Canonical(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Canonical(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again, err := tt.n.Canonical(got); err != nil || again != got {
				t.Errorf("not idempotent: Canonical(%q) = %q, %v", got, again, err)
			}
		})
	}
}

// manyParams writes n parameters p00=0 .. in reverse or in order.
func manyParams(n int, reverse bool) string {
	var parts []string
	for i := range n {
		parts = append(parts, "p"+string(rune('a'+i/26))+string(rune('a'+i%26))+"=x")
	}
	if reverse {
		slices.Reverse(parts)
	}
	return strings.Join(parts, "&")
}

// trackingExamples returns one name for each entry of TrackingParams.
func trackingExamples() []string {
	var names []string
	for _, p := range TrackingParams() {
		names = append(names, strings.Replace(p, "*", "campaign", 1))
	}
	return names
}

func TestTrackingParamsMatchesList(t *testing.T) {
	list := TrackingParams()
	if len(list) != len(trackingParams) {
		t.Fatalf("TrackingParams has %d names, want %d", len(list), len(trackingParams))
	}
	list[0] = "changed"
	if TrackingParams()[0] == "changed" {
		t.Fatal("TrackingParams returned the package's own array")
	}
	for _, name := range trackingExamples() {
		for _, form := range []string{name, strings.ToUpper(name)} {
			if !trackingParam([]byte(form)) {
				t.Errorf("trackingParam(%q) = false; it is in TrackingParams", form)
			}
		}
	}
	for _, name := range []string{"", "id", "sid", "ref", "utm", "utmx", "gclids", "xgclid", "session", "jsessionid2", "_g"} {
		if trackingParam([]byte(name)) {
			t.Errorf("trackingParam(%q) = true; it is not in TrackingParams", name)
		}
	}
}

func TestCanonicalSortAllocs(t *testing.T) {
	var n Normalizer
	in := "https://example.com/search?sort=new&q=go&page=2&utm_source=feed"
	out, _ := n.Canonical(in)
	if out != "https://example.com/search?page=2&q=go&sort=new" {
		t.Fatalf("got %q", out)
	}
	allocs := testing.AllocsPerRun(100, func() { _, _ = n.Canonical(in) })
	if allocs > 1 {
		t.Errorf("Canonical with sorting: %v allocs, want 1 (the result)", allocs)
	}
	r, err := n.NewResolver("https://example.com/dir/")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 256)
	allocs = testing.AllocsPerRun(100, func() {
		buf, _ = r.AppendResolve(buf[:0], "page?b=2&a=1;jsessionid=x&fbclid=1")
	})
	if allocs != 0 {
		t.Errorf("AppendResolve: %v allocs, want 0", allocs)
	}
	base := mustURL(t, "https://example.com/dir/page.html")
	allocs = testing.AllocsPerRun(100, func() { _, _ = n.Resolve(base, "other.html?b=2&a=1") })
	if allocs > 3 { // as many as before sorting: base.String, the result, one more
		t.Errorf("Resolve: %v allocs, want at most 3", allocs)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://alice:s3cret@example.com/p?q=1", "http://example.com/p?q=1"},
		{"http://alice@example.com/", "http://example.com/"},
		{"https://a:b@c@example.com:8080", "https://example.com:8080"},
		{"http://example.com/p?email=a@b.com", "http://example.com/p?email=a@b.com"},
		{"http://example.com/a@b", "http://example.com/a@b"},
		{"not a url", "not a url"},
		{"//u:p@h/x", "//h/x"},
		{"http://u:p%zz@h/", "http://h/"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	_, err := Normalizer{}.Canonical("ftp://alice:s3cret@example.com/")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v shows the password", err)
	}
}
