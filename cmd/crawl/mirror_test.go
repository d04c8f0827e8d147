package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/output/mirrortest"
	"github.com/hivecrawl/crawl/testsite"
)

// checkMirror asserts that the --save tree in dir browses offline: every
// reference of every saved page and style sheet names a saved file, but
// links to the excluded page and off the site, which are absolute URLs.
// With partial set (a stopped crawl), links to other pages of the site may
// be absolute too.
func checkMirror(t *testing.T, dir, base string, partial bool) {
	t.Helper()
	rep, err := mirrortest.Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems() {
		t.Error(p)
	}
	remote := rep.RemoteURLs(base)
	want := []string{"BASE/private/secret.html", "https://off-site.example/"}
	if partial {
		if !slices.Contains(remote, want[1]) {
			t.Errorf("remote links %q: the off-site link is missing", remote)
		}
	} else if !slices.Equal(remote, want) {
		t.Errorf("remote links %q, want %q", remote, want)
	}
	if len(rep.Local) == 0 {
		t.Error("no local references")
	}
}

// TestMirrorCommand mirrors the docs site with -k -E through the command,
// as a newcomer would, and loads the saved pages from disk.
func TestMirrorCommand(t *testing.T) {
	srv := httptest.NewServer(testsite.Docs{})
	defer srv.Close()
	dir := t.TempDir()
	save := filepath.Join(dir, "mirror")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--rate", "0", "--quiet", "--save", save, "-kE", srv.URL + "/",
		"--assets", "--exclude", "/private/", "-o", filepath.Join(dir, "pages.jsonl")}, new(bytes.Buffer), &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, f := range []string{"index.html", "howto.html", "howto/index.html", "library/sys.html?highlight=path.html", "_static/docs.css?v=2022.1.css"} {
		if _, err := os.Stat(filepath.Join(save, host, filepath.FromSlash(f))); err != nil {
			t.Errorf("not saved as %s: %v", f, err)
		}
	}
	checkMirror(t, save, srv.URL, false)
	if !strings.Contains(stderr.String(), "crawl: links converted in ") {
		t.Errorf("stderr says nothing of the conversion:\n%s", stderr.String())
	}
}

// TestMirrorResumed converts a crawl stopped by --max-pages, then resumes
// it with --state from a config file: the second run converts again, and
// the links to pages saved since become local.
func TestMirrorResumed(t *testing.T) {
	srv := httptest.NewServer(testsite.Docs{})
	defer srv.Close()
	dir := t.TempDir()
	save := filepath.Join(dir, "mirror")
	state := filepath.Join(dir, "state")
	config := filepath.Join(dir, "crawl.yaml")
	yaml := "save: " + save + "\nconvert-links: true\nadjust-extension: true\nassets: true\nexclude: [/private/]\nrate: 0\nquiet: true\n"
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	args := []string{"--config", config, "--state", state, "--concurrency", "1", "-o", filepath.Join(dir, "pages.jsonl")}
	if err := run(context.Background(), append(args, "--max-pages", "2", srv.URL+"/"), new(bytes.Buffer), &stderr); err != nil {
		t.Fatalf("first run: %v\n%s", err, stderr.String())
	}
	checkMirror(t, save, srv.URL, true)
	first, err := mirrortest.Check(save)
	if err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), args, new(bytes.Buffer), &stderr); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, stderr.String())
	}
	checkMirror(t, save, srv.URL, false)
	second, err := mirrortest.Check(save)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Remote) <= 2 || len(second.Local) <= len(first.Local) {
		t.Errorf("first run: %d local, %d remote references; after resuming: %d local, %d remote: want links made local",
			len(first.Local), len(first.Remote), len(second.Local), len(second.Remote))
	}
}
