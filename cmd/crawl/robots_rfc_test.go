package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
)

// robotsSite serves one robots.txt and a home page linking to every path
// under test, and logs the request URI of every request it gets.
type robotsSite struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]int
}

func newRobotsSite(t *testing.T, robotsTxt string, paths []string) *robotsSite {
	t.Helper()
	s := &robotsSite{seen: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen[r.RequestURI]++
		s.mu.Unlock()
		switch r.URL.Path {
		case "/robots.txt":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, robotsTxt)
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<title>home</title>")
			for _, p := range paths {
				fmt.Fprintf(w, "<a href=%q>%s</a>\n", p, p)
			}
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<title>page</title>")
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *robotsSite) requests(uri string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[uri]
}

// TestRobotsRFC9309EndToEnd crawls, through the command, sites whose
// robots.txt turns on each point of RFC 9309 the old parser got wrong
// (issue 12 §1), and judges by the server's own request log which pages
// were fetched.
func TestRobotsRFC9309EndToEnd(t *testing.T) {
	tests := []struct {
		name      string
		robotsTxt string
		fetched   []string // request URIs the server must see once
		refused   []string // request URIs it must never see
	}{
		{
			name:      "equal lengths: Allow wins, whatever the order",
			robotsTxt: "User-agent: *\nDisallow: /tie\nAllow: /tie\nDisallow: /tied\n",
			fetched:   []string{"/tie"},
			refused:   []string{"/tied"},
		},
		{
			name:      "length is the pattern's octets: /*.html is 7",
			robotsTxt: "User-agent: *\nAllow: /x/page.\nDisallow: /*.html\n",
			fetched:   []string{"/x/page.html"},
			refused:   []string{"/x/y.html"},
		},
		{
			name:      "patterns are percent-encoded like URLs",
			robotsTxt: "User-agent: *\nDisallow: /foo/bar/\nAllow: /foo/bar/ツ\n",
			fetched:   []string{"/foo/bar/%E3%83%84"},
			refused:   []string{"/foo/bar/baz"},
		},
		{
			name:      "# starts a comment anywhere",
			robotsTxt: "User-agent: *\nDisallow: /foo/quz#qux\n",
			fetched:   []string{"/foo/qu"},
			refused:   []string{"/foo/quz", "/foo/quzz"},
		},
		{
			name:      "a partial BOM does not cost the first line",
			robotsTxt: "\xef\xbbUser-agent: *\nDisallow: /bom\n",
			fetched:   []string{"/ok"},
			refused:   []string{"/bom"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := newRobotsSite(t, tt.robotsTxt, append(append([]string(nil), tt.fetched...), tt.refused...))
			out := filepath.Join(t.TempDir(), "out.jsonl")
			var stderr bytes.Buffer
			if err := run(context.Background(), []string{"--rate", "0", "--per-host", "4", "--quiet", "-o", out, site.URL + "/"}, &bytes.Buffer{}, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			for _, p := range tt.fetched {
				if n := site.requests(p); n != 1 {
					t.Errorf("%s requested %d times, want 1", p, n)
				}
			}
			for _, p := range tt.refused {
				if n := site.requests(p); n != 0 {
					t.Errorf("%s requested %d times: robots.txt disallows it", p, n)
				}
			}
			recs := map[string]crawler.Result{}
			for _, r := range readLines[crawler.Result](t, out) {
				recs[strings.TrimPrefix(r.URL, site.URL)] = r
			}
			for _, p := range tt.refused {
				if r, ok := recs[p]; !ok || r.Error != crawler.ClassRobots || r.FetchedAt.IsZero() {
					t.Errorf("%s: record %+v, want class %q with fetched_at", p, r, crawler.ClassRobots)
				}
			}
		})
	}
}

// TestUnreachableSeed checks issue 12 §3.1 through the command: a seed
// whose host refuses connections fails with class connect after the
// retries asked for, is recorded with the time of its attempt, and fails
// the run under --fail-on-error. (It used to wait two minutes on the
// robots.txt cache and end as robots_unavailable, fetched_at zero.)
func TestUnreachableSeed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	seed := "http://" + ln.Addr().String() + "/"
	ln.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	err = run(context.Background(), []string{"--retries", "1", "--fail-on-error", "--quiet", "-o", out, seed}, &bytes.Buffer{}, &stderr)
	if code := exitCode(err); code != exitFailures {
		t.Errorf("exit %d (%v), want %d\n%s", code, err, exitFailures, stderr.String())
	}
	recs := readLines[crawler.Result](t, out)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.URL != seed || r.Error != fetch.ClassConnect || r.Attempts != 2 || r.FetchedAt.IsZero() {
		t.Errorf("record %+v: want %s failed as %q after 2 attempts, with fetched_at", r, seed, fetch.ClassConnect)
	}
}
