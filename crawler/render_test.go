package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
)

// fakeRenderer "renders" a page by replacing its body: /shell becomes a
// page linking to /a and /b, /nav navigates to /b, /flaky fails once with
// a temporary error; it checks one subrequest per page with req.Check.
type fakeRenderer struct {
	mu      sync.Mutex
	calls   map[string]int
	checked []string
}

type tempErr struct{}

func (tempErr) Error() string   { return "browser crashed" }
func (tempErr) Temporary() bool { return true }

func (f *fakeRenderer) Render(ctx context.Context, req *fetch.RenderRequest) (*fetch.Rendered, error) {
	u, _ := url.Parse(req.Document.FinalURL)
	f.mu.Lock()
	f.calls[u.Path]++
	n := f.calls[u.Path]
	f.mu.Unlock()
	api, _ := u.Parse("/api/private")
	result := fetch.SubAllowed
	if err := req.Check(ctx, api); err != nil {
		result = fetch.SubBlockedRobots
	}
	f.mu.Lock()
	f.checked = append(f.checked, result)
	f.mu.Unlock()
	rd := &fetch.Rendered{FinalURL: req.Document.FinalURL, Subrequests: []fetch.Subrequest{
		{URL: api.String(), Method: "GET", Type: "Fetch", Result: result},
	}}
	switch u.Path {
	case "/flaky":
		if n == 1 {
			return nil, fmt.Errorf("render: %w", tempErr{})
		}
	case "/nav":
		rd.NavigatedTo = u.Scheme + "://" + u.Host + "/b"
		return rd, nil
	case "/broken":
		return nil, errors.New("render: not a temporary failure")
	}
	body := string(req.Document.Body)
	if u.Path == "/shell" {
		body = `<html><head><title>Rendered</title></head><body><a href="/a">a</a><a href="/b">b</a></body></html>`
	}
	rd.Body = []byte(body)
	return rd, nil
}

// observer counts PageRendered calls.
type renderObserver struct {
	crawler.NopObserver
	mu   sync.Mutex
	subs int
}

func (o *renderObserver) PageRendered(subs []fetch.Subrequest) {
	o.mu.Lock()
	o.subs += len(subs)
	o.mu.Unlock()
}

func TestRenderAlwaysWithARenderer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nDisallow: /api/private\n")
		case "/":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<a href="/shell">s</a><a href="/nav">n</a><a href="/flaky">f</a><a href="/broken">x</a>`)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><body><div id="root"></div></body></html>`)
		}
	}))
	defer srv.Close()
	fr := &fakeRenderer{calls: map[string]int{}}
	obs := &renderObserver{}
	rec := &recorder{}
	cfg := crawler.DefaultConfig()
	cfg.Rate, cfg.RetryBackoff = 0, 1
	cfg.Render, cfg.Renderer, cfg.Observer, cfg.Handler = crawler.RenderAlways, fr, obs, rec
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Run(context.Background(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	get := func(p string) *crawler.Result {
		t.Helper()
		pg := rec.pages[srv.URL+p]
		if pg == nil {
			t.Fatalf("%s not recorded", p)
		}
		return pg.Result
	}
	if r := get("/shell"); !r.Rendered || r.Title != "Rendered" || r.Links != 2 || r.Subrequests != 1 || r.BlockedSubrequests != 1 || len(r.XHR) != 1 {
		t.Errorf("/shell: %+v", r)
	}
	if rec.pages[srv.URL+"/shell"].Rendered == nil {
		t.Error("/shell's Page has no Rendered")
	}
	for _, p := range []string{"/a", "/b"} {
		get(p) // reached only through the rendered DOM
	}
	if r := get("/nav"); r.RedirectTo != srv.URL+"/b" {
		t.Errorf("/nav: redirect %q, want /b", r.RedirectTo)
	}
	if r := get("/flaky"); r.Error != "" || r.Attempts != 2 {
		t.Errorf("/flaky: %+v, want rendered on its second attempt", r)
	}
	if r := get("/broken"); r.Error != crawler.ClassRender {
		t.Errorf("/broken: error %q, want %q", r.Error, crawler.ClassRender)
	}
	for _, res := range fr.checked {
		if res != fetch.SubBlockedRobots {
			t.Errorf("a subrequest robots.txt disallows was allowed")
		}
	}
	if obs.subs == 0 {
		t.Error("the observer was told of no subrequest")
	}
	if len(rec.dups) > 0 {
		t.Errorf("recorded twice: %v", rec.dups)
	}
}

func TestRenderConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  crawler.Config
		want string
	}{
		{crawler.Config{Render: "sometimes"}, "render"},
		{crawler.Config{Render: crawler.RenderAlways}, "Renderer"},
		{crawler.Config{Render: crawler.RenderAuto}, "Renderer"},
	} {
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want an error about %s", tt.cfg.Render, err, tt.want)
		}
	}
	if err := (&crawler.Config{Render: crawler.RenderAuto, Renderer: &fakeRenderer{}}).Validate(); err != nil {
		t.Error(err)
	}
}
