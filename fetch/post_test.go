package fetch_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
)

// TestPost checks that Post sends its body and Content-Type, follows a
// 303 (and 302, 301) with a GET and a 307 (and 308) with the same POST,
// keeps the cookies a hop set in the Client's jar, calls check on each
// hop, and sends the credential headers to the first origin only.
func TestPost(t *testing.T) {
	type hit struct{ method, path, body, ctype, cookie, auth string }
	var (
		mu   sync.Mutex
		hits []hit
	)
	var other string
	record := func(r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.Method, r.Host + r.URL.Path, string(b), r.Header.Get("Content-Type"), r.Header.Get("Cookie"), r.Header.Get("Authorization")})
		mu.Unlock()
	}
	home := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.URL.Path {
		case "/login":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s1", Path: "/"})
			code := http.StatusSeeOther
			if c := r.URL.Query().Get("code"); c != "" {
				code = map[string]int{"301": 301, "302": 302, "307": 307, "308": 308}[c]
			}
			http.Redirect(w, r, "/next", code)
		case "/away":
			http.Redirect(w, r, other+"/landed", http.StatusTemporaryRedirect)
		default:
			io.WriteString(w, "ok")
		}
	}))
	canary := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { record(r) }))
	other = strings.Replace(canary.URL, "127.0.0.1", "localhost", 1)
	homeHost := strings.TrimPrefix(home.URL, "http://")

	tests := []struct {
		path       string
		wantMethod string // of the hop after the redirect
		wantBody   string
	}{
		{"/login", "GET", ""},
		{"/login?code=302", "GET", ""},
		{"/login?code=301", "GET", ""},
		{"/login?code=307", "POST", "user=alice&pw=x"},
		{"/login?code=308", "POST", "user=alice&pw=x"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			mu.Lock()
			hits = nil
			mu.Unlock()
			jar, _ := cookiejar.New(nil)
			c := fetch.New(fetch.Options{Jar: jar})
			var checked []string
			resp, err := c.Post(context.Background(), home.URL+tt.path, fetch.FormContentType, []byte("user=alice&pw=x"),
				func(_ context.Context, u *url.URL) error { checked = append(checked, u.Path); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 200 || string(resp.Body) != "ok" || resp.Redirects != 1 || !strings.HasSuffix(resp.FinalURL, "/next") {
				t.Fatalf("response %d %q after %d redirects at %s", resp.Status, resp.Body, resp.Redirects, resp.FinalURL)
			}
			if len(checked) != 1 || checked[0] != "/next" {
				t.Errorf("check saw %v, want [/next]", checked)
			}
			mu.Lock()
			defer mu.Unlock()
			want := []hit{
				{"POST", homeHost + "/login", "user=alice&pw=x", fetch.FormContentType, "", ""},
				{tt.wantMethod, homeHost + "/next", tt.wantBody, "", "sid=s1", ""},
			}
			if tt.wantMethod == "POST" {
				want[1].ctype = fetch.FormContentType
			}
			if len(hits) != 2 || hits[0] != want[0] || hits[1] != want[1] {
				t.Errorf("requests:\n got %+v\nwant %+v", hits, want)
			}
		})
	}

	t.Run("credentials stay home", func(t *testing.T) {
		mu.Lock()
		hits = nil
		mu.Unlock()
		c := fetch.New(fetch.Options{Header: http.Header{"Authorization": {"Bearer t0k"}}, HeaderOrigins: []string{home.URL}})
		resp, err := c.Post(context.Background(), home.URL+"/away", fetch.FormContentType, []byte("a=1"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 200 {
			t.Fatalf("status %d", resp.Status)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(hits) != 2 || hits[0].auth != "Bearer t0k" || hits[1].auth != "" || hits[1].method != "POST" {
			t.Errorf("requests %+v: want the header on the first only, the POST repeated", hits)
		}
	})
}
