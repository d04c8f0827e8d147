package robots

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// httpGetter is a minimal Getter over net/http, standing in for
// *fetch.Client, which this package may not import.
type httpGetter struct{}

func (httpGetter) Get(ctx context.Context, rawURL string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, body, nil
}

// fakeClock is the Cache's clock in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// robotsServer serves robots.txt with respond and counts its fetches.
type robotsServer struct {
	*httptest.Server
	fetches atomic.Int32
}

func newRobotsServer(t *testing.T, respond func(w http.ResponseWriter, r *http.Request, n int)) *robotsServer {
	s := &robotsServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		respond(w, r, int(s.fetches.Add(1)))
	}))
	t.Cleanup(s.Close)
	return s
}

func staticRobots(t *testing.T, status int, body string) *robotsServer {
	return newRobotsServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func newCache(opts Options, clock *fakeClock) *Cache {
	if opts.Getter == nil {
		opts.Getter = httpGetter{}
	}
	c := New(opts)
	if clock != nil {
		c.now = clock.Now
	}
	return c
}

const rules = `# rules for tests
User-agent: *
Disallow: /private/
Crawl-delay: 1

User-agent: crawl
Disallow: /nocrawl
Allow: /nocrawl/ok
Disallow: /search?q=
Disallow: /*.pdf$
Crawl-delay: 2.5

User-agent: cra
Disallow: /

User-agent: crawler
Disallow: /

Sitemap: https://example.com/sitemap.xml
Sitemap: https://example.com/news.xml
`

func TestCheckRules(t *testing.T) {
	srv := staticRobots(t, 200, rules)
	const ua = "crawl/0.1 (+https://example.com/bot)"
	tests := []struct {
		ua, path  string
		want      bool
		wantDelay time.Duration
	}{
		{ua, "/", true, 2500 * time.Millisecond},
		{ua, "/private/x", true, 2500 * time.Millisecond}, // only the "*" group forbids it
		{ua, "/nocrawl", false, 2500 * time.Millisecond},
		{ua, "/nocrawl/page", false, 2500 * time.Millisecond},
		{ua, "/nocrawl/ok/1", true, 2500 * time.Millisecond},
		{ua, "/search", true, 2500 * time.Millisecond},
		{ua, "/search?q=go", false, 2500 * time.Millisecond},
		{ua, "/search?page=2", true, 2500 * time.Millisecond},
		{ua, "/doc.pdf", false, 2500 * time.Millisecond},
		{ua, "/doc.pdf?download=1", true, 2500 * time.Millisecond},
		{"CRAWL", "/nocrawl", false, 2500 * time.Millisecond},
		{"", "/nocrawl", false, 2500 * time.Millisecond}, // default "crawl"
		{"other/1.0", "/private/x", false, time.Second},
		{"other/1.0", "/nocrawl", true, time.Second},
		{"craw", "/x", true, time.Second},     // "cra" is a prefix, not a match
		{"crawler/2", "/x", false, 0},         // exact match
		{"crawler/2", "/robots.txt", true, 0}, // always allowed
	}
	for _, tt := range tests {
		t.Run(tt.ua+tt.path, func(t *testing.T) {
			c := newCache(Options{UserAgent: tt.ua}, nil)
			d, err := c.Check(t.Context(), mustParse(t, srv.URL+tt.path))
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.want || d.CrawlDelay != tt.wantDelay || !d.RetryAt.IsZero() {
				t.Errorf("Check = %+v, want Allowed %v, CrawlDelay %v", d, tt.want, tt.wantDelay)
			}
		})
	}
}

func TestCheckStatus(t *testing.T) {
	tests := []struct {
		status      int
		body        string
		wantAllowed bool
		wantErr     error
	}{
		{200, "User-agent: *\nDisallow: /\n", false, nil},
		{200, "", true, nil},
		{200, "<html>not a robots.txt</html>", true, nil},
		{302, "", true, nil}, // a redirect the Getter did not follow
		{401, "User-agent: *\nDisallow: /\n", true, nil},
		{403, "User-agent: *\nDisallow: /\n", true, nil},
		{404, "User-agent: *\nDisallow: /\n", true, nil},
		{410, "", true, nil},
		{429, "", false, ErrUnavailable},
		{500, "", false, ErrUnavailable},
		{503, "", false, ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.body), func(t *testing.T) {
			srv := staticRobots(t, tt.status, tt.body)
			clock := newClock()
			c := newCache(Options{RetryAfter: 30 * time.Second}, clock)
			d, err := c.Check(t.Context(), mustParse(t, srv.URL+"/page"))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Check error = %v, want %v", err, tt.wantErr)
			}
			if d.Allowed != tt.wantAllowed {
				t.Errorf("Allowed = %v, want %v", d.Allowed, tt.wantAllowed)
			}
			var wantRetry time.Time
			if tt.wantErr != nil {
				wantRetry = clock.Now().Add(30 * time.Second)
			}
			if !d.RetryAt.Equal(wantRetry) {
				t.Errorf("RetryAt = %v, want %v", d.RetryAt, wantRetry)
			}
		})
	}
}

func TestUnavailableIsRetriedAfterRetryAfter(t *testing.T) {
	srv := newRobotsServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "User-agent: *\nDisallow: /x\n")
	})
	clock := newClock()
	c := newCache(Options{RetryAfter: 30 * time.Second}, clock)
	u := mustParse(t, srv.URL+"/y")

	steps := []struct {
		advance     time.Duration
		wantErr     bool
		wantAllowed bool
		wantFetches int32
	}{
		{0, true, false, 1},
		{29 * time.Second, true, false, 1}, // still cached as unavailable
		{time.Second, false, true, 2},      // tried again
		{time.Hour, false, true, 2},        // now cached for the TTL
	}
	start := clock.Now()
	for i, s := range steps {
		clock.Advance(s.advance)
		d, err := c.Check(t.Context(), u)
		if (err != nil) != s.wantErr || (err != nil && !errors.Is(err, ErrUnavailable)) {
			t.Fatalf("step %d: Check error = %v, want unavailable: %v", i, err, s.wantErr)
		}
		if d.Allowed != s.wantAllowed {
			t.Errorf("step %d: Allowed = %v, want %v", i, d.Allowed, s.wantAllowed)
		}
		if s.wantErr && !d.RetryAt.Equal(start.Add(30*time.Second)) {
			t.Errorf("step %d: RetryAt = %v, want %v", i, d.RetryAt, start.Add(30*time.Second))
		}
		if n := srv.fetches.Load(); n != s.wantFetches {
			t.Errorf("step %d: %d fetches, want %d", i, n, s.wantFetches)
		}
	}
}

// passGetter counts the Gets it passes on.
type passGetter struct {
	Getter
	n atomic.Int32
}

func (g *passGetter) Get(ctx context.Context, rawURL string) (int, []byte, error) {
	g.n.Add(1)
	return g.Getter.Get(ctx, rawURL)
}

// TestUnreachableHost checks that a robots.txt that got no answer is a
// *FetchError carrying the Getter's error, distinct from a 5xx answer, and
// that it is not kept: each Check tries again.
func TestUnreachableHost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	clock := newClock()
	getter := &passGetter{Getter: httpGetter{}}
	c := newCache(Options{Getter: getter}, clock)
	u := mustParse(t, "http://"+addr+"/page")
	for i, check := range []func() (Decision, error){
		func() (Decision, error) { return c.Check(t.Context(), u) },
		func() (Decision, error) {
			_, err := c.Sitemaps(t.Context(), u)
			return Decision{RetryAt: clock.Now()}, err
		},
		func() (Decision, error) { return c.Check(t.Context(), u) },
	} {
		d, err := check()
		var fe *FetchError
		if !errors.Is(err, ErrUnavailable) || !errors.As(err, &fe) {
			t.Fatalf("error = %v, want a *FetchError wrapping ErrUnavailable", err)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("error %v does not carry the Getter's ECONNREFUSED", err)
		}
		if d.Allowed || !d.RetryAt.Equal(clock.Now()) {
			t.Errorf("Decision = %+v, want disallowed, retry at once", d)
		}
		if fe.URL != "http://"+addr+"/robots.txt" || !strings.Contains(err.Error(), addr+"/robots.txt") {
			t.Errorf("error %q (URL %q) does not name the robots.txt", err, fe.URL)
		}
		if n := getter.n.Load(); n != int32(i+1) {
			t.Errorf("check %d: %d fetches: a failure to connect must not be kept", i, n)
		}
	}

	// A server that answers 5xx is unavailable, not unreachable, and kept.
	srv := staticRobots(t, 503, "")
	_, err = c.Check(t.Context(), mustParse(t, srv.URL+"/page"))
	var fe *FetchError
	if !errors.Is(err, ErrUnavailable) || errors.As(err, &fe) {
		t.Errorf("503: error %v, want ErrUnavailable and no *FetchError", err)
	}
}

func TestTTLExpiry(t *testing.T) {
	srv := newRobotsServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		fmt.Fprintf(w, "User-agent: *\nDisallow: /v%d\n", n)
	})
	clock := newClock()
	c := newCache(Options{TTL: time.Hour}, clock)
	steps := []struct {
		advance     time.Duration
		path        string
		wantAllowed bool
		wantFetches int32
	}{
		{0, "/v1", false, 1},
		{59 * time.Minute, "/v1", false, 1},
		{time.Minute, "/v1", true, 2}, // refetched: now /v2 is disallowed
		{0, "/v2", false, 2},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		d, err := c.Check(t.Context(), mustParse(t, srv.URL+s.path))
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != s.wantAllowed {
			t.Errorf("step %d: Allowed = %v, want %v", i, d.Allowed, s.wantAllowed)
		}
		if n := srv.fetches.Load(); n != s.wantFetches {
			t.Errorf("step %d: %d fetches, want %d", i, n, s.wantFetches)
		}
	}
}

// blockingServer serves robots.txt only once release is closed, signalling
// each request on entered.
func blockingServer(t *testing.T) (srv *robotsServer, entered chan struct{}, release func()) {
	entered = make(chan struct{}, 100)
	done := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(done) }) }
	srv = newRobotsServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		entered <- struct{}{}
		select {
		case <-done:
			io.WriteString(w, "User-agent: *\nDisallow: /private\n")
		case <-r.Context().Done():
		}
	})
	t.Cleanup(release) // before srv.Close, which waits for handlers
	return srv, entered, release
}

func TestOneFetchForConcurrentChecks(t *testing.T) {
	srv, entered, release := blockingServer(t)
	c := newCache(Options{}, nil)
	const callers = 50
	results := make(chan error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			path := "/page"
			if i%2 == 1 {
				path = "/private/page"
			}
			d, err := c.Check(t.Context(), mustParse(t, srv.URL+path))
			if err == nil && d.Allowed != (i%2 == 0) {
				err = fmt.Errorf("Check(%s).Allowed = %v", path, d.Allowed)
			}
			results <- err
		})
	}
	<-entered
	time.Sleep(50 * time.Millisecond) // let the other callers queue up behind the fetch
	release()
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Error(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times, want 1", n)
	}
}

func TestWaiterContextCanceled(t *testing.T) {
	srv, entered, release := blockingServer(t)
	c := newCache(Options{}, nil)
	u := mustParse(t, srv.URL+"/page")

	fetcher := make(chan error, 1)
	go func() {
		_, err := c.Check(context.Background(), u)
		fetcher <- err
	}()
	<-entered

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Check(ctx, u)
	if !errors.Is(err, context.DeadlineExceeded) || err != ctx.Err() {
		t.Errorf("waiter error = %v, want ctx.Err()", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("waiter returned after %v", d)
	}

	release()
	if err := <-fetcher; err != nil {
		t.Errorf("fetcher error = %v", err)
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times, want 1", n)
	}
}

func TestFetcherCanceledHandsOver(t *testing.T) {
	srv := newRobotsServer(t, func(w http.ResponseWriter, r *http.Request, n int) {
		if n == 1 {
			<-r.Context().Done() // hold the first fetch until its caller gives up
			return
		}
		io.WriteString(w, "User-agent: *\nDisallow: /private\n")
	})
	c := newCache(Options{}, nil)
	u := mustParse(t, srv.URL+"/private/x")

	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() {
		_, err := c.Check(ctx, u)
		first <- err
	}()
	for srv.fetches.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan Decision, 1)
	go func() {
		d, err := c.Check(t.Context(), u)
		if err != nil {
			t.Errorf("second Check: %v", err)
		}
		second <- d
	}()
	cancel()

	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Errorf("first Check error = %v, want context.Canceled", err)
	}
	if d := <-second; d.Allowed {
		t.Errorf("second Check allowed %s", u)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Errorf("robots.txt fetched %d times, want 2 (the canceled fetch is not cached)", n)
	}
}

func TestOtherHostsProceed(t *testing.T) {
	slow, entered, release := blockingServer(t)
	fast := staticRobots(t, 200, "User-agent: *\nDisallow: /private\n")
	c := newCache(Options{}, nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Check(t.Context(), mustParse(t, slow.URL+"/page"))
	}()
	<-entered
	d, err := c.Check(t.Context(), mustParse(t, fast.URL+"/private"))
	if err != nil || d.Allowed {
		t.Errorf("Check on another host = %+v, %v; want disallowed, no error", d, err)
	}
	release()
	<-done
}

func TestSitemaps(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   []string
	}{
		{200, rules, []string{"https://example.com/sitemap.xml", "https://example.com/news.xml"}},
		{200, "User-agent: *\nDisallow:\n", nil},
		{404, "Sitemap: https://example.com/ignored.xml\n", nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := staticRobots(t, tt.status, tt.body)
			c := newCache(Options{}, nil)
			got, err := c.Sitemaps(t.Context(), mustParse(t, srv.URL+"/"))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("Sitemaps = %q, want %q", got, tt.want)
			}
			// Check shares the cached fetch.
			if _, err := c.Check(t.Context(), mustParse(t, srv.URL+"/")); err != nil {
				t.Fatal(err)
			}
			if n := srv.fetches.Load(); n != 1 {
				t.Errorf("robots.txt fetched %d times, want 1", n)
			}
		})
	}
}

func TestLenientParsing(t *testing.T) {
	tests := []struct {
		name, body string
		path       string
		want       bool
		wantDelay  time.Duration
	}{
		{"rules before any user-agent", "Disallow: /a\nCrawl-delay: 3\nUser-agent: *\nDisallow: /b\n", "/b", false, 0},
		{"rules before any user-agent are ignored", "Disallow: /a\nUser-agent: *\nDisallow: /b\n", "/a", true, 0},
		{"bad crawl-delay", "User-agent: *\nCrawl-delay: soon\nDisallow: /b\n", "/b", false, 0},
		{"crawl-delay with a comment", "User-agent: *\nCrawl-delay: 4 # please\nDisallow: /b\n", "/b", false, 4 * time.Second},
		// Ten days between requests would trap the crawl: capped at a minute.
		{"huge crawl-delay", "User-agent: *\nCrawl-delay: 864000\nDisallow: /b\n", "/b", false, time.Minute},
		{"crawl-delay at the cap", "User-agent: *\nCrawl-delay: 60\n", "/b", true, time.Minute},
		{"BOM", "\ufeffDisallow: /a\nUser-agent: *\nDisallow: /b\n", "/b", false, 0},
		{"CRLF", "User-agent: *\r\nDisallow: /b\r\n", "/b", false, 0},
		{"no colon", "User-agent *\nDisallow /b\n", "/b", false, 0},
		{"past 500 KiB is ignored", strings.Repeat("# padding\n", 60<<10) + "User-agent: *\nDisallow: /b\n", "/b", true, 0},
		// Kept, the cut "Allow: /b" would allow /b.
		{"a line cut at 500 KiB is dropped", "User-agent: *\nDisallow: /\n" + strings.Repeat("#", 500<<10-len("User-agent: *\nDisallow: /\n")-len("\nAllow: /b")) + "\nAllow: /bbbbbbbbb\n", "/b", false, 0},
		{"a line ending at 500 KiB is kept", "User-agent: *\nDisallow: /\n" + strings.Repeat("#", 500<<10-len("User-agent: *\nDisallow: /\n")-len("\nAllow: /b\n")) + "\nAllow: /b\n", "/b", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := staticRobots(t, 200, tt.body)
			c := newCache(Options{}, nil)
			d, err := c.Check(t.Context(), mustParse(t, srv.URL+tt.path))
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tt.want || d.CrawlDelay != tt.wantDelay {
				t.Errorf("Check(%s) = %+v, want Allowed %v, CrawlDelay %v", tt.path, d, tt.want, tt.wantDelay)
			}
		})
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	a := staticRobots(t, 200, "")
	b := staticRobots(t, 200, "")
	cc := staticRobots(t, 200, "")
	c := newCache(Options{MaxHosts: 2}, nil)
	for _, srv := range []*robotsServer{a, b, a, cc, a, b} {
		if _, err := c.Check(t.Context(), mustParse(t, srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
	}
	// a stays (used most recently when cc came in), b is evicted by cc and
	// fetched again.
	for _, f := range []struct {
		name string
		srv  *robotsServer
		want int32
	}{{"a", a, 1}, {"b", b, 2}, {"c", cc, 1}} {
		if n := f.srv.fetches.Load(); n != f.want {
			t.Errorf("%s: %d fetches, want %d", f.name, n, f.want)
		}
	}
	if len(c.entries) != 2 || c.lru.Len() != 2 {
		t.Errorf("cache holds %d entries, %d in LRU; want 2", len(c.entries), c.lru.Len())
	}
}

func TestOriginOf(t *testing.T) {
	tests := []struct {
		url, want string
		wantErr   bool
	}{
		{"http://Example.COM/a?b", "http://example.com", false},
		{"http://example.com:80/", "http://example.com", false},
		{"https://example.com:443/", "https://example.com", false},
		{"https://example.com:80/", "https://example.com:80", false},
		{"http://example.com:8080/", "http://example.com:8080", false},
		{"HTTP://[::1]:80/", "http://[::1]", false},
		{"http://[::1]:8080/", "http://[::1]:8080", false},
		{"ftp://example.com/", "", true},
		{"/relative", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := originOf(mustParse(t, tt.url))
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("originOf = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCheckRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		u    *url.URL
	}{
		{"nil URL", Options{Getter: httpGetter{}}, nil},
		{"relative URL", Options{Getter: httpGetter{}}, &url.URL{Path: "/x"}},
		{"nil Getter", Options{}, &url.URL{Scheme: "http", Host: "example.com", Path: "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.opts).Check(t.Context(), tt.u)
			if err == nil || d.Allowed || !strings.HasPrefix(err.Error(), "robots: ") {
				t.Errorf("Check = %+v, %v; want a robots: error", d, err)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"minimal", Options{Getter: httpGetter{}}, false},
		{"no getter", Options{}, true},
		{"negative TTL", Options{Getter: httpGetter{}, TTL: -1}, true},
		{"negative RetryAfter", Options{Getter: httpGetter{}, RetryAfter: -1}, true},
		{"negative MaxHosts", Options{Getter: httpGetter{}, MaxHosts: -1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.opts.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestProductToken(t *testing.T) {
	tests := []struct{ ua, want string }{
		{"crawl/0.1 (+https://example.com/bot)", "crawl"},
		{"Crawl", "crawl"},
		{"My-Bot 1.0", "my-bot"},
		{"", "crawl"},
	}
	for _, tt := range tests {
		if got := productToken(tt.ua); got != tt.want {
			t.Errorf("productToken(%q) = %q, want %q", tt.ua, got, tt.want)
		}
	}
}
