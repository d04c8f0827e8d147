package render_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/render"
	"github.com/hivecrawl/crawl/testsite"
)

// browser returns a Browser on the Chromium of the machine, closed with
// the test; without one the test is skipped, except under CI=true.
func browser(t *testing.T, opts render.Options) *render.Browser {
	t.Helper()
	if _, err := render.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a browser: %v", err)
		}
		t.Skipf("no browser: %v", err)
	}
	b, err := render.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// robotsCheck refuses /api/private, as the App's robots.txt does.
func robotsCheck(_ context.Context, u *url.URL) error {
	if strings.HasPrefix(u.Path, "/api/private") {
		return &fetch.Error{URL: u.String(), Class: fetch.ClassRobots, Err: context.Canceled}
	}
	return nil
}

// renderPath fetches path from the app's server with client and renders it.
func renderPath(t *testing.T, b *render.Browser, client *fetch.Client, base, path string) *fetch.Rendered {
	t.Helper()
	ctx := t.Context()
	doc, err := client.Fetch(ctx, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := b.Render(ctx, &fetch.RenderRequest{Document: doc, Check: robotsCheck, Subfetch: client.Subfetch})
	if err != nil {
		t.Fatalf("render %s: %v", path, err)
	}
	return rd
}

func TestRenderApp(t *testing.T) {
	b := browser(t, render.Options{Tabs: 2})
	app := testsite.NewApp(testsite.AppOptions{Items: 2})
	srv := httptest.NewServer(app)
	defer srv.Close()
	client := fetch.New(fetch.Options{})

	rd := renderPath(t, b, client, srv.URL, "/app/item/2")
	body := string(rd.Body)
	for _, want := range []string{"<title>Item 2</title>", app.Price(2), `href="/app/late/2"`, `href="/app/"`} {
		if !strings.Contains(body, want) {
			t.Errorf("rendered DOM lacks %q:\n%s", want, body)
		}
	}
	if rd.FinalURL != srv.URL+"/app/item/2" {
		t.Errorf("FinalURL %q", rd.FinalURL)
	}
	var results []string
	var xhr []string
	for _, s := range rd.Subrequests {
		results = append(results, s.Type+" "+s.Result)
		if s.XHR() {
			xhr = append(xhr, s.URL)
		}
	}
	if !slices.Contains(results, "Image "+fetch.SubBlockedType) || !slices.Contains(results, "Script "+fetch.SubAllowed) {
		t.Errorf("subrequests: %v", results)
	}
	if len(xhr) != 1 || !strings.Contains(xhr[0], "/api/route") {
		t.Errorf("xhr %v", xhr)
	}
	if m := app.Media(); len(m) > 0 {
		t.Errorf("images or fonts fetched: %v", m)
	}
	if h := app.Hits()["/app/item/2"]; h != 1 {
		t.Errorf("document fetched %d times, want once", h)
	}

	rd = renderPath(t, b, client, srv.URL, "/app/spy")
	if d := app.Disallowed(); len(d) > 0 {
		t.Errorf("robots-disallowed paths fetched: %v", d)
	}
	blocked := 0
	for _, s := range rd.Subrequests {
		if s.Result == fetch.SubBlockedRobots {
			blocked++
		}
	}
	if blocked != 1 {
		t.Errorf("blocked by robots: %d, want 1 (%+v)", blocked, rd.Subrequests)
	}
}
