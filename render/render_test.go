package render_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
	// The second page's script and style sheet came from the cache.
	if h := app.Hits(); h["/static/app.js"] != 1 || h["/static/app.css"] != 1 || h["/api/route"] != 2 {
		t.Errorf("requests after two pages: app.js %d, app.css %d, /api/route %d; want 1, 1, 2",
			h["/static/app.js"], h["/static/app.css"], h["/api/route"])
	}
}

// TestRenderGuards renders pages made up in the test (served to the
// browser from the Document, no server needed for them) whose scripts
// try what a page must not do: reach a private address, navigate away,
// open a pop-up, block on a dialog.
func TestRenderGuards(t *testing.T) {
	b := browser(t, render.Options{Tabs: 1})
	var hits sync.Map // path → true, for requests the server got
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	denying := fetch.New(fetch.Options{DenyPrivate: true})
	open := fetch.New(fetch.Options{})
	tests := []struct {
		name, script string
		client       *fetch.Client
		check        func(t *testing.T, rd *fetch.Rendered)
		notHit       string
		header       http.Header // the document's, besides its Content-Type
	}{
		{"served as an attachment", `mark()`, open,
			func(t *testing.T, rd *fetch.Rendered) {
				if !strings.Contains(string(rd.Body), `id="mark"`) {
					t.Errorf("the page was not rendered:\n%s", rd.Body)
				}
			}, "", http.Header{"Content-Disposition": {`attachment; filename="page.html"`}}},
		{"private address", `fetch("/secret").then(r => r.text()).then(mark)`, denying,
			func(t *testing.T, rd *fetch.Rendered) {
				if len(rd.Subrequests) != 1 || rd.Subrequests[0].Result != fetch.SubBlockedPrivate || !rd.Subrequests[0].XHR() {
					t.Errorf("subrequests %+v, want the fetch blocked as private", rd.Subrequests)
				}
				if strings.Contains(string(rd.Body), `id="mark"`) {
					t.Errorf("the script got an answer:\n%s", rd.Body)
				}
			}, "/secret", nil},
		{"private address allowed", `fetch("/open").then(r => r.text()).then(mark)`, open,
			func(t *testing.T, rd *fetch.Rendered) {
				if !strings.Contains(string(rd.Body), `id="mark"`) {
					t.Errorf("the script got no answer:\n%s", rd.Body)
				}
			}, "", nil},
		{"navigation", `setTimeout(() => { location.href = "/next"; }, 20)`, open,
			func(t *testing.T, rd *fetch.Rendered) {
				if !strings.HasSuffix(rd.NavigatedTo, "/next") {
					t.Errorf("NavigatedTo %q, want .../next", rd.NavigatedTo)
				}
			}, "/next", nil},
		{"DOM still changing", `setTimeout(() => { document.title = "x"; document.body.append("a"); setTimeout(mark, 400); }, 300)`, open,
			func(t *testing.T, rd *fetch.Rendered) {
				if !strings.Contains(string(rd.Body), `id="mark"`) {
					t.Errorf("the page was read while its DOM was still changing:\n%s", rd.Body)
				}
			}, "", nil},
		{"dialog and pop-up", `window.open("/popup"); alert("hi"); confirm("sure?"); mark()`, open,
			func(t *testing.T, rd *fetch.Rendered) {
				if !strings.Contains(string(rd.Body), `id="mark"`) {
					t.Errorf("the script did not go on past its dialogs:\n%s", rd.Body)
				}
			}, "/popup", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := &fetch.Response{
				URL: srv.URL + "/page", FinalURL: srv.URL + "/page", Status: 200,
				Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}, "Content-Disposition": tt.header["Content-Disposition"]},
				Body:   []byte("<!DOCTYPE html><html><head><title>t</title></head><body><script>function mark() { const p = document.createElement(\"p\"); p.id = \"mark\"; document.body.append(p); }\n" + tt.script + "</script></body></html>"),
			}
			rd, err := b.Render(t.Context(), &fetch.RenderRequest{Document: doc, Subfetch: tt.client.Subfetch})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, rd)
			if _, ok := hits.Load(tt.notHit); tt.notHit != "" && ok {
				t.Errorf("the server got %s", tt.notHit)
			}
			if _, ok := hits.Load("/page"); ok {
				t.Error("the document was fetched again")
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []render.Options{
		{Tabs: -1}, {Timeout: -time.Second}, {PagesPerTab: -2}, {Block: []string{"scripts"}},
		{URL: "ftp://x"}, {Wait: " load"},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if err := (render.Options{Block: []string{"images", "fonts"}, Wait: "#app a", URL: "ws://127.0.0.1:9222/"}).Validate(); err != nil {
		t.Error(err)
	}
	if _, err := render.New(render.Options{Exec: "/no/such/browser"}); err == nil {
		t.Error("New with a missing browser: no error")
	}
}

// TestRenderRemote renders through a browser that runs already, reached
// at its DevTools URL (--browser-url), as a fleet's browser service is.
func TestRenderRemote(t *testing.T) {
	exe, err := render.Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a browser: %v", err)
		}
		t.Skipf("no browser: %v", err)
	}
	// Not t.TempDir: the browser's helpers may still write there for a
	// moment after it is killed, and its removal is best effort.
	dir, err := os.MkdirTemp("", "render-remote-")
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--disable-gpu", "--remote-debugging-port=0", "--user-data-dir=" + dir, "about:blank"}
	if os.Getuid() == 0 {
		args = append(args, "--no-sandbox")
	}
	cmd := exec.Command(exe, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = os.RemoveAll(dir)
	})
	ws := ""
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if _, after, ok := strings.Cut(sc.Text(), "DevTools listening on "); ok {
			ws = strings.TrimSpace(after)
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	if ws == "" {
		t.Fatal("the browser printed no DevTools URL")
	}
	b, err := render.New(render.Options{URL: ws, Tabs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	app := testsite.NewApp(testsite.AppOptions{Items: 1})
	srv := httptest.NewServer(app)
	defer srv.Close()
	rd := renderPath(t, b, fetch.New(fetch.Options{}), srv.URL, "/app/item/1")
	if !strings.Contains(string(rd.Body), app.Price(1)) {
		t.Errorf("no price in the DOM the remote browser rendered:\n%s", rd.Body)
	}
}
