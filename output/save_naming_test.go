package output

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
)

func TestWindowsNaming(t *testing.T) {
	nm := windowsNaming()
	tests := []struct{ url, want string }{
		{"https://a.test:8443/docs/", "a.test+8443/docs/index.html"},
		{"https://a.test/shop?page=2", "a.test/shop@page=2"},
		{"https://a.test/shop@page=2", "a.test/shop%40page=2"},
		{"https://a.test/a?b=c@d", "a.test/a@b=c%40d"},
		{"http://[::1]:8080/x", "[%3A%3A1]+8080/x"},
	}
	for _, tt := range tests {
		got, err := nm.savePath(tt.url)
		if err != nil || filepath.ToSlash(got) != tt.want {
			t.Errorf("%s: %s, %v; want %s", tt.url, got, err, tt.want)
		}
	}
}

// TestQueryNamesNeverCollide checks, under both namings, that the name of
// a URL with a query is never the name of a URL without one.
func TestQueryNamesNeverCollide(t *testing.T) {
	paths := []string{"/a?b", "/a%3Fb", "/a@b", "/a?b@c", "/a?b%40c", "/a@b?c", "/a?b?c", "/a?b%3Fc", "/a%3Fb?c", "/a?b/c", "/a?b%2Fc", "/?x", "/index.html%3Fx", "/index.html@x"}
	for name, nm := range map[string]naming{"unix": unixNaming(), "windows": windowsNaming()} {
		seen := map[string]string{}
		for _, p := range paths {
			got, err := nm.savePath("http://h" + p)
			if err != nil {
				t.Fatal(err)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("%s: %s and %s are both saved as %s", name, other, p, got)
			}
			seen[got] = p
		}
	}
}

func TestAdjustExtension(t *testing.T) {
	tests := []struct {
		url, ctype, body, want string
	}{
		{"http://h/a", "text/html; charset=utf-8", "<p>", "h/a.html"},
		{"http://h/a.html", "text/html", "<p>", "h/a.html"},
		{"http://h/a.HTM", "text/html", "<p>", "h/a.HTM"},
		{"http://h/", "text/html", "<p>", "h/index.html"},
		{"http://h/a.php?x=1", "text/html", "<p>", "h/a.php?x=1.html"},
		{"http://h/s.css?v=2", "text/css", "a{}", "h/s.css?v=2.css"},
		{"http://h/s.css", "text/css", "a{}", "h/s.css"},
		{"http://h/i.png", "image/png", "PNG", "h/i.png"},
		{"http://h/sniffed", "", "<!DOCTYPE html><p>", "h/sniffed.html"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		tree, err := NewTree(dir, TreeOptions{AdjustExtension: true})
		if err != nil {
			t.Fatal(err)
		}
		p := savePage(tt.url, 200, tt.body)
		p.Result.ContentType = tt.ctype
		if err := tree.HandlePage(context.Background(), p); err != nil {
			t.Fatal(err)
		}
		tree.Close()
		files := readTree(t, dir)
		if files[tt.want] != tt.body || len(files) != 1 {
			t.Errorf("%s (%s): files %v, want %s", tt.url, tt.ctype, files, tt.want)
		}
	}
}

// TestTreeIndex checks that the index says where each URL's body is, moves
// included, and that a torn last line is cut when the tree is reopened.
func TestTreeIndex(t *testing.T) {
	dir := t.TempDir()
	tree, err := NewTree(dir, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	redirected := savePage("http://h/old", 200, "<p>x")
	redirected.Result.FinalURL = "http://h/new/"
	redirected.Result.ContentType = "text/html"
	for _, p := range []*crawler.Page{savePage("http://h/docs", 200, "docs"), savePage("http://h/docs/intro", 200, "intro"), redirected} {
		if err := tree.HandlePage(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	tree.Close()
	// A crash tore a last line.
	appendFile(t, filepath.Join(dir, IndexName), `{"url":"http://h/torn","fi`)
	tree, err = NewTree(dir, TreeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.HandlePage(ctx, savePage("http://h/after", 200, "after")); err != nil {
		t.Fatal(err)
	}
	tree.Close()
	ix := readIndexDir(t, dir)
	want := map[string]string{
		"http://h/docs": "h/docs/index.html", "http://h/docs/intro": "h/docs/intro",
		"http://h/old": "h/new/index.html", "http://h/new/": "h/new/index.html", "http://h/after": "h/after",
	}
	for u, f := range want {
		if ix.urls[u] != f {
			t.Errorf("%s: indexed at %q, want %q", u, ix.urls[u], f)
		}
	}
	if len(ix.urls) != len(want) {
		t.Errorf("index %v, want %v", ix.urls, want)
	}
	if f := ix.files["h/new/index.html"]; f == nil || f.kind != kindHTML {
		t.Errorf("h/new/index.html: %+v, want an html file", f)
	}
	if idx := readTreeRaw(t, dir)[IndexName]; strings.Contains(idx, "torn") || !strings.HasSuffix(idx, "\n") {
		t.Errorf("index after reopening:\n%s", idx)
	}
}

func appendFile(t *testing.T, name, text string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func readIndexDir(t *testing.T, dir string) *treeIndex {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	ix, err := readIndex(root)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// readTreeRaw is readTree with the index included.
func readTreeRaw(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := readTree(t, dir)
	b, err := os.ReadFile(filepath.Join(dir, IndexName))
	if err != nil {
		t.Fatal(err)
	}
	files[IndexName] = string(b)
	return files
}
