package fetch_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
)

// TestSubfetch sends browser requests through a Client: the method,
// body and the browser's own headers go as they are; User-Agent, cookies
// and credentials are the Client's, under its origin rules; a redirect is
// returned, not followed; the body cap holds.
func TestSubfetch(t *testing.T) {
	type seen struct{ method, body, ua, cookie, auth, secret, ctype string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, string(b), r.UserAgent(), r.Header.Get("Cookie"), r.Header.Get("Authorization"), r.Header.Get("X-Key"), r.Header.Get("Content-Type")}
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/big":
			w.Write([]byte(strings.Repeat("x", 100)))
		default:
			http.SetCookie(w, &http.Cookie{Name: "s", Value: "1"})
			w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{ua: r.UserAgent(), cookie: r.Header.Get("Cookie"), auth: r.Header.Get("Authorization"), secret: r.Header.Get("X-Key")}
	}))
	defer other.Close()
	jar, _ := cookiejar.New(nil)
	c := fetch.New(fetch.Options{
		UserAgent: "crawl-test", MaxBodyBytes: 40, Jar: jar,
		Header:        http.Header{"X-Key": {"k"}, "Authorization": {"Bearer t"}},
		SecretHeaders: []string{"X-Key"}, HeaderOrigins: []string{srv.URL},
	})
	send := func(method, rawURL, body string) (*fetch.Response, error, seen) {
		t.Helper()
		req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", "browser=1")
		req.Header.Set("User-Agent", "HeadlessChrome")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Subfetch(context.Background(), req)
		return resp, err, <-got
	}

	resp, err, s := send("POST", srv.URL+"/api", `{"a":1}`)
	if err != nil || resp.Status != 200 || string(resp.Body) != "ok" {
		t.Fatalf("POST: %v, %+v", err, resp)
	}
	want := seen{"POST", `{"a":1}`, "crawl-test", "", "Bearer t", "k", "application/json"}
	if s != want {
		t.Errorf("the server saw %+v, want %+v", s, want)
	}
	if u, _ := url.Parse(srv.URL); len(jar.Cookies(u)) != 1 {
		t.Error("the response's cookie did not reach the jar")
	}
	_, _, s = send("GET", srv.URL+"/again", "")
	if s.cookie != "s=1" {
		t.Errorf("second request's Cookie %q, want the jar's s=1 (never the browser's)", s.cookie)
	}
	// Another host (cookies are per host, credentials per origin).
	_, _, s = send("GET", strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+"/x", "")
	if s.auth != "" || s.secret != "" || s.cookie != "" {
		t.Errorf("another origin got credentials: %+v", s)
	}
	resp, err, _ = send("GET", srv.URL+"/moved", "")
	if err != nil || resp.Status != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("redirect: %v, %+v; want the 302 itself", err, resp)
	}
	resp, err, _ = send("GET", srv.URL+"/big", "")
	if fetch.ClassOf(err) != fetch.ClassTooLarge || resp == nil || len(resp.Body) != 40 {
		t.Errorf("over the cap: %v, %+v", err, resp)
	}
	req, _ := http.NewRequest("GET", "ftp://x/", nil)
	if _, err := c.Subfetch(context.Background(), req); fetch.ClassOf(err) != fetch.ClassInvalidURL {
		t.Errorf("ftp: %v", err)
	}
}
