package crawler_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/login"
	"github.com/hivecrawl/crawl/testsite"
)

// loginCrawl crawls the login host of a testsite.Sessions with a form
// login and returns the records by URL and Run's error.
func loginCrawl(t *testing.T, site *testsite.Sessions, cfg login.Config, mutate func(*crawler.Config)) (map[string][]crawler.Result, error) {
	t.Helper()
	jar, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	return loginCrawlJar(t, site, cfg, jar, mutate)
}

// loginCrawlJar is loginCrawl with the crawl's cookie jar.
func loginCrawlJar(t *testing.T, site *testsite.Sessions, cfg login.Config, jar http.CookieJar, mutate func(*crawler.Config)) (map[string][]crawler.Result, error) {
	t.Helper()
	form, err := login.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		records = map[string][]crawler.Result{}
	)
	c := crawler.DefaultConfig()
	c.Rate, c.Concurrency, c.PerHost = 0, 8, 2
	c.Jar, c.Login = jar, form
	c.Handler = crawler.HandlerFunc(func(_ context.Context, p *crawler.Page) error {
		mu.Lock()
		defer mu.Unlock()
		records[p.Result.URL] = append(records[p.Result.URL], *p.Result)
		return nil
	})
	if mutate != nil {
		mutate(&c)
	}
	cr, err := crawler.New(c)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cr.Run(context.Background(), site.Login+"/")
	return records, err
}

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

// TestLogin crawls a host whose pages want a session from its login form
// (with a CSRF token) and that logs a session out after three pages: the
// crawl logs in first, logs in again each time the session is over (once
// for the workers that find it over together: three logins for eight
// pages), and records every page once, with 200, none of them the login
// form.
func TestLogin(t *testing.T) {
	site := startSessions(t, testsite.SessionsOptions{Pages: 8, LogoutAfter: 3})
	records, err := loginCrawl(t, site, login.Config{
		URL: site.Login + "/login", Fields: map[string]string{"user": "alice"}, Password: "s3cret",
		Success: "a.logout", Expired: "form#login",
	}, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	served := site.Served()
	for _, p := range site.Pages() {
		if !strings.HasPrefix(p, site.Login) {
			continue
		}
		if served[p] != 1 {
			t.Errorf("%s served %d times, want 1", p, served[p])
		}
		if rs := records[p]; len(rs) != 1 || rs[0].Status != 200 || rs[0].Error != "" || strings.Contains(rs[0].Title, "Log in") {
			t.Errorf("%s recorded as %+v, want once with 200", p, rs)
		}
	}
	if got := site.Logins(); got != 3 {
		t.Errorf("%d logins, want 3 (one per three pages)", got)
	}
	for i, f := range site.LoginForms() {
		if f["csrf"] != 1 || f["user"] != 1 || f["pw"] != 1 || f["remember"] != 1 || f["go"] != 1 || len(f) != 5 {
			t.Errorf("login form %d sent fields %v, want csrf, user, pw, remember and go once each", i, f)
		}
	}
}

// TestLoginSkipFirst checks the hook for a crawl whose jar already holds
// the session (restored, or shared by a fleet): with LoginSkipFirst the
// crawl does not log in first, uses the session it has, and logs in only
// when the session is over. Eight pages, three a session: the session
// logged in before the crawl serves three, and the crawl logs in twice.
func TestLoginSkipFirst(t *testing.T) {
	site := startSessions(t, testsite.SessionsOptions{Pages: 8, LogoutAfter: 3})
	cfg := login.Config{URL: site.Login + "/login", Fields: map[string]string{"user": "alice"}, Password: "s3cret",
		Success: "a.logout", Expired: "form#login"}
	jar, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	form, err := login.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := form.Login(context.Background(), fetch.New(fetch.Options{Jar: jar}), nil); err != nil {
		t.Fatalf("the login before the crawl: %v", err)
	}
	records, err := loginCrawlJar(t, site, cfg, jar, func(c *crawler.Config) { c.LoginSkipFirst = true })
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := site.Logins(); got != 3 {
		t.Errorf("%d logins in all, want 3: one before the crawl, two by it", got)
	}
	for _, p := range site.Pages() {
		if strings.HasPrefix(p, site.Login) && (len(records[p]) != 1 || records[p][0].Status != 200 || site.Served()[p] != 1) {
			t.Errorf("%s recorded as %+v, served %d times; want once", p, records[p], site.Served()[p])
		}
	}
}

// recordingFrontier is a memory frontier that keeps the outcomes it is
// given.
type recordingFrontier struct {
	*frontier.Memory
	mu       sync.Mutex
	outcomes []frontier.Outcome
}

func (f *recordingFrontier) Complete(ctx context.Context, outs []frontier.Outcome) error {
	f.mu.Lock()
	for _, o := range outs {
		o.Links = nil
		f.outcomes = append(f.outcomes, o)
	}
	f.mu.Unlock()
	return f.Memory.Complete(ctx, outs)
}

// TestLoginTakesTheHostsSlot checks that a login counts against its
// host's rate through the frontier, as any request does: the page whose
// lease the login ran under is put back (not recorded, not retried) with
// the host held for one more slot. One such outcome per login.
func TestLoginTakesTheHostsSlot(t *testing.T) {
	site := startSessions(t, testsite.SessionsOptions{Pages: 8, LogoutAfter: 3})
	var rec *recordingFrontier
	_, err := loginCrawl(t, site, login.Config{URL: site.Login + "/login", Fields: map[string]string{"user": "alice"},
		Password: "s3cret", Success: "a.logout", Expired: "form#login"}, func(c *crawler.Config) {
		c.Rate = 1000 // a 1ms slot
		rec = &recordingFrontier{Memory: frontier.NewMemory(c.FrontierOptions())}
		c.Frontier = rec
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	held := 0
	for _, o := range rec.outcomes {
		if o.Status == frontier.Release && !o.RetryAt.IsZero() {
			held++
			if frontier.HostOf(o.Lease.Request.URL) != strings.TrimPrefix(site.Login, "http://") {
				t.Errorf("%s put back for a login of another host", o.Lease.Request.URL)
			}
			if d := o.RetryAt.Sub(o.Lease.Expires.Add(-crawler.DefaultConfig().LeaseTTL())); d < time.Millisecond {
				t.Errorf("%s put back with the host held %v after its lease, want at least the 1ms slot", o.Lease.Request.URL, d)
			}
		}
	}
	if held != site.Logins() || held != 3 {
		t.Errorf("%d pages put back with their host held, want one for each of the %d logins (3)", held, site.Logins())
	}
}

// TestLoginFails checks that a login that never works stops the crawl
// after two attempts, with an error wrapping crawler.ErrLogin that says
// why and shows no password, and that a login refused by robots.txt or
// out of scope is one that fails.
func TestLoginFails(t *testing.T) {
	tests := []struct {
		name  string
		opts  testsite.SessionsOptions
		path  string
		scope string
		want  string
		posts int
	}{
		{"success never shows", testsite.SessionsOptions{Success: "<p>welcome</p>"}, "/login", "", `success "a.logout" not found`, 2},
		{"robots.txt", testsite.SessionsOptions{}, "/private/login", "", "robots.txt disallows", 0},
		{"scope", testsite.SessionsOptions{}, "/login", `^http://[^/]+/p/`, "out of the crawl's scope", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := startSessions(t, tt.opts)
			_, err := loginCrawl(t, site, login.Config{URL: site.Login + tt.path, Fields: map[string]string{"user": "alice"},
				Password: "s3cret", Success: "a.logout"}, func(c *crawler.Config) {
				if tt.scope != "" {
					c.Include = []*regexp.Regexp{regexp.MustCompile(tt.scope)}
				}
			})
			if !errors.Is(err, crawler.ErrLogin) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: %v, want ErrLogin saying %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the password: %v", err)
			}
			if got := len(site.LoginForms()); got != tt.posts {
				t.Errorf("%d login forms posted, want %d", got, tt.posts)
			}
			if site.Logins() != tt.posts {
				t.Errorf("%d logins the site took, want %d", site.Logins(), tt.posts)
			}
			for p, n := range site.Served() {
				if strings.HasPrefix(p, site.Login) {
					t.Errorf("%s served %d times without a login", p, n)
				}
			}
		})
	}
}

// TestLoginNeedsJar checks that a login without a cookie jar is a config
// error.
func TestLoginNeedsJar(t *testing.T) {
	form, err := login.New(login.Config{URL: "http://127.0.0.1/login"})
	if err != nil {
		t.Fatal(err)
	}
	c := crawler.DefaultConfig()
	c.Login = form
	var ce *crawler.ConfigError
	if err := c.Validate(); !errors.As(err, &ce) || ce.Field != "login" {
		t.Fatalf("Validate: %v, want a ConfigError on login", err)
	}
}

// fetchCounter is an Observer that counts fetches by status.
type fetchCounter struct {
	crawler.NopObserver
	mu               sync.Mutex
	started, running int
	finished         map[int]int
}

func (f *fetchCounter) FetchStarted() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started++
	f.running++
}

func (f *fetchCounter) FetchFinished(status int, _ string, _ int64, _ time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running--
	if f.finished == nil {
		f.finished = map[int]int{}
	}
	f.finished[status]++
}

// TestLoginRequestsObserved: the login's requests (the form's page and
// its POST) reach the Observer as the pages' do, so that the metrics
// count every request the crawl sends.
func TestLoginRequestsObserved(t *testing.T) {
	var requests sync.Map // path and method: count
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := requests.LoadOrStore(r.Method+" "+r.URL.Path, new(int64))
		atomic.AddInt64(n.(*int64), 1)
		switch {
		case r.URL.Path == "/login" && r.Method == http.MethodGet:
			fmt.Fprint(w, `<form id="login" method="post" action="/login"><input name="user"><input type="password" name="pw"></form>`)
		case r.URL.Path == "/login":
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "1"})
			fmt.Fprint(w, `<a class="logout" href="/logout">out</a>`)
		case r.URL.Path == "/":
			fmt.Fprint(w, `<title>home</title>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	form, err := login.New(login.Config{URL: srv.URL + "/login", Fields: map[string]string{"user": "alice"},
		Password: "s3cret", Success: "a.logout", Expired: "form#login"})
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	obs := &fetchCounter{}
	c := crawler.DefaultConfig()
	c.Rate, c.Jar, c.Login, c.Observer = 0, jar, form, obs
	cr, err := crawler.New(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cr.Run(context.Background(), srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	sent := 0
	requests.Range(func(k, v any) bool {
		if k != "GET /robots.txt" {
			sent += int(*v.(*int64))
		}
		return true
	})
	if sent != 3 {
		t.Fatalf("the site saw %d requests besides robots.txt, want 3 (the login page, the POST, /)", sent)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.started != sent || obs.running != 0 || obs.finished[200] != sent {
		t.Errorf("observed %d fetches started, %d still running, finished by status %v; want %d started and finished with 200",
			obs.started, obs.running, obs.finished, sent)
	}
}
