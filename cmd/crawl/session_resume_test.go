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
