package output

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
)

func TestSavePath(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct{ url, want string }{
		{"https://A.test/", "a.test/index.html"},
		{"https://a.test", "a.test/index.html"},
		{"https://a.test:8443/docs/", "a.test%3A8443/docs/index.html"},
		{"https://a.test/docs/intro", "a.test/docs/intro"},
		{"https://a.test/shop?page=2", "a.test/shop%3Fpage=2"},
		{"https://a.test/?q=a/b", "a.test/index.html%3Fq=a%2Fb"},
		{"https://a.test/report%202024.pdf", "a.test/report 2024.pdf"},
		{"https://a.test/a%2Fb", "a.test/a%2Fb"},
		{"https://a.test/..%2F..%2Fetc%2Fpasswd", "a.test/..%2F..%2Fetc%2Fpasswd"},
		{"https://a.test/x/../../../etc/passwd", "a.test/x/%2E%2E/%2E%2E/%2E%2E/etc/passwd"},
		{"https://a.test/%2E%2E/x", "a.test/%2E%2E/x"},
		{"https://a.test/./x", "a.test/%2E/x"},
		{"https://a.test//etc//passwd", "a.test/etc/passwd"},
		{"https://a.test/C:%5Cwindows%5Csystem32", "a.test/C%3A%5Cwindows%5Csystem32"},
		{"https://a.test/w%3Cei%3Erd%22%7C%2A%3F.txt", "a.test/w%3Cei%3Erd%22%7C%2A%3F.txt"},
		{"https://a.test/ctl%00%0A%7F", "a.test/ctl%00%0A%7F"},
		{"https://a.test/bad%FFutf8", "a.test/bad%FFutf8"},
		{"https://a.test/100%25", "a.test/100%25"},
		{"https://a.test/%E6%97%A5%E6%9C%AC", "a.test/日本"},
		{"https://a.test/" + long, "a.test/" + long[:182] + "~"},
	}
	for _, tt := range tests {
		got, err := SavePath(tt.url)
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		got = filepath.ToSlash(got)
		if strings.HasSuffix(tt.want, "~") {
			if !strings.HasPrefix(got, tt.want) || len(filepath.Base(got)) > maxNameBytes {
				t.Errorf("%s: %s, want a hashed name under %d bytes starting %s", tt.url, got, maxNameBytes, tt.want)
			}
		} else if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.url, got, tt.want)
		}
		if !filepath.IsLocal(got) {
			t.Errorf("%s: %s is not local", tt.url, got)
		}
		for _, seg := range strings.Split(got, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Errorf("%s: %s has segment %q", tt.url, got, seg)
			}
		}
	}
	for _, bad := range []string{"ftp://a.test/x", "/relative", "mailto:x@a.test", "http:///nohost"} {
		if p, err := SavePath(bad); err == nil {
			t.Errorf("%s: saved as %s", bad, p)
		}
	}
}

func savePage(url string, status int, body string) *crawler.Page {
	return &crawler.Page{Result: &crawler.Result{URL: url, FinalURL: url, Status: status}, Header: map[string][]string{}, Body: []byte(body)}
}

func TestTree(t *testing.T) {
	dir := t.TempDir()
	tree, err := NewTree(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	ctx := context.Background()
	for _, p := range []*crawler.Page{
		savePage("https://a.test/docs", 200, "docs as a file"),
		savePage("https://a.test/docs/intro", 200, "intro"), // docs must become a directory
		savePage("https://a.test/guide/", 200, "guide index"),
		savePage("https://a.test/guide", 200, "guide without slash"), // a directory already
		savePage("https://a.test/missing", 404, "not found"),
		{Result: &crawler.Result{URL: "https://a.test/down", Error: "connect"}},
		savePage("https://a.test/x/../../../escape", 200, "escape"),
	} {
		if err := tree.HandlePage(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"a.test/docs/index.html":               "docs as a file",
		"a.test/docs/intro":                    "intro",
		"a.test/guide/index.html":              "guide without slash",
		"a.test/x/%2E%2E/%2E%2E/%2E%2E/escape": "escape",
	}
	got := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(filepath.Join(dir, "out"), p)
		got[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("files %v, want %v", got, want)
	}
	if tree.Files() != 5 {
		t.Errorf("Files() = %d, want 5", tree.Files())
	}
}

// TestTreeStaysInside checks that a symbolic link planted in the tree
// cannot lead a write outside it.
func TestTreeStaysInside(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	root := filepath.Join(dir, "out")
	if err := os.MkdirAll(filepath.Join(root, "a.test"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "a.test", "link")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	tree, err := NewTree(root)
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	err = tree.HandlePage(context.Background(), savePage("https://a.test/link/pwned", 200, "x"))
	if err == nil {
		t.Error("a write through a symbolic link out of the tree succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("written outside the tree: %v", entries)
	}
}
