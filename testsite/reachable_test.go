package testsite

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// bfs crawls the site at base breadth-first through the links its pages
// really contain, resolved as a browser would, and returns each page's depth.
// It fails the test on any link that leaves the site but for the disallowed
// prefix, on a page that is not 200 with the right title, and on any fetch of
// a page or path a correct crawler would not make.
func bfs(t *testing.T, client *http.Client, base string) map[int]int {
	t.Helper()
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	depth := map[int]int{0: 0}
	queue := []int{0}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		pageURL := base + "/"
		if n > 0 {
			pageURL = fmt.Sprintf("%s/p/%d", base, n)
		}
		f := get(t, client, pageURL)
		if f.status != http.StatusOK || f.title != fmt.Sprintf("Page %d", n) {
			t.Fatalf("GET %s: status %d, title %q", pageURL, f.status, f.title)
		}
		pu, _ := url.Parse(pageURL)
		for _, h := range f.hrefs {
			u, err := pu.Parse(h)
			if err != nil || u.Scheme != b.Scheme || !strings.EqualFold(u.Host, b.Host) {
				continue
			}
			k, ok := pageOf(u.Path)
			if !ok {
				if !strings.HasPrefix(u.Path, DefaultDisallowPrefix) {
					t.Errorf("page %d: href %q leads to %s", n, h, u)
				}
				continue
			}
			if _, seen := depth[k]; !seen {
				depth[k] = depth[n] + 1
				queue = append(queue, k)
			}
		}
	}
	return depth
}

func TestReachable(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"defaults, 300 pages", Options{Pages: 300}},
		{"seed 42", Options{Pages: 300, Seed: 42}},
		{"tree only", Options{Pages: 300, LinksPerPage: 2}},
		{"few links", Options{Pages: 257, LinksPerPage: 4, Seed: 3}},
		{"many links", Options{Pages: 64, LinksPerPage: 60, Seed: 5}},
		{"one page", Options{Pages: 1}},
		{"two pages", Options{Pages: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := New(tt.opts)
			srv := httptest.NewServer(site)
			defer srv.Close()
			pages := site.Options().Pages

			want := bfs(t, srv.Client(), srv.URL)
			got := site.Reachable(0)
			if len(got) != pages {
				t.Errorf("Reachable(0) has %d pages, want all %d", len(got), pages)
			}
			for n, d := range want {
				if got[n] != d {
					t.Errorf("Reachable(0)[%d] = %d, crawl found depth %d", n, got[n], d)
				}
			}
			if len(want) != pages {
				t.Errorf("the crawl reached %d pages, want all %d", len(want), pages)
			}
			// A crawl that resolves links correctly fetches each page once and
			// nothing else.
			if c := snapshot(site); c != (counts{requests: int64(pages), unique: pages}) {
				t.Errorf("after the crawl, counters %+v", c)
			}

			maxDepth := 0
			for _, d := range got {
				maxDepth = max(maxDepth, d)
			}
			for limit := 1; limit <= maxDepth; limit++ {
				lim := site.Reachable(limit)
				for n, d := range got {
					if _, ok := lim[n]; ok != (d <= limit) || ok && lim[n] != d {
						t.Errorf("Reachable(%d)[%d] = %d, %v; unlimited depth %d", limit, n, lim[n], ok, d)
					}
				}
			}
			if tt.opts.LinksPerPage == 2 {
				for n, d := range got {
					if want := log2(n + 1); d != want {
						t.Errorf("tree-only page %d at depth %d, want %d", n, d, want)
					}
				}
			}
		})
	}
}

func log2(n int) int {
	d := 0
	for n > 1 {
		n /= 2
		d++
	}
	return d
}

func TestReachableLarge(t *testing.T) {
	site := New(Options{Pages: 100_000, Seed: 9})
	got := site.Reachable(0)
	if len(got) != 100_000 {
		t.Fatalf("Reachable(0) has %d pages, want 100000", len(got))
	}
	for n, d := range got {
		if d > log2(n+1) {
			t.Fatalf("page %d at depth %d, deeper than its tree depth %d", n, d, log2(n+1))
		}
	}
}
