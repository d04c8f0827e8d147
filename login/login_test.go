package login_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/login"
	"github.com/hivecrawl/crawl/testsite"
)

func startSessions(t *testing.T, opts testsite.SessionsOptions) *testsite.Sessions {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	site := testsite.NewSessions(opts)
	if err := site.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return site
}

func newClient(t *testing.T) *fetch.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return fetch.New(fetch.Options{Jar: jar})
}

// TestFormLogin logs in to testsite.Sessions' login host with each
// success test, and checks that check is asked about the login page, the
// action and the redirect hop, and that the session then opens a page.
func TestFormLogin(t *testing.T) {
	site := startSessions(t, testsite.SessionsOptions{})
	tests := []struct {
		name string
		cfg  login.Config
	}{
		{"success selector", login.Config{Success: "a.logout"}},
		{"success url", login.Config{SuccessURL: regexp.MustCompile(`/account$`)}},
		{"both", login.Config{Success: "a.logout", SuccessURL: regexp.MustCompile(`/account$`)}},
		{"no login form after", login.Config{}},
		{"form selector", login.Config{Form: "form#login", Success: "a.logout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.URL, cfg.Fields, cfg.Password = site.Login+"/login", map[string]string{"user": "alice"}, "s3cret"
			f, err := login.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t)
			var mu sync.Mutex
			var checked []string
			check := func(_ context.Context, u *url.URL) error {
				mu.Lock()
				checked = append(checked, u.Path)
				mu.Unlock()
				return nil
			}
			if err := f.Login(context.Background(), c, check); err != nil {
				t.Fatalf("Login: %v", err)
			}
			if want := "/login /session /account"; strings.Join(checked, " ") != want {
				t.Errorf("checked %v, want %s", checked, want)
			}
			resp, err := c.Fetch(context.Background(), site.Login+"/p/1", nil)
			if err != nil || resp.Status != 200 || resp.Redirects != 0 {
				t.Fatalf("a page after the login: %v %+v", err, resp)
			}
		})
	}
}

// TestFormLoginFails checks the errors of logins that do not work: they
// say why, wrap ErrNotLoggedIn when the form was submitted, and never
// show the password, even for a GET form whose URL carries it.
func TestFormLoginFails(t *testing.T) {
	site := startSessions(t, testsite.SessionsOptions{})
	getForm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/login":
			io.WriteString(w, `<form action="http://127.0.0.1:1/in"><input name=u><input type=password name=p></form>`)
		case "/plain":
			io.WriteString(w, `<p>no form here</p>`)
		case "/gone":
			http.NotFound(w, r)
		case "/away":
			io.WriteString(w, `<form method=post action=/out><input type=password name=p></form>`)
		case "/out":
			http.Redirect(w, r, site.Canary+"/", http.StatusTemporaryRedirect)
		}
	}))
	defer getForm.Close()
	refuse := errors.New("refused by check")
	tests := []struct {
		name      string
		cfg       login.Config
		check     func(context.Context, *url.URL) error
		want      string
		notLogged bool
	}{
		{"wrong password", login.Config{URL: site.Login + "/login", Fields: map[string]string{"user": "alice"}, Password: "wr0ng", Success: "a.logout"},
			nil, `success "a.logout" not found on ` + site.Login + "/login", true},
		{"wrong password, default test", login.Config{URL: site.Login + "/login", Fields: map[string]string{"user": "alice"}, Password: "wr0ng"},
			nil, "still shows the login form", true},
		{"success url", login.Config{URL: site.Login + "/login", Fields: map[string]string{"user": "alice"}, Password: "wr0ng", SuccessURL: regexp.MustCompile(`/account$`)},
			nil, `success-url "/account$" does not match`, true},
		{"no form", login.Config{URL: getForm.URL + "/plain", Password: "s3cret"}, nil, "read the login form: " + getForm.URL + "/plain: login: no login form", false},
		{"form without password", login.Config{URL: site.Login + "/login", Form: "form#search", Password: "s3cret"}, nil, "no password input", false},
		{"404", login.Config{URL: getForm.URL + "/gone", Password: "s3cret"}, nil, "answered HTTP 404", false},
		{"GET form, unreachable", login.Config{URL: getForm.URL + "/login", Password: "s3cret"}, nil, "GET http://127.0.0.1:1/in: connect", false},
		{"action on another host", login.Config{URL: strings.Replace(getForm.URL, "127.0.0.1", "localhost", 1) + "/login", Password: "s3cret"},
			nil, "the form's action http://127.0.0.1:1/in is on another host than the login page", false},
		{"POST redirected to another host", login.Config{URL: getForm.URL + "/away", Password: "s3cret", Success: "a.logout"},
			nil, `success "a.logout" not found on ` + site.Canary + "/", true},
		{"check refuses", login.Config{URL: site.Login + "/login", Password: "s3cret"},
			func(context.Context, *url.URL) error { return refuse }, "fetch the login page: refused by check", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := login.New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = f.Login(context.Background(), newClient(t), tt.check)
			var le *login.Error
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Login: %v, want a *login.Error saying %q", err, tt.want)
			}
			if errors.Is(err, login.ErrNotLoggedIn) != tt.notLogged {
				t.Errorf("errors.Is(%v, ErrNotLoggedIn) = %v", err, !tt.notLogged)
			}
			if strings.Contains(err.Error(), string(tt.cfg.Password)) {
				t.Errorf("the error shows the password: %v", err)
			}
		})
	}
	if paths, _ := site.CanaryRequests(); len(paths) > 0 {
		t.Errorf("the canary got %v: a 307 repeated the POST to another host", paths)
	}
}

// TestExpired checks what counts as a logged-out page.
func TestExpired(t *testing.T) {
	f, err := login.New(login.Config{URL: "https://shop.example/login?x=1", Expired: "form#login"})
	if err != nil {
		t.Fatal(err)
	}
	html := "text/html"
	tests := []struct {
		name       string
		resp       *fetch.Response
		redirectTo string
		want       bool
	}{
		{"a page", &fetch.Response{URL: "https://shop.example/a", FinalURL: "https://shop.example/a", Status: 200, ContentType: html, Body: []byte(`<a href=/b>b</a>`)}, "", false},
		{"shows the marker", &fetch.Response{URL: "https://shop.example/a", FinalURL: "https://shop.example/a", Status: 200, ContentType: html, Body: []byte(`<form id=login></form>`)}, "", true},
		{"marker on an error page", &fetch.Response{URL: "https://shop.example/a", FinalURL: "https://shop.example/a", Status: 404, ContentType: html, Body: []byte(`<form id=login></form>`)}, "", false},
		{"marker in plain text", &fetch.Response{URL: "https://shop.example/a", FinalURL: "https://shop.example/a", Status: 200, ContentType: "text/plain", Body: []byte(`<form id=login></form>`)}, "", false},
		{"redirected to the login page", &fetch.Response{URL: "https://shop.example/a", FinalURL: "https://SHOP.example/login?next=/a", Status: 200, Redirects: 1, ContentType: html}, "", true},
		{"redirect to it, stopped", &fetch.Response{URL: "https://shop.example/a", FinalURL: "https://shop.example/a", Status: 302}, "https://shop.example/login", true},
		{"the login page itself", &fetch.Response{URL: "https://shop.example/login", FinalURL: "https://shop.example/login", Status: 200, ContentType: html, Body: []byte(`<form id=login></form>`)}, "", false},
		{"redirected to it, default port", &fetch.Response{URL: "https://shop.example/a", FinalURL: "https://shop.example:443/login", Status: 200, Redirects: 1, ContentType: html}, "", true},
		{"redirected elsewhere", &fetch.Response{URL: "https://shop.example/a", FinalURL: "https://shop.example/b", Status: 200, Redirects: 1, ContentType: html}, "", false},
		{"nil", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.Expired(tt.resp, tt.redirectTo); got != tt.want {
				t.Errorf("Expired = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestNew checks the config errors, and that a Config or its password
// printed by mistake shows no password.
func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  login.Config
		want string
	}{
		{"no url", login.Config{}, "want an absolute http(s) URL"},
		{"ftp", login.Config{URL: "ftp://x/login"}, "want an absolute http(s) URL"},
		{"user info", login.Config{URL: "https://bob:pw@x/login"}, "no user info"},
		{"form", login.Config{URL: "https://x/login", Form: "form["}, `form "form[" is not a CSS selector`},
		{"success", login.Config{URL: "https://x/login", Success: "a..b"}, `success "a..b" is not a CSS selector`},
		{"expired", login.Config{URL: "https://x/login", Expired: ">>"}, `expired ">>" is not a CSS selector`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := login.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "bob:pw") {
				t.Errorf("the error shows the user info: %v", err)
			}
		})
	}
	cfg := login.Config{URL: "https://x/login", Password: "s3cret"}
	for _, s := range []string{fmtV(cfg), fmtV(cfg.Password)} {
		if strings.Contains(s, "s3cret") {
			t.Errorf("printed as %s", s)
		}
	}
}

func fmtV(v any) string { return fmt.Sprintf("%v %+v %#v %s", v, v, v, v) }
