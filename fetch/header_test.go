package fetch_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
)

// TestHeaderScope checks, case by case, which of Options.Header reach a
// host: plain headers everywhere, credential headers (the standard ones
// and SecretHeaders) only on fetches that start on a listed origin and
// never past a redirect that leaves it, robots.txt (Get) included; an
// empty header removes the default.
func TestHeaderScope(t *testing.T) {
	type seen struct{ auth, cookie, key, trace, accept string }
	var (
		mu  sync.Mutex
		got = map[string]seen{}
	)
	var home, other *httptest.Server
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name+r.URL.Path] = seen{r.Header.Get("Authorization"), r.Header.Get("Cookie"),
				r.Header.Get("X-Api-Key"), r.Header.Get("X-Trace"), fmt.Sprintf("%q", r.Header["Accept"])}
			mu.Unlock()
			switch r.URL.Path {
			case "/away":
				http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
			case "/back":
				http.Redirect(w, r, home.URL+"/returned", http.StatusFound)
			}
		}
	}
	home = newServer(t, handler("home"))
	other = newServer(t, handler("other"))
	header := http.Header{"Authorization": {"Bearer tok"}, "cookie": {"a=1"}, "x-api-key": {"k3y"}, "X-Trace": {"1"}}
	all := seen{"Bearer tok", "a=1", "k3y", "1", `["text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"]`}
	plain := seen{trace: "1", accept: all.accept}

	tests := []struct {
		name  string
		opts  fetch.Options
		added []string // AddHeaderOrigin after New
		get   bool     // with Get, as robots.txt is fetched
		url   string
		want  map[string]seen
	}{
		{"listed origin gets all", fetch.Options{HeaderOrigins: []string{home.URL}}, nil, false, home.URL + "/p",
			map[string]seen{"home/p": all}},
		{"other origin gets plain only", fetch.Options{HeaderOrigins: []string{home.URL}}, nil, false, other.URL + "/p",
			map[string]seen{"other/p": plain}},
		{"other origin's robots.txt", fetch.Options{HeaderOrigins: []string{home.URL}}, nil, true, other.URL + "/robots.txt",
			map[string]seen{"other/robots.txt": plain}},
		{"listed origin's robots.txt", fetch.Options{HeaderOrigins: []string{home.URL}}, nil, true, home.URL + "/robots.txt",
			map[string]seen{"home/robots.txt": all}},
		{"redirect away drops them", fetch.Options{HeaderOrigins: []string{home.URL}}, nil, false, home.URL + "/away",
			map[string]seen{"home/away": all, "other/landed": plain}},
		{"and they stay dropped on the way back", fetch.Options{HeaderOrigins: []string{home.URL, other.URL}}, nil, false, other.URL + "/back",
			map[string]seen{"other/back": all, "home/returned": plain}},
		{"limited with no origin: none", fetch.Options{LimitHeaderOrigins: true}, nil, false, home.URL + "/p",
			map[string]seen{"home/p": plain}},
		{"limited, origin added later", fetch.Options{LimitHeaderOrigins: true}, []string{home.URL + "/x"}, false, home.URL + "/p",
			map[string]seen{"home/p": all}},
		{"added origin limits the others", fetch.Options{}, []string{home.URL}, false, other.URL + "/p",
			map[string]seen{"other/p": plain}},
		{"no limit at all", fetch.Options{}, nil, false, other.URL + "/p",
			map[string]seen{"other/p": all}},
		{"secret header unnamed is plain", fetch.Options{HeaderOrigins: []string{home.URL}}, nil, false, other.URL + "/p",
			map[string]seen{"other/p": plain}},
		{"empty Accept removes the default", fetch.Options{Header: http.Header{"Accept": {""}}}, nil, false, other.URL + "/p",
			map[string]seen{"other/p": {accept: "[]"}}},
		{"Accept replaces the default", fetch.Options{Header: http.Header{"accept": {"text/plain"}}}, nil, false, other.URL + "/p",
			map[string]seen{"other/p": {accept: `["text/plain"]`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			clear(got)
			mu.Unlock()
			opts := tt.opts
			if opts.Header == nil {
				opts.Header = header
				opts.SecretHeaders = []string{"X-API-KEY"}
				if tt.name == "secret header unnamed is plain" {
					opts.SecretHeaders = nil
					tt.want = map[string]seen{"other/p": {trace: "1", key: "k3y", accept: all.accept}}
				}
			}
			if err := opts.Validate(); err != nil {
				t.Fatal(err)
			}
			c := fetch.New(opts)
			for _, o := range tt.added {
				if err := c.AddHeaderOrigin(o); err != nil {
					t.Fatal(err)
				}
			}
			var err error
			if tt.get {
				_, _, err = c.Get(t.Context(), tt.url)
			} else {
				_, err = c.Fetch(t.Context(), tt.url, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != len(tt.want) {
				t.Errorf("requests %v, want %v", got, tt.want)
			}
			for k, w := range tt.want {
				if got[k] != w {
					t.Errorf("%s got %+v, want %+v", k, got[k], w)
				}
			}
		})
	}
}

// TestHeaderValidate checks that bad header names and origins are
// reported by Validate and AddHeaderOrigin.
func TestHeaderValidate(t *testing.T) {
	for _, o := range []fetch.Options{
		{Header: http.Header{"Bad Name": {"x"}}},
		{Header: http.Header{"": {"x"}}},
		{SecretHeaders: []string{"X:Key"}},
		{HeaderOrigins: []string{"example.com"}},
	} {
		if err := o.Validate(); err == nil || !strings.HasPrefix(err.Error(), "fetch: ") {
			t.Errorf("Validate(%+v) = %v, want a fetch: error", o, err)
		}
	}
	if err := fetch.New(fetch.Options{}).AddHeaderOrigin("ftp://x"); err == nil {
		t.Error("AddHeaderOrigin(ftp://x) = nil, want an error")
	}
}
