package output_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/output/mirrortest"
	"github.com/hivecrawl/crawl/testsite"
	"github.com/hivecrawl/crawl/urlnorm"
)

// mirrorDocs crawls the Docs site into dir with its assets, the private
// folder excluded, and returns the site's base URL.
func mirrorDocs(t *testing.T, dir string, adjust bool) string {
	t.Helper()
	srv := httptest.NewServer(testsite.Docs{})
	t.Cleanup(srv.Close)
	tree, err := output.NewTree(dir, output.TreeOptions{AdjustExtension: adjust})
	if err != nil {
		t.Fatal(err)
	}
	c, err := crawler.New(crawler.Config{
		Concurrency: 2, PerHost: 2, Rate: -1, IgnoreRobots: true, Assets: true,
		Exclude: []*regexp.Regexp{regexp.MustCompile(regexp.QuoteMeta(testsite.DocsPrivate))},
		Handler: tree,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if err := tree.Close(); err != nil {
		t.Fatal(err)
	}
	return srv.URL
}

// TestMirrorBrowsesOffline is the acceptance test of --convert-links with
// --adjust-extension: every link and reference of every saved page and
// style sheet resolves, as a browser resolves it against the file, to a
// saved file, except the links to the excluded page and off the site,
// which are absolute URLs.
func TestMirrorBrowsesOffline(t *testing.T) {
	dir := t.TempDir()
	base := mirrorDocs(t, dir, true)
	host := strings.TrimPrefix(base, "http://")
	if _, err := os.Stat(filepath.Join(dir, host, "index.html")); err != nil {
		t.Fatalf("host folder not named %q: %v", host, err)
	}
	done, err := output.ConvertLinks(context.Background(), dir, output.ConvertOptions{Resolver: urlnorm.Normalizer{}})
	if err != nil {
		t.Fatal(err)
	}
	if done.Files < 10 || done.Local == 0 || done.Absolute == 0 {
		t.Errorf("converted %+v: want every page and style sheet, local and absolute links", done)
	}
	checkDocsMirror(t, dir, base)

	// Running it again changes nothing: the files are recognized as
	// converted.
	before := snapshot(t, dir)
	again, err := output.ConvertLinks(context.Background(), dir, output.ConvertOptions{Resolver: urlnorm.Normalizer{}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Files != 0 {
		t.Errorf("second conversion rewrote %d files", again.Files)
	}
	if after := snapshot(t, dir); !mapsEqual(before, after) {
		t.Error("second conversion changed the tree")
	}
}

// checkDocsMirror asserts that the Docs mirror in dir browses offline.
func checkDocsMirror(t *testing.T, dir, base string) {
	t.Helper()
	rep, err := mirrortest.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems() {
		t.Error(p)
	}
	if remote, want := rep.RemoteURLs(base), []string{"BASE/private/secret.html", "https://off-site.example/"}; !slices.Equal(remote, want) {
		t.Errorf("remote links %q, want %q", remote, want)
	}
	// Every page and asset the site has, but the excluded one, is linked
	// to locally from somewhere.
	linked := map[string]bool{}
	for _, l := range rep.Local {
		linked[strings.SplitN(l.Resolved, "/", 4)[3]] = true
	}
	var saved int
	for _, l := range rep.Local {
		if strings.Contains(l.Ref, "?") {
			t.Errorf("%s: %q: an unescaped query in a local link", l.File, l.Ref)
		}
	}
	files := snapshot(t, dir)
	for name := range files {
		if name != output.IndexName {
			saved++
		}
	}
	if want := len(testsite.DocsPaths()) - 1; saved < want {
		t.Errorf("%d files saved, want at least %d (every path but the private one): %v", saved, want, keys(files))
	}
	if len(rep.Local) < 30 {
		t.Errorf("only %d local references", len(rep.Local))
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
