package output

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
)

func TestScreenshots(t *testing.T) {
	dir := t.TempDir()
	s, err := NewScreenshots(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	png := []byte("\x89PNG\r\n\x1a\nfake")
	for _, p := range []*crawler.Page{
		{Result: &crawler.Result{URL: "http://a.test:8080/app/item/1"}, Rendered: &fetch.Rendered{Screenshot: png}},
		{Result: &crawler.Result{URL: "http://a.test/", FinalURL: "http://a.test/home/"}, Rendered: &fetch.Rendered{Screenshot: png}},
		{Result: &crawler.Result{URL: "http://a.test/../../etc/x"}, Rendered: &fetch.Rendered{Screenshot: png}},
		{Result: &crawler.Result{URL: "http://a.test/plain"}},
		{Result: &crawler.Result{URL: "http://a.test/noshot"}, Rendered: &fetch.Rendered{}},
	} {
		if err := s.HandlePage(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"a.test:8080/app/item/1.png", "a.test/home/index.html.png"} {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, png) {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
	if s.Files() != 3 {
		t.Errorf("%d files, want 3", s.Files())
	}
}
