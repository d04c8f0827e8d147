package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/serve"
	"github.com/hivecrawl/crawl/testsite"
)

// proxiedSite is a testsite.Site reachable only through the tests'
// proxies, by names (a.test, b.test, ...) that nothing else resolves: a
// request that bypassed the proxy could not reach it. Each host also
// serves /sitemap.xml, listing its page 1.
type proxiedSite struct {
	site  *testsite.Site
	hosts []string          // "a.test", ...
	dial  map[string]string // "a.test:80" → the server's address
	// noVia counts requests that came without the HTTP proxy's Via header.
	noVia atomic.Int32
}

func newProxiedSite(t *testing.T, pages int, hosts ...string) *proxiedSite {
	t.Helper()
	s := &proxiedSite{
		site:  testsite.New(testsite.Options{Pages: pages, LinksPerPage: 6, PageBytes: 512}),
		hosts: hosts,
		dial:  map[string]string{},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Via") == "" {
			s.noVia.Add(1)
		}
		if r.URL.Path == "/sitemap.xml" {
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://%s/p/1</loc></url></urlset>`, r.Host)
			return
		}
		s.site.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	for _, h := range hosts {
		s.dial[h+":80"] = srv.Listener.Addr().String()
	}
	return s
}

// seeds returns the hosts' home pages.
func (s *proxiedSite) seeds() []string {
	var out []string
	for _, h := range s.hosts {
		out = append(out, "http://"+h+"/")
	}
	return out
}

// checkAllPages checks that every reachable page of every host has a
// record with status 200 and that the site served it.
func (s *proxiedSite) checkAllPages(t *testing.T, out string) {
	t.Helper()
	recs := readRecords(t, out)
	for _, h := range s.hosts {
		lost := 0
		for n := range s.site.Reachable(0) {
			u := fmt.Sprintf("http://%s/p/%d", h, n)
			if n == 0 {
				u = "http://" + h + "/"
			}
			if r, ok := recs[u]; !ok || r.Status != 200 || r.Error != "" || s.site.FetchesHost(h, n) == 0 {
				lost++
				if lost <= 3 {
					t.Errorf("%s: record %+v (present %v)", u, r, ok)
				}
			}
		}
		if lost > 0 {
			t.Errorf("%s: %d pages lost", h, lost)
		}
	}
}

func newTestProxy(t *testing.T, opts testsite.ProxyOptions) *testsite.Proxy {
	t.Helper()
	p, err := testsite.NewProxy(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func targets(reqs []testsite.ProxyRequest) map[string]bool {
	m := map[string]bool{}
	for _, r := range reqs {
		m[r.Target] = true
	}
	return m
}

// crawlArgs are the flags of the tests' crawls: fast, quiet, and allowing
// the loopback proxies while not resolving the sites' names themselves.
func crawlArgs(out string, more ...string) []string {
	return append([]string{"--deny-private=false", "--rate", "0", "--retries", "3", "-o", out}, more...)
}

// TestProxyCarriesEveryRequest: with --proxy, pages, robots.txt and the
// sitemap all go through the proxy (with its credentials), and the
// password shows nowhere.
func TestProxyCarriesEveryRequest(t *testing.T) {
	s := newProxiedSite(t, 20, "a.test", "b.test")
	p := newTestProxy(t, testsite.ProxyOptions{Hosts: s.dial, User: "pxuser", Password: "pxs3cret"})
	withCreds := *p.URL()
	withCreds.User = url.UserPassword("pxuser", "pxs3cret")
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	args := crawlArgs(out, "--proxy", withCreds.String(), "--sitemaps")
	if err := run(context.Background(), append(args, s.seeds()...), &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	s.checkAllPages(t, out)
	got := targets(p.Requests())
	for _, h := range s.hosts {
		for _, path := range []string{"/robots.txt", "/sitemap.xml", "/", "/p/1"} {
			if !got["http://"+h+path] {
				t.Errorf("the proxy never got http://%s%s", h, path)
			}
		}
	}
	if n := s.noVia.Load(); n != 0 {
		t.Errorf("%d requests reached the site without going through the proxy", n)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"stderr": stderr.String(), "records": string(data)} {
		if strings.Contains(text, "pxs3cret") {
			t.Errorf("the proxy password is in the %s", name)
		}
	}
	if !strings.Contains(stderr.String(), "requests go through proxies") || !strings.Contains(stderr.String(), p.URL().Host) {
		t.Errorf("the proxy is not logged:\n%s", stderr.String())
	}
}

// TestProxySOCKS5: --proxy socks5://user:pass@ carries the crawl.
func TestProxySOCKS5(t *testing.T) {
	s := newProxiedSite(t, 15, "a.test")
	socks, err := testsite.NewSOCKS5(testsite.ProxyOptions{Hosts: s.dial, User: "su", Password: "s0cks-pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer socks.Close()
	u := *socks.URL()
	u.User = url.UserPassword("su", "s0cks-pw")
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	if err := run(context.Background(), append(crawlArgs(out, "--proxy", u.String()), s.seeds()...), &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	s.checkAllPages(t, out)
	if got := targets(socks.Requests()); !got["a.test:80"] || len(got) != 1 {
		t.Errorf("SOCKS5 tunnels to %v, want a.test:80", got)
	}
}

// TestProxyFileFailover: with two proxies in --proxy-file, the one that
// dies mid-crawl is benched, its hosts move to the other, and no page is
// lost.
func TestProxyFileFailover(t *testing.T) {
	s := newProxiedSite(t, 25, "a.test", "b.test", "c.test", "d.test")
	dying := newTestProxy(t, testsite.ProxyOptions{Hosts: s.dial, CloseAfter: 12})
	healthy := newTestProxy(t, testsite.ProxyOptions{Hosts: s.dial})
	list := filepath.Join(t.TempDir(), "proxies.txt")
	content := "# two proxies\n" + dying.URL().String() + "\n\n" + healthy.URL().String() + "\n"
	if err := os.WriteFile(list, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	if err := run(context.Background(), append(crawlArgs(out, "--proxy-file", list), s.seeds()...), &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if n := len(dying.Requests()); n <= 12 {
		t.Fatalf("the dying proxy got %d requests: it never died mid-crawl", n)
	}
	s.checkAllPages(t, out)
	// Every host the dying proxy carried was finished by the other.
	moved := 0
	healthyGot := targets(healthy.Requests())
	for _, r := range dying.Requests() {
		u, err := url.Parse(r.Target)
		if err != nil {
			t.Fatal(err)
		}
		if !healthyGot["http://"+u.Host+"/robots.txt"] && !anyOnHost(healthyGot, u.Host) {
			t.Errorf("%s was on the dying proxy and never moved", u.Host)
		}
		moved++
	}
	if moved == 0 {
		t.Error("no host was on the dying proxy")
	}
	if !strings.Contains(stderr.String(), "proxy benched") || !strings.Contains(stderr.String(), dying.URL().Host) {
		t.Errorf("no bench logged for %s:\n%s", dying.URL(), stderr.String())
	}
}

func anyOnHost(targets map[string]bool, host string) bool {
	for t := range targets {
		if strings.HasPrefix(t, "http://"+host+"/") {
			return true
		}
	}
	return false
}

// TestProxy429Benched: a proxy answering 429 is benched (a log line, the
// metrics), its hosts go through the other proxy, and nothing is lost.
func TestProxy429Benched(t *testing.T) {
	s := newProxiedSite(t, 15, "a.test", "b.test")
	limited := newTestProxy(t, testsite.ProxyOptions{Hosts: s.dial, User: "lim", Password: "l1m1ted-pw"})
	limited.SetStatus(http.StatusTooManyRequests)
	healthy := newTestProxy(t, testsite.ProxyOptions{Hosts: s.dial})
	lu := *limited.URL()
	lu.User = url.UserPassword("lim", "l1m1ted-pw")
	list := filepath.Join(t.TempDir(), "proxies.txt")
	if err := os.WriteFile(list, []byte(lu.String()+"\n"+healthy.URL().String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	addr, stderr, stop := startMetricsCrawl(t, append(crawlArgs(out, "--proxy-file", list, "--metrics-linger", "1m"), s.seeds()...)...)
	if !eventually(60*time.Second, func() bool { return strings.Contains(stderr.String(), "crawl: done") }) {
		t.Fatalf("the crawl did not finish in 60s:\n%s", stderr.String())
	}
	metrics := httpGet(t, "http://"+addr+"/metrics")
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	s.checkAllPages(t, out)
	if len(limited.Requests()) == 0 {
		t.Fatal("the 429 proxy got no request: nothing tested")
	}
	for _, want := range []string{`crawl_proxies_benched 1`, `crawl_proxy_requests_total{result="ok"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metrics, `crawl_proxy_requests_total{result="status_429"} 0`) {
		t.Error("no 429 counted")
	}
	log := stderr.String()
	if !strings.Contains(log, "proxy benched") || !strings.Contains(log, "why=status_429") {
		t.Errorf("the bench is not logged with its reason:\n%s", log)
	}
	for name, text := range map[string]string{"log": log, "metrics": metrics} {
		if strings.Contains(text, "l1m1ted-pw") {
			t.Errorf("the proxy password is in the %s", name)
		}
	}
	if strings.Contains(metrics, limited.URL().Host) {
		t.Error("a metric names the proxy")
	}
}

// TestProxyDenyPrivate: --deny-private still refuses a private target when
// a (loopback) proxy would carry it: the proxy never gets the request.
func TestProxyDenyPrivate(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	p := newTestProxy(t, testsite.ProxyOptions{})
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--deny-private", "--quiet", "--proxy", p.URL().String(), "-o", out, srv.URL + "/"}, &bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	if r := readRecords(t, out)[srv.URL+"/"]; r.Error != "denied" || !strings.Contains(r.Detail, "non-public address 127.0.0.1") {
		t.Errorf("record %+v, want error denied", r)
	}
	if n, m := len(p.Requests()), hits.Load(); n != 0 || m != 0 {
		t.Errorf("the proxy got %d requests and the site %d", n, m)
	}
}

// TestProxyFlags: bad proxy input is one clear line and exit 2; YAML
// keys are the flags' names.
func TestProxyFlags(t *testing.T) {
	dir := t.TempDir()
	badList := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(badList, []byte("http://ok:1\nsocks4://u:hunter22@h:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--proxy", "ftp://x"}, `--proxy "ftp://x": scheme ftp is not http, https, socks5 or socks5h`},
		{[]string{"--proxy", "http://u:hunter22@h:0"}, `bad port "0"`},
		{[]string{"--proxy", "proxy.example:3128"}, "no scheme"},
		{[]string{"--proxy-file", filepath.Join(dir, "missing.txt")}, "--proxy-file: open"},
		{[]string{"--proxy-file", badList}, "line 2: proxy"},
		{[]string{"--proxy-file", empty}, "no proxy URL"},
		{[]string{"--proxy", "http://h:1", "--proxy-ban", "(unclosed"}, `--proxy-ban "(unclosed"`},
		{[]string{"--proxy-ban", "captcha"}, "needs --proxy"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		err := run(context.Background(), append(tt.args, "http://a.test/"), &bytes.Buffer{}, &stderr)
		msg := stderr.String()
		if exitCode(err) != exitUsage || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit 2 and one line with %q", tt.args, exitCode(err), msg, tt.want)
		}
		if strings.Contains(msg, "hunter22") {
			t.Errorf("%q: the password is shown: %s", tt.args, msg)
		}
	}

	cfg := filepath.Join(dir, "crawl.yaml")
	list := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(list, []byte("socks5://10.0.0.1:1080\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "proxy: http://u:p@127.0.0.1:3128\nproxy-file: " + list + "\nproxy-ban: captcha\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseArgs([]string{"--config", cfg, "http://a.test/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(o.proxies) != 2 || o.proxies[1].String() != "socks5://10.0.0.1:1080" || o.ban == nil || o.ban.String() != "captcha" {
		t.Errorf("from YAML: proxies %v, ban %v", o.proxies, o.ban)
	}
}

// TestProxyInServedJob: a job of crawl serve takes proxy (and proxy-ban)
// like the command, but not proxy-file, a file on the server.
func TestProxyInServedJob(t *testing.T) {
	dir := t.TempDir()
	o, err := jobOptions(serve.Spec{Seeds: []string{"http://a.test/"}, Config: []byte(`{"proxy": "socks5://u:p@127.0.0.1:1080", "proxy-ban": "captcha"}`)}, dir)
	if err != nil || len(o.proxies) != 1 || o.ban == nil {
		t.Fatalf("job with proxy: %v, proxies %v", err, o.proxies)
	}
	_, err = jobOptions(serve.Spec{Seeds: []string{"http://a.test/"}, Config: []byte(`{"proxy-file": "/etc/passwd"}`)}, dir)
	if err == nil || !strings.Contains(err.Error(), "proxy-file is not allowed") {
		t.Errorf("job with proxy-file: %v, want it refused", err)
	}
}
