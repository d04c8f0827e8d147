package output

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
)

func TestSavePath(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct{ url, want string }{
		{"https://A.test/", "a.test/index.html"},
		{"https://a.test", "a.test/index.html"},
		{"https://a.test:8443/docs/", "a.test:8443/docs/index.html"},
		{"http://[::1]:8080/", "[::1]:8080/index.html"},
		{"https://a.test/docs/intro", "a.test/docs/intro"},
		{"https://a.test/shop?page=2", "a.test/shop?page=2"},
		{"https://a.test/shop%3Fpage=2", "a.test/shop%3Fpage=2"}, // not the query's name
		{"https://a.test/s.css?v=1?x%20y", "a.test/s.css?v=1%3Fx%2520y"},
		{"https://a.test/?q=a/b", "a.test/index.html?q=a%2Fb"},
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
		{"https://a.test/~alice/", "a.test/~alice/index.html"},
		{"https://a.test/.well-known/security.txt", "a.test/.well-known/security.txt"},
		{"https://a.test/.a.tmp~/b", "a.test/.a.tmp~/b"},
		{"https://a.test/%25tmp~", "a.test/%25tmp~"},
		{"https://a.test/" + long, "a.test/" + long[:182] + "%~"},
		// The cut would split the escape %2F: it goes before it.
		{"https://a.test/" + strings.Repeat("a", 180) + "%2F" + strings.Repeat("b", 30), "a.test/" + strings.Repeat("a", 180) + "%~"},
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
	tree, err := NewTree(filepath.Join(dir, "out"), TreeOptions{})
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
		if rel != IndexName {
			got[filepath.ToSlash(rel)] = string(b)
		}
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
	tree, err := NewTree(root, TreeOptions{})
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

// FuzzSavePath checks, for any path, that SavePath stays below the
// directory and that every "%" in a name it makes starts a %XX escape or
// the hash of a cut name: the names the Tree writes its temporary files
// under ("%tmp~", "%moving~") are out of any URL's reach.
func FuzzSavePath(f *testing.F) {
	for _, seed := range []string{"a/b", ".a.tmp~/b", "a.moving~", "%25tmp~", "~user/", "..%2F..", strings.Repeat("%2F", 100)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rel, err := SavePath("http://a.test/" + path)
		if err != nil {
			return
		}
		if !filepath.IsLocal(rel) {
			t.Fatalf("%q: %s is not local", path, rel)
		}
		for _, seg := range strings.Split(filepath.ToSlash(rel), "/") {
			if seg == "." || seg == ".." || len(seg) > maxNameBytes {
				t.Fatalf("%q: segment %q", path, seg)
			}
			if !ownNamesOutOfReach(seg) {
				t.Fatalf("%q: segment %q has a %% that starts no escape", path, seg)
			}
		}
	})
}

// ownNamesOutOfReach reports whether every "%" in name starts a %XX
// escape (upper-case hex) or the "%~" and 16 hex digits that end a cut
// name.
func ownNamesOutOfReach(name string) bool {
	isHex := func(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }
	for i := 0; i < len(name); i++ {
		if name[i] != '%' {
			continue
		}
		switch {
		case i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]):
		case i == len(name)-len(hashMarker)-16 && strings.HasPrefix(name[i:], hashMarker) && isLowerHex(name[i+len(hashMarker):]):
		default:
			return false
		}
	}
	return true
}

func isLowerHex(s string) bool {
	for i := range len(s) {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func TestOwnNamesOutOfReach(t *testing.T) {
	for _, name := range []string{".a" + tempSuffix, "a" + movingSuffix, "%", "%2", "%zz", "a%~12"} {
		if ownNamesOutOfReach(name) {
			t.Errorf("%q passes for a name SavePath could make", name)
		}
	}
	for _, name := range []string{"a", "%2F%25", "a%~0123456789abcdef", "~%7E~"} {
		if !ownNamesOutOfReach(name) {
			t.Errorf("%q fails", name)
		}
	}
}

// TestTreeHostileNames saves URLs whose names look like the Tree's own
// temporary names, or that nest files and directories in every order,
// and checks that each is saved where it belongs with nothing lost.
func TestTreeHostileNames(t *testing.T) {
	tests := []struct {
		name string
		urls []string          // saved in order, each with its URL as body
		want map[string]string // file → the URL whose body it holds
	}{
		{
			"temporary name taken by a directory",
			[]string{"http://h/.a.tmp~/b", "http://h/a"},
			map[string]string{"h/.a.tmp~/b": "http://h/.a.tmp~/b", "h/a": "http://h/a"},
		},
		{
			"temporary name taken by a file",
			[]string{"http://h/.a.tmp~", "http://h/a"},
			map[string]string{"h/.a.tmp~": "http://h/.a.tmp~", "h/a": "http://h/a"},
		},
		{
			"moving name taken by a directory",
			[]string{"http://h/a.moving~/x", "http://h/a", "http://h/a/b"},
			map[string]string{"h/a.moving~/x": "http://h/a.moving~/x", "h/a/index.html": "http://h/a", "h/a/b": "http://h/a/b"},
		},
		{
			"escaped marker",
			[]string{"http://h/.a%25tmp~/b", "http://h/a"},
			map[string]string{"h/.a%25tmp~/b": "http://h/.a%25tmp~/b", "h/a": "http://h/a"},
		},
		{
			"index.html a directory",
			[]string{"http://h/a/index.html/x", "http://h/a"},
			map[string]string{"h/a/index.html/x": "http://h/a/index.html/x", "h/a/index.html/index.html": "http://h/a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			tree, err := NewTree(dir, TreeOptions{OnSkip: func(u string, err error) { t.Errorf("skipped %s: %v", u, err) }})
			if err != nil {
				t.Fatal(err)
			}
			defer tree.Close()
			for _, u := range tt.urls {
				if err := tree.HandlePage(context.Background(), savePage(u, 200, u)); err != nil {
					t.Fatalf("save %s: %v", u, err)
				}
			}
			if got := readTree(t, dir); !maps.Equal(got, tt.want) {
				t.Errorf("tree %v, want %v", got, tt.want)
			}
			if tree.Files() != int64(len(tt.urls)) || tree.Skipped() != 0 {
				t.Errorf("%d files saved and %d skipped, want %d and 0", tree.Files(), tree.Skipped(), len(tt.urls))
			}
		})
	}
}

// readTree returns every file under dir, by slash path, with its content.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel != IndexName {
			got[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestTreeSkipsRefusedNames checks that a body the file system will not
// store under its name is skipped, counted and reported, and that the
// crawl's next bodies are saved.
func TestTreeSkipsRefusedNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	// Something the Tree did not make blocks the file's temporary name.
	if err := os.MkdirAll(filepath.Join(dir, "h", ".blocked"+tempSuffix, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var skipped []string
	tree, err := NewTree(dir, TreeOptions{OnSkip: func(u string, err error) {
		if !errors.Is(err, syscall.EISDIR) || !strings.Contains(err.Error(), u) {
			t.Errorf("OnSkip(%s, %v)", u, err)
		}
		skipped = append(skipped, u)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	for _, u := range []string{"http://h/blocked", "http://h/next"} {
		if err := tree.HandlePage(context.Background(), savePage(u, 200, u)); err != nil {
			t.Fatalf("save %s: %v", u, err)
		}
	}
	if !slices.Equal(skipped, []string{"http://h/blocked"}) || tree.Skipped() != 1 || tree.Files() != 1 {
		t.Errorf("skipped %v (Skipped %d), saved %d; want the blocked one skipped and the next saved", skipped, tree.Skipped(), tree.Files())
	}
	if b, err := os.ReadFile(filepath.Join(dir, "h", "next")); err != nil || string(b) != "http://h/next" {
		t.Errorf("next: %q, %v", b, err)
	}
}

func TestNameRefused(t *testing.T) {
	path := func(errno syscall.Errno) error { return &fs.PathError{Op: "openat", Path: "h/x", Err: errno} }
	tests := []struct {
		err  error
		want bool
	}{
		{path(syscall.EISDIR), true},
		{path(syscall.ENOTDIR), true},
		{path(syscall.ENAMETOOLONG), true},
		{path(syscall.EILSEQ), true},
		{path(syscall.EINVAL), true},
		{&os.LinkError{Op: "renameat", Old: "a", New: "b", Err: syscall.EEXIST}, true},
		{&os.LinkError{Op: "renameat", Old: "a", New: "b", Err: syscall.ENOTEMPTY}, true},
		{fmt.Errorf("output: save x: %w", path(syscall.ENOTDIR)), true},
		{path(syscall.ENOSPC), false},
		{path(syscall.EDQUOT), false},
		{path(syscall.EIO), false},
		{path(syscall.EROFS), false},
		{path(syscall.EACCES), false},
		{path(syscall.ELOOP), false},
		{errors.New("path escapes from parent"), false},
	}
	for _, tt := range tests {
		if got := nameRefused(tt.err); got != tt.want {
			t.Errorf("nameRefused(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
