package main

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/hivecrawl/crawl/frontier/redis/redistest"
	"github.com/hivecrawl/crawl/testsite"
)

// TestRenderFrontiers crawls the test app with --render always on the
// embedded store (--state) and on a Redis fleet (--frontier): rendering
// works as on the memory frontier, every route reached and rendered, each
// document fetched once.
func TestRenderFrontiers(t *testing.T) {
	needBrowser(t)
	tests := []struct {
		name string
		args func(t *testing.T) []string
	}{
		{"state", func(t *testing.T) []string {
			return []string{"--state", filepath.Join(t.TempDir(), "state")}
		}},
		{"fleet", func(t *testing.T) []string {
			return []string{"--frontier", redistest.Start(t).URL(0), "--job", "render"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := testsite.NewApp(testsite.AppOptions{Items: 3, Pages: 3})
			srv := httptest.NewServer(app)
			defer srv.Close()
			out := filepath.Join(t.TempDir(), "out.jsonl")
			args := append(tt.args(t), "--render", "always", "--render-tabs", "2", "--rate", "0", "--quiet", "-o", out, srv.URL+"/")
			var stderr bytes.Buffer
			if err := run(t.Context(), args, &bytes.Buffer{}, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			checkAllRendered(t, app, out, srv.URL)
			if d := app.Disallowed(); len(d) > 0 {
				t.Errorf("robots-disallowed paths requested: %v", d)
			}
		})
	}
}

// checkAllRendered reads the records of a --render always crawl of app
// in out, and checks that every route and server page was reached and
// rendered, each document fetched once. It returns the records by path.
func checkAllRendered(t *testing.T, app *testsite.App, out, base string) map[string]renderRecord {
	t.Helper()
	recs := renderRecords(t, out, base)
	hits := app.Hits()
	for _, p := range append(app.AppRoutes(), app.ServerPages()...) {
		r, ok := recs[p]
		switch {
		case !ok:
			t.Errorf("%s not reached", p)
		case r.Error != "" || !r.Rendered:
			t.Errorf("%s: error %q, rendered %v", p, r.Error, r.Rendered)
		case hits[p] != 1:
			t.Errorf("%s fetched %d times, want once", p, hits[p])
		}
	}
	return recs
}
