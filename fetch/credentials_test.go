package fetch_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
)

// TestFetchHeaderOrigins checks that HeaderOrigins keeps credentials off
// the first request to any other origin (a link, or robots.txt), while the
// listed origin gets them, and redirects still drop them.
func TestFetchHeaderOrigins(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]string{} // host+path → Authorization + "|" + Cookie
	)
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name+r.URL.Path] = r.Header.Get("Authorization") + "|" + r.Header.Get("Cookie")
			mu.Unlock()
		}
	}
	home := newServer(t, handler("home"))
	other := newServer(t, handler("other"))
	c := fetch.New(fetch.Options{
		Header:        http.Header{"Authorization": {"Bearer secret"}, "Cookie": {"a=b"}, "X-Trace": {"1"}},
		HeaderOrigins: []string{home.URL + "/a/path/is/ignored"},
	})
	for _, u := range []string{home.URL + "/page", other.URL + "/page"} {
		if _, err := c.Fetch(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := c.Get(t.Context(), other.URL+"/robots.txt"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"home/page":        "Bearer secret|a=b",
		"other/page":       "|",
		"other/robots.txt": "|",
	}
	mu.Lock()
	defer mu.Unlock()
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("%s got credentials %q, want %q", k, seen[k], v)
		}
	}

	bad := fetch.Options{HeaderOrigins: []string{"ftp://example.com"}}
	if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "fetch: ") {
		t.Errorf("Validate with a non-HTTP origin = %v, want a fetch: error", err)
	}
}

// TestFetchCredentials checks per-origin credentials, as a URL's user info
// is used by curl and wget: sent as Basic auth to their origin (pages,
// redirect hops back to it, robots.txt), never to another origin, and
// never shown in a Response or an error.
func TestFetchCredentials(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string]string{} // host+path → Authorization
	)
	var home, other *httptest.Server
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name+r.URL.Path] = r.Header.Get("Authorization")
			mu.Unlock()
			switch r.URL.Path {
			case "/to-other":
				http.Redirect(w, r, other.URL+"/from-home", http.StatusFound)
			case "/from-home":
				http.Redirect(w, r, home.URL+"/back", http.StatusFound)
			case "/with-userinfo":
				http.Redirect(w, r, "http://bob:hunter2@"+strings.TrimPrefix(other.URL, "http://")+"/landing", http.StatusFound)
			}
		}
	}
	home = newServer(t, handler("home"))
	other = newServer(t, handler("other"))
	c := fetch.New(fetch.Options{Credentials: map[string]*url.Userinfo{home.URL + "/ignored/path": url.UserPassword("alice", "s3cret")}})
	for _, u := range []string{home.URL + "/page", home.URL + "/to-other", other.URL + "/page"} {
		if _, err := c.Fetch(t.Context(), u, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{home.URL + "/robots.txt", other.URL + "/robots.txt"} {
		if _, _, err := c.Get(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
	want := map[string]string{
		"home/page":        basic,
		"home/to-other":    basic,
		"other/from-home":  "",
		"home/back":        basic,
		"other/page":       "",
		"home/robots.txt":  basic,
		"other/robots.txt": "",
	}
	mu.Lock()
	for k, v := range want {
		if got, ok := seen[k]; !ok || got != v {
			t.Errorf("%s: Authorization %q (requested: %v), want %q", k, got, ok, v)
		}
	}
	mu.Unlock()

	// A Location with user info: used on that hop (as the URL's own), but
	// the Response does not show it.
	resp, err := c.Fetch(t.Context(), home.URL+"/with-userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(resp.FinalURL, "hunter2") || strings.Contains(resp.FinalURL, "bob") {
		t.Errorf("FinalURL %q shows user info", resp.FinalURL)
	}
	// Nor does an error.
	_, err = c.Fetch(t.Context(), "http://alice:s3cret@127.0.0.1:1/", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %v shows the password", err)
	}

	// Added later, for another origin.
	if err := c.AddCredentials(other.URL, url.UserPassword("carol", "pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Fetch(t.Context(), other.URL+"/later", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if got := seen["other/later"]; got != "Basic "+base64.StdEncoding.EncodeToString([]byte("carol:pw")) {
		t.Errorf("other/later: Authorization %q after AddCredentials", got)
	}
	mu.Unlock()

	for _, bad := range []fetch.Options{
		{Credentials: map[string]*url.Userinfo{"ftp://example.com": url.User("a")}},
		{Credentials: map[string]*url.Userinfo{"https://example.com": nil}},
		{Credentials: map[string]*url.Userinfo{"https://example.com": url.User("")}},
	} {
		if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "fetch: ") {
			t.Errorf("Validate(%v) = %v, want a fetch: error", bad.Credentials, err)
		}
	}
}
