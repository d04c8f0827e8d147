package crawler_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/output"
)

// TestSeedCredentials crawls "http://alice:s3cret@host/": the credentials
// go to that host as Basic auth (its pages, robots.txt, redirects back to
// it), never to the other host that a link and a redirect lead to, and
// never into a record.
func TestSeedCredentials(t *testing.T) {
	var (
		mu   sync.Mutex
		auth = map[string]string{} // name+path → Authorization
	)
	var home, other *httptest.Server
	serve := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			auth[name+r.URL.Path] = r.Header.Get("Authorization")
			mu.Unlock()
			if name == "home" {
				if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					http.Error(w, "who are you?", http.StatusUnauthorized)
					return
				}
			}
			switch r.URL.Path {
			case "/robots.txt":
				http.NotFound(w, r)
			case "/":
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte(`<a href="/private">mine</a> <a href="` + other.URL + `/linked">theirs</a> <a href="/away">away</a> <a href="/with-userinfo">x</a>`))
			case "/away":
				http.Redirect(w, r, other.URL+"/redirected", http.StatusFound)
			case "/with-userinfo":
				// Out of scope (another port, ScopeHost would refuse it; here
				// --exclude does): the record's detail must not show it.
				http.Redirect(w, r, "http://bob:hunter2@"+strings.TrimPrefix(other.URL, "http://")+"/excluded", http.StatusFound)
			default:
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte(`<p>leaf</p>`))
			}
		}
	}
	home = httptest.NewServer(serve("home"))
	defer home.Close()
	other = httptest.NewServer(serve("other"))
	defer other.Close()

	var out bytes.Buffer
	c, err := crawler.New(crawler.Config{
		Concurrency: 2, Rate: -1, Scope: crawler.ScopeAny, MaxDepth: 1,
		Timeout: 5 * time.Second, Handler: output.NewJSONLines(&out),
		Exclude: []*regexp.Regexp{regexp.MustCompile(`/excluded$`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seed := "http://alice:s3cret@" + strings.TrimPrefix(home.URL, "http://") + "/"
	sum, err := c.Run(ctx, seed)
	if err != nil {
		t.Fatal(err)
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	want := map[string]string{
		"home/robots.txt":  basic,
		"home/":            basic,
		"home/private":     basic,
		"home/away":        basic,
		"other/robots.txt": "",
		"other/linked":     "",
		"other/redirected": "",
	}
	mu.Lock()
	for k, v := range want {
		if got, ok := auth[k]; !ok || got != v {
			t.Errorf("%s: Authorization %q (requested: %v), want %q", k, got, ok, v)
		}
	}
	mu.Unlock()
	if sum.Done < 4 || strings.Contains(out.String(), `"status":401`) {
		t.Errorf("summary %+v; records:\n%s", sum, out.String())
	}
	if !strings.Contains(out.String(), `"error":"out_of_scope"`) {
		t.Errorf("no out-of-scope redirect recorded:\n%s", out.String())
	}
	if strings.Contains(out.String(), "s3cret") || strings.Contains(out.String(), "alice") || strings.Contains(out.String(), "hunter2") {
		t.Errorf("records show the credentials:\n%s", out.String())
	}
}

// TestSeedCredentialsNeedAFetcherThatSendsThem: a Fetcher without
// AddCredentials cannot honour them, and the error does not show them.
func TestSeedCredentialsNeedAFetcherThatSendsThem(t *testing.T) {
	c, err := crawler.New(crawler.Config{IgnoreRobots: true, Fetcher: fetcherFunc(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Run(t.Context(), "http://alice:s3cret@127.0.0.1:1/")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Run = %v, want an error without the password", err)
	}
}

// fetcherFunc adapts a function to crawler.Fetcher.
type fetcherFunc func(ctx context.Context, rawURL string, check func(context.Context, *url.URL) error) (*fetch.Response, error)

func (f fetcherFunc) Fetch(ctx context.Context, rawURL string, check func(context.Context, *url.URL) error) (*fetch.Response, error) {
	return f(ctx, rawURL, check)
}
