package fetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/testsite"
)

// proxySite serves "page <path>" for every path, /redirect redirecting to
// /a. The tests reach it as site.test:80, a name only their proxies
// resolve: a request that bypassed the proxy would fail.
func proxySite(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/a", http.StatusFound)
			return
		}
		fmt.Fprintf(w, "page %s", r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func hostsFor(srv *httptest.Server, names ...string) map[string]string {
	m := map[string]string{}
	for _, n := range names {
		m[n] = srv.Listener.Addr().String()
	}
	return m
}

func newProxy(t *testing.T, opts testsite.ProxyOptions) *testsite.Proxy {
	t.Helper()
	p, err := testsite.NewProxy(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func newSOCKS5(t *testing.T, opts testsite.ProxyOptions) *testsite.SOCKS5 {
	t.Helper()
	s, err := testsite.NewSOCKS5(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fixed returns an Options.Proxy that always picks u.
func fixed(u *url.URL) func(*http.Request) (*url.URL, error) {
	return func(*http.Request) (*url.URL, error) { return u, nil }
}

func withUser(u *url.URL, user, pass string) *url.URL {
	c := *u
	c.User = url.UserPassword(user, pass)
	return &c
}

// TestProxyCarriesEveryRequest: Fetch, its redirect hop and Get all go
// through the proxy, over plain HTTP (absolute-form) and SOCKS5, with and
// without credentials; the target is a name only the proxies resolve.
func TestProxyCarriesEveryRequest(t *testing.T) {
	site := proxySite(t)
	hosts := hostsFor(site, "site.test:80")
	plain := newProxy(t, testsite.ProxyOptions{Hosts: hosts})
	authed := newProxy(t, testsite.ProxyOptions{Hosts: hosts, User: "pu", Password: "s3cret"})
	socks := newSOCKS5(t, testsite.ProxyOptions{Hosts: hosts})
	socksAuthed := newSOCKS5(t, testsite.ProxyOptions{Hosts: hosts, User: "su", Password: "s0cks"})
	tests := []struct {
		name  string
		proxy *url.URL
		log   func() []testsite.ProxyRequest
		want  []string // the targets logged
	}{
		{"http", plain.URL(), plain.Requests,
			[]string{"http://site.test/redirect", "http://site.test/a", "http://site.test/robots.txt"}},
		{"http with auth", withUser(authed.URL(), "pu", "s3cret"), authed.Requests,
			[]string{"http://site.test/redirect", "http://site.test/a", "http://site.test/robots.txt"}},
		// One tunnel, kept alive for the three requests.
		{"socks5", socks.URL(), socks.Requests, []string{"site.test:80"}},
		{"socks5 with auth", withUser(socksAuthed.URL(), "su", "s0cks"), socksAuthed.Requests, []string{"site.test:80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Options{Proxy: fixed(tt.proxy)})
			resp, err := c.Fetch(context.Background(), "http://site.test/redirect", nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != 200 || string(resp.Body) != "page /a" || resp.Redirects != 1 {
				t.Errorf("Fetch = %d %q after %d redirects", resp.Status, resp.Body, resp.Redirects)
			}
			if st, body, err := c.Get(context.Background(), "http://site.test/robots.txt"); err != nil || st != 200 || string(body) != "page /robots.txt" {
				t.Errorf("Get = %d %q %v", st, body, err)
			}
			var got []string
			for _, r := range tt.log() {
				got = append(got, r.Target)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("proxy log %q, want %q", got, tt.want)
			}
		})
	}
}

// TestProxyWrongCredentials: a proxy that refuses the credentials answers
// 407; the error or response never shows the password.
func TestProxyWrongCredentials(t *testing.T) {
	site := proxySite(t)
	hosts := hostsFor(site, "site.test:80")
	p := newProxy(t, testsite.ProxyOptions{Hosts: hosts, User: "pu", Password: "right"})
	s := newSOCKS5(t, testsite.ProxyOptions{Hosts: hosts, User: "su", Password: "right"})
	t.Run("http", func(t *testing.T) {
		c := New(Options{Proxy: fixed(withUser(p.URL(), "pu", "wr0ng-pw"))})
		resp, err := c.Fetch(context.Background(), "http://site.test/a", nil)
		if err != nil || resp.Status != http.StatusProxyAuthRequired {
			t.Fatalf("Fetch = %v, %v; want a 407 response", resp, err)
		}
	})
	t.Run("socks5", func(t *testing.T) {
		c := New(Options{Proxy: fixed(withUser(s.URL(), "su", "wr0ng-pw"))})
		_, err := c.Fetch(context.Background(), "http://site.test/a", nil)
		if err == nil {
			t.Fatal("Fetch through a SOCKS5 proxy refusing the password succeeded")
		}
		if strings.Contains(err.Error(), "wr0ng-pw") {
			t.Errorf("error shows the proxy password: %v", err)
		}
	})
}

// recorder is a ProxyFeedback that records what it is told and blames the
// proxy for the statuses in blame and for every error.
type recorder struct {
	mu      sync.Mutex
	results []ProxyResult
	blame   map[int]bool
}

func (r *recorder) ProxyResult(res ProxyResult) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Body = append([]byte(nil), res.Body...)
	r.results = append(r.results, res)
	if res.Err != nil || r.blame[res.Status] {
		return fmt.Errorf("blamed %d", res.Status)
	}
	return nil
}

// TestProxyFeedback: every request through a proxy is reported, with its
// status and body or its error; a blamed one fails with ClassProxy, and
// so do refused tunnels.
func TestProxyFeedback(t *testing.T) {
	site := proxySite(t)
	tlsSite := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secure") }))
	t.Cleanup(tlsSite.Close)
	hosts := hostsFor(site, "site.test:80")
	hosts["secure.test:443"] = tlsSite.Listener.Addr().String()
	p := newProxy(t, testsite.ProxyOptions{Hosts: hosts})
	dead := newProxy(t, testsite.ProxyOptions{})
	deadURL := dead.URL()
	dead.Close()

	tests := []struct {
		name      string
		proxy     *url.URL
		status    int // SetStatus
		target    string
		wantClass string
		wantSeen  []int // statuses reported; -1 for an error
	}{
		{"ok with a redirect", p.URL(), 0, "http://site.test/redirect", "", []int{302, 200}},
		{"429 from the proxy", p.URL(), 429, "http://site.test/a", ClassProxy, []int{429}},
		{"403 not blamed", p.URL(), 403, "http://site.test/a", "", []int{403}},
		{"refused tunnel", p.URL(), 429, "https://secure.test/", ClassProxy, []int{429}},
		{"tunnel", p.URL(), 0, "https://secure.test/", "", []int{200}},
		{"proxy down", deadURL, 0, "http://site.test/a", ClassProxy, []int{-1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p.SetStatus(tt.status)
			rec := &recorder{blame: map[int]bool{429: true}}
			c := New(Options{Proxy: fixed(tt.proxy), ProxyFeedback: rec})
			// httptest's certificate is for example.com.
			c.proxied.Transport.(*http.Transport).TLSClientConfig = &tls.Config{ServerName: "example.com", RootCAs: tlsSite.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
			_, err := c.Fetch(context.Background(), tt.target, nil)
			if got := ClassOf(err); got != tt.wantClass {
				t.Errorf("class %q (%v), want %q", got, err, tt.wantClass)
			}
			var seen []int
			for _, r := range rec.results {
				st := r.Status
				if r.Err != nil {
					st = -1
					if r.Class == "" {
						t.Errorf("error %v reported without a class", r.Err)
					}
				}
				if r.Proxy != tt.proxy {
					t.Errorf("reported proxy %v, want %v", r.Proxy, tt.proxy)
				}
				seen = append(seen, st)
			}
			if fmt.Sprint(seen) != fmt.Sprint(tt.wantSeen) {
				t.Errorf("reported %v, want %v", seen, tt.wantSeen)
			}
		})
	}
	p.SetStatus(0)

	// Get, for robots.txt and sitemaps, is judged the same way.
	p.SetStatus(429)
	rec := &recorder{blame: map[int]bool{429: true}}
	c := New(Options{Proxy: fixed(p.URL()), ProxyFeedback: rec})
	if _, _, err := c.Get(context.Background(), "http://site.test/robots.txt"); ClassOf(err) != ClassProxy {
		t.Errorf("Get through a 429 proxy: %v, want class proxy", err)
	}
}

// TestProxyDenyPrivate: with DenyPrivate, the target of a proxied request
// is resolved and checked before the proxy gets it, while the proxy's own
// (loopback) address is not checked.
func TestProxyDenyPrivate(t *testing.T) {
	site := proxySite(t)
	hosts := hostsFor(site, "public.test:80", "private.test:80")
	p := newProxy(t, testsite.ProxyOptions{Hosts: hosts})
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "public.test":
			return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
		case "private.test":
			return []netip.Addr{netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.1.2.3")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	tests := []struct {
		target    string
		wantClass string
	}{
		{"http://public.test/a", ""},
		{"http://private.test/a", ClassDenied},
		{"http://127.0.0.1:1/a", ClassDenied},
		{"http://[::1]:1/a", ClassDenied},
		{"http://nowhere.test/a", ClassDNS},
	}
	for _, tt := range tests {
		c := New(Options{Proxy: fixed(p.URL()), DenyPrivate: true})
		c.resolve = resolve
		before := len(p.Requests())
		resp, err := c.Fetch(context.Background(), tt.target, nil)
		if got := ClassOf(err); got != tt.wantClass {
			t.Errorf("%s: class %q (%v), want %q", tt.target, got, err, tt.wantClass)
		}
		sent := len(p.Requests()) - before
		if tt.wantClass == "" {
			if resp == nil || resp.Status != 200 || sent != 1 {
				t.Errorf("%s: %v, %d requests through the proxy; want a 200 through it", tt.target, resp, sent)
			}
		} else if sent != 0 {
			t.Errorf("%s: refused, yet the proxy got %d requests", tt.target, sent)
		}
	}
}

// TestProxyChooser: the first hop's proxy is chosen under the caller's
// context, before Timeout counts; a nil proxy is a direct connection; the
// chooser's error is ClassProxy, or the caller's cancellation.
func TestProxyChooser(t *testing.T) {
	site := proxySite(t)
	p := newProxy(t, testsite.ProxyOptions{Hosts: hostsFor(site, "site.test:80")})
	var deadline bool
	c := New(Options{Proxy: func(r *http.Request) (*url.URL, error) {
		_, deadline = r.Context().Deadline()
		return p.URL(), nil
	}})
	if _, err := c.Fetch(context.Background(), "http://site.test/a", nil); err != nil {
		t.Fatal(err)
	}
	if deadline {
		t.Error("the first hop's proxy was chosen under the fetch's timeout")
	}

	// A nil proxy is a direct connection, DenyPrivate's dial check and all.
	c = New(Options{Proxy: func(*http.Request) (*url.URL, error) { return nil, nil }})
	if resp, err := c.Fetch(context.Background(), site.URL+"/direct", nil); err != nil || string(resp.Body) != "page /direct" {
		t.Errorf("direct: %v, %v", resp, err)
	}
	c = New(Options{DenyPrivate: true, Proxy: func(*http.Request) (*url.URL, error) { return nil, nil }})
	if _, err := c.Fetch(context.Background(), site.URL+"/direct", nil); ClassOf(err) != ClassDenied {
		t.Errorf("direct to loopback with DenyPrivate: %v, want class denied", err)
	}

	c = New(Options{Proxy: func(*http.Request) (*url.URL, error) { return nil, errors.New("none left") }})
	if _, err := c.Fetch(context.Background(), "http://site.test/a", nil); ClassOf(err) != ClassProxy {
		t.Errorf("chooser error: %v, want class proxy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c = New(Options{Proxy: func(r *http.Request) (*url.URL, error) {
		cancel()
		<-r.Context().Done()
		return nil, r.Context().Err()
	}})
	if _, err := c.Fetch(ctx, "http://site.test/a", nil); ClassOf(err) != ClassCanceled {
		t.Errorf("chooser canceled: %v, want class canceled", err)
	}
}

// TestSubfetchThroughProxy: a renderer's subrequests take the same proxy
// path as Fetch: through the proxy, judged by the feedback, and refused
// before the proxy for a private target under DenyPrivate.
func TestSubfetchThroughProxy(t *testing.T) {
	site := proxySite(t)
	p := newProxy(t, testsite.ProxyOptions{Hosts: hostsFor(site, "site.test:80")})
	rec := &recorder{blame: map[int]bool{429: true}}
	c := New(Options{Proxy: fixed(p.URL()), ProxyFeedback: rec, DenyPrivate: true})
	c.resolve = func(context.Context, string) ([]netip.Addr, error) {
		return []netip.Addr{netip.MustParseAddr("93.184.215.14")}, nil
	}
	sub := func(target string) (*Response, error) {
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.Subfetch(context.Background(), req)
	}
	resp, err := sub("http://site.test/script.js")
	if err != nil || string(resp.Body) != "page /script.js" {
		t.Fatalf("Subfetch = %v, %v", resp, err)
	}
	if got := p.Requests(); len(got) != 1 || got[0].Target != "http://site.test/script.js" {
		t.Errorf("proxy log %v", got)
	}
	if len(rec.results) != 1 || rec.results[0].Status != 200 {
		t.Errorf("feedback %+v", rec.results)
	}
	p.SetStatus(429)
	if _, err := sub("http://site.test/x.js"); ClassOf(err) != ClassProxy {
		t.Errorf("through a 429 proxy: %v, want class proxy", err)
	}
	p.SetStatus(0)
	if _, err := sub("http://127.0.0.1:9/x.js"); ClassOf(err) != ClassDenied {
		t.Errorf("private target: %v, want class denied", err)
	}
	if n := len(p.Requests()); n != 2 {
		t.Errorf("the proxy got %d requests, want 2", n)
	}
}

// TestHTTPSProxy: an https:// proxy is spoken to over TLS, with its
// credentials, for plain-http targets too.
func TestHTTPSProxy(t *testing.T) {
	site := proxySite(t)
	p := newProxy(t, testsite.ProxyOptions{Hosts: hostsFor(site, "site.test:80"), User: "tu", Password: "tls-pw"})
	ts := httptest.NewTLSServer(p) // the same proxy, behind TLS
	t.Cleanup(ts.Close)
	pu, _ := url.Parse(ts.URL)
	pu.User = url.UserPassword("tu", "tls-pw")
	c := New(Options{Proxy: fixed(pu)})
	c.proxied.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
	resp, err := c.Fetch(context.Background(), "http://site.test/redirect", nil)
	if err != nil || resp.Status != 200 || string(resp.Body) != "page /a" {
		t.Fatalf("Fetch = %v, %v", resp, err)
	}
	if got := p.Requests(); len(got) != 2 || got[1].Target != "http://site.test/a" {
		t.Errorf("proxy log %v", got)
	}
}
