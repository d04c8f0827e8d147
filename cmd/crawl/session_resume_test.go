package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier/redis/redistest"
	"github.com/hivecrawl/crawl/testsite"
)

// gatedSite is a site whose first page "/" opens a session (sets the
// cookie sid, a new value each time) and whose pages /p/N (N < pages)
// answer 403 without a session it opened. It counts the sessions opened,
// the pages served and refused.
type gatedSite struct {
	srv   *httptest.Server
	pages int

	mu       sync.Mutex
	sessions map[string]bool
	served   map[string]int
	refused  []string
}

func newGatedSite(t *testing.T, pages int) *gatedSite {
	t.Helper()
	g := &gatedSite{pages: pages, sessions: map[string]bool{}, served: map[string]int{}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/robots.txt" {
			w.Write([]byte("User-agent: *\nAllow: /\n"))
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if r.URL.Path == "/" {
			sid := "s3ss" + strconv.Itoa(len(g.sessions))
			g.sessions[sid] = true
			g.served["/"]++
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
			fmt.Fprint(w, `<a href="/p/0">start</a>`)
			return
		}
		if c, err := r.Cookie("sid"); err != nil || !g.sessions[c.Value] {
			g.refused = append(g.refused, r.URL.Path)
			http.Error(w, "no session", http.StatusForbidden)
			return
		}
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/p/"))
		if err != nil || n >= g.pages {
			http.NotFound(w, r)
			return
		}
		g.served[r.URL.Path]++
		time.Sleep(2 * time.Millisecond) // a server's latency, not synchronisation
		for i := 1; i <= 4; i++ {
			fmt.Fprintf(w, `<a href="/p/%d">next</a> `, min(n+i, g.pages-1))
		}
	}))
	t.Cleanup(g.srv.Close)
	return g
}

// count returns how many distinct pages were served, how many sessions
// opened and which requests were refused.
func (g *gatedSite) count() (pages, sessions int, refused []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.served), len(g.sessions), append([]string(nil), g.refused...)
}

// waitPages blocks until the site has served n distinct pages.
func (g *gatedSite) waitPages(t *testing.T, p *crawlProc, n int) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if got, _, _ := g.count(); got >= n {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("site served fewer than %d pages", n)
		case err := <-p.done:
			t.Fatalf("crawl ended (%v) early:\n%s", err, p.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestSessionSurvivesSIGKILL kills a --session --state crawl twice and
// resumes it: the resumed runs send the session cookie the first run got
// (kept in the state directory, mode 0600), so no page is refused and the
// session is opened once.
func TestSessionSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	g := newGatedSite(t, 400)
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--session", "--state", state, "-o", filepath.Join(state, "..", "out.jsonl"),
		"--rate", "0", "--per-host", "4", "--quiet"}
	for _, at := range []int{60, 180} {
		p := startCrawl(t, bin, append(args, g.srv.URL+"/")...)
		g.waitPages(t, p, at)
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
	}
	p := startCrawl(t, bin, args...)
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("resumed crawl exit %d\n%s", code, p.stderr.String())
	}
	pages, sessions, refused := g.count()
	if pages != g.pages+1 {
		t.Errorf("served %d pages, want %d", pages, g.pages+1)
	}
	if sessions != 1 || len(refused) > 0 {
		t.Errorf("%d sessions opened, %d requests refused (%v): the resumed runs lost the session", sessions, len(refused), refused)
	}
	fi, err := os.Stat(filepath.Join(state, cookiesFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s mode %v, want 0600", cookiesFile, fi.Mode().Perm())
	}
	if strings.Contains(p.stderr.String(), "s3ss") {
		t.Errorf("a cookie value on stderr:\n%s", p.stderr.String())
	}
}

// TestSessionSharedByFleet runs two workers on one job: the first opens
// the session alone, then a second joins and the first is stopped; the
// second finishes the job with the cookie the first got, shared in
// Redis, so no page is refused and the session is opened once.
func TestSessionSharedByFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs redis-server")
	}
	t.Parallel()
	bin := buildBinary(t)
	srv := redistest.Start(t)
	g := newGatedSite(t, 300)
	args := []string{"--session", "--frontier", srv.URL(0), "--job", "gated", "--rate", "0", "--per-host", "2", "--quiet",
		"--lease-ttl", "5s"}
	first := startCrawl(t, bin, append(args, "-o", filepath.Join(t.TempDir(), "a.jsonl"), g.srv.URL+"/")...)
	g.waitPages(t, first, 40)
	second := startCrawl(t, bin, append(args, "-o", filepath.Join(t.TempDir(), "b.jsonl"))...)
	g.waitPages(t, second, 80)
	first.cmd.Process.Signal(syscall.SIGKILL)
	first.wait(t, 10*time.Second)
	if code := second.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("second worker exit %d\n%s", code, second.stderr.String())
	}
	pages, sessions, refused := g.count()
	if pages != g.pages+1 {
		t.Errorf("served %d pages, want %d", pages, g.pages+1)
	}
	if sessions != 1 || len(refused) > 0 {
		t.Errorf("%d sessions opened, %d requests refused (%v): the workers did not share the session", sessions, len(refused), refused)
	}
}

// waitServed blocks until site has served n pages of its private hosts.
func waitServed(t *testing.T, site *testsite.Sessions, p *crawlProc, n int) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for len(site.Served()) < n {
		select {
		case <-deadline:
			t.Fatalf("site served %d of %d pages", len(site.Served()), n)
		case err := <-p.done:
			t.Fatalf("crawl ended (%v) early:\n%s", err, p.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// checkLoginHost checks that every page of site's login host was served,
// none more than twice (once more after a kill), after logins logins.
func checkLoginHost(t *testing.T, site *testsite.Sessions, logins int) {
	t.Helper()
	served := site.Served()
	for n := range site.Options().Pages {
		path := "/p/" + strconv.Itoa(n)
		if n == 0 {
			path = "/"
		}
		if c := served[site.Login+path]; c == 0 || c > 2 {
			t.Errorf("%s served %d times", path, c)
		}
	}
	if got := site.Logins(); got != logins {
		t.Errorf("%d logins, want %d", got, logins)
	}
	if r := site.Refused(site.Login); r > 0 {
		t.Errorf("the login host refused %d requests", r)
	}
}

// TestLoginSurvivesSIGKILL kills a crawl that logged in with --state, and
// resumes it twice: the resumed runs use the session the first one
// opened, restored from the state directory: one login in all.
func TestLoginSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	site := startSessions(t, testsite.SessionsOptions{Pages: 300, LogoutAfter: 10000})
	state := filepath.Join(t.TempDir(), "state")
	args := []string{"--config", writeLoginConfig(t, site, ""), "--state", state, "--rate", "200", "--quiet", "--max-depth", "20"}
	for _, at := range []int{40, 120} {
		p := startCrawl(t, bin, append(args, site.Login+"/")...)
		waitServed(t, site, p, at)
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
	}
	p := startCrawl(t, bin, args...)
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("resumed crawl exit %d\n%s", code, p.stderr.String())
	}
	checkLoginHost(t, site, 1)
}

// TestFleetSharesLogin starts two fleet workers on one job at once,
// against a host behind a login form: they log in once between them and
// crawl every page with that session.
func TestFleetSharesLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs redis-server")
	}
	t.Parallel()
	bin := buildBinary(t)
	srv := redistest.Start(t)
	site := startSessions(t, testsite.SessionsOptions{Pages: 200, LogoutAfter: 10000})
	args := []string{"--config", writeLoginConfig(t, site, ""), "--frontier", srv.URL(0), "--job", "login",
		"--rate", "200", "--quiet", "--max-depth", "20"}
	a := startCrawl(t, bin, append(args, site.Login+"/")...)
	b := startCrawl(t, bin, append(args, site.Login+"/")...)
	for _, p := range []*crawlProc{a, b} {
		if code := p.wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("worker exit %d\n%s", code, p.stderr.String())
		}
	}
	checkLoginHost(t, site, 1)
}
