package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier/redis/redistest"
	"github.com/hivecrawl/crawl/testsite"
)

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"https://example.com/", "--max-pages", "3", "-h"}} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if code := exitCode(err); code != exitOK || stderr.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing", args, code, stderr.String())
		}
		help := stdout.String()
		for _, want := range []string{"Usage:", "\nInput:\n", "\nScope:\n", "\nPoliteness and limits:\n", "\nOutput:\n",
			"\nResume and fleet:\n", "\nMetrics:\n", "\nExamples:\n", "-o, --output file", "-q, --quiet",
			"--max-body size", "(default 10MiB)", "--include regex", "--frontier url", "--metrics-addr addr", ":2112"} {
			if !strings.Contains(help, want) {
				t.Errorf("%q: help lacks %q:\n%s", args, want, help)
			}
		}
		if strings.Contains(help, "9090") || strings.Contains(help, "10485760") {
			t.Errorf("%q: help names Prometheus's port or bytes for 10MiB:\n%s", args, help)
		}
		if n := strings.Count(help, "\n  crawl "); n < 3+4 { // four usage lines and three examples
			t.Errorf("%q: %d command lines in the help; want the usages and three examples", args, n)
		}
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"status", "--help"}, []string{"crawl status", "--state dir", "--frontier url", "--job name"}},
		{[]string{"purge", "-h"}, []string{"crawl purge", "--frontier url", "--job name", "--yes"}},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tt.args, &stdout, &stderr)
		if exitCode(err) != exitOK {
			t.Errorf("%q: exit %d, stderr %q", tt.args, exitCode(err), stderr.String())
		}
		for _, want := range tt.want {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("%q: help lacks %q:\n%s", tt.args, want, stdout.String())
			}
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-V"}} {
		var stdout bytes.Buffer
		if err := run(context.Background(), args, &stdout, io.Discard); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		v := stdout.String()
		if !strings.HasPrefix(v, "crawl 0.") || !strings.Contains(v, "commit ") || !strings.Contains(v, "go1.") {
			t.Errorf("%q printed %q; want the version, the commit and the Go version", args, v)
		}
	}
}

func TestFlagsAnywhere(t *testing.T) {
	o, err := parseArgs([]string{"http://127.0.0.1:1/", "--max-pages", "10", "-o", "out.jsonl", "-q",
		"--include", "/a/", "http://127.0.0.1:2/", "--include=/b/", "-max-depth", "3", "--format", "url"})
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxPages != 10 || o.Output != "out.jsonl" || !o.Quiet || o.MaxDepth != 3 || o.Format != formatURL ||
		!slices.Equal(o.Include, []string{"/a/", "/b/"}) ||
		!slices.Equal(o.Seeds, []string{"http://127.0.0.1:1/", "http://127.0.0.1:2/"}) {
		t.Errorf("options %+v", o)
	}
	// "--" ends the flags.
	if _, err := parseArgs([]string{"--", "--max-pages"}); err == nil || !strings.Contains(err.Error(), `seed "--max-pages"`) {
		t.Errorf("after --: %v; want the word taken as a seed", err)
	}
}

func TestActionableErrors(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "crawl.yaml")
	if err := os.WriteFile(conf, []byte("max_pages: 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string // in the one line on stderr
		not  string   // not in it
	}{
		{"duration without unit", []string{"--timeout", "5", "http://127.0.0.1:1/"}, exitUsage,
			[]string{"--timeout 5", "unit", "5s"}, ""},
		{"bad duration", []string{"--grace", "soon", "http://127.0.0.1:1/"}, exitUsage, []string{"--grace", "30s"}, ""},
		{"unknown config key", []string{"--config", conf, "http://127.0.0.1:1/"}, exitUsage,
			[]string{`unknown key "max_pages" in ` + conf, `did you mean "max-pages"?`}, "main.options"},
		{"misspelt flag", []string{"--max-pagse", "3", "http://127.0.0.1:1/"}, exitUsage, []string{"--max-pagse", "did you mean --max-pages?"}, ""},
		{"host without scheme", []string{"www.example.com"}, exitUsage, []string{"did you mean https://www.example.com/?"}, "invalid"},
		{"host and path without scheme", []string{"example.com/docs"}, exitUsage, []string{"did you mean https://example.com/docs?"}, ""},
		{"localhost without scheme", []string{"localhost:8080"}, exitUsage, []string{"did you mean http://localhost:8080/?"}, ""},
		{"address without scheme", []string{"127.0.0.1:8080/a"}, exitUsage, []string{"did you mean http://127.0.0.1:8080/a?"}, ""},
		{"misspelt subcommand", []string{"stauts", "--state", dir}, exitUsage, []string{`did you mean "crawl status"?`}, ""},
		{"a word", []string{"crawling"}, exitUsage, []string{`"crawling" is not a URL`, "http://"}, ""},
		{"ftp", []string{"ftp://example.com/"}, exitUsage, []string{"only http:// and https://"}, ""},
		{"too many workers", []string{"--concurrency", "1000000", "http://127.0.0.1:1/"}, exitUsage,
			[]string{"--concurrency", "10000", "memory"}, ""},
		{"output into a missing folder", []string{"-q", "-o", filepath.Join(dir, "no", "such", "out.jsonl"), "http://127.0.0.1:1/"}, exitFailures,
			[]string{"-o", "no such file or directory"}, "usage"},
		{"status of a missing state", []string{"status", "--state", filepath.Join(dir, "nope")}, exitFailures,
			[]string{"not a state directory"}, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if code := exitCode(err); code != tt.code {
				t.Errorf("exit %d (%v), want %d", code, err, tt.code)
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Contains(msg, "\n") {
				t.Errorf("stderr is not one line: %q", msg)
			}
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr %q lacks %q", msg, want)
				}
			}
			if tt.not != "" && strings.Contains(msg, tt.not) {
				t.Errorf("stderr %q has %q", msg, tt.not)
			}
		})
	}
}

// outcomeSite serves a page linking to a missing page, a page robots.txt
// disallows, a page that fails with 500 and a good page.
func outcomeSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "User-agent: *\nDisallow: /private\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<a href="/missing">m</a> <a href="/private/x">p</a> <a href="/broken">b</a> <a href="/good">g</a>`)
	})
	mux.HandleFunc("/good", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "oops", http.StatusInternalServerError) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestSummaryCountsFailures checks that 4xx and 5xx records are failures,
// in the summary by class and for --fail-on-error, and that URLs robots.txt
// disallows are counted as blocked, seeds included.
func TestSummaryCountsFailures(t *testing.T) {
	t.Parallel()
	srv := outcomeSite(t)
	tests := []struct {
		name    string
		args    []string
		code    int
		summary string
	}{
		{"site", []string{srv.URL + "/"}, exitOK, "crawl: done 2, failed 2 (http_4xx 1, http_5xx 1), blocked by robots.txt 1, "},
		{"fail on error", []string{"--fail-on-error", srv.URL + "/"}, exitFailures, "crawl: done 2, failed 2 (http_4xx 1, http_5xx 1), blocked by robots.txt 1, "},
		{"404 alone fails", []string{"--fail-on-error", srv.URL + "/missing"}, exitFailures, "crawl: done 0, failed 1 (http_4xx 1), "},
		{"blocked seed", []string{"--fail-on-error", srv.URL + "/private/x"}, exitOK, "crawl: done 0, failed 0, blocked by robots.txt 1, "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := append([]string{"--rate", "0", "--retries", "0", "-q", "-o", os.DevNull}, tt.args...)
			err := run(context.Background(), args, io.Discard, &stderr)
			if code := exitCode(err); code != tt.code {
				t.Errorf("exit %d (%v), want %d\n%s", code, err, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.summary) {
				t.Errorf("stderr %q; want the summary %q", stderr.String(), tt.summary)
			}
		})
	}
}

func TestFormatURL(t *testing.T) {
	t.Parallel()
	srv := outcomeSite(t)
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"--format", "url", "--rate", "0", "--retries", "0", "-q", srv.URL + "/"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	got := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	slices.Sort(got)
	want := []string{srv.URL + "/", srv.URL + "/good"}
	if !slices.Equal(got, want) {
		t.Errorf("--format url printed %q, want %q (the URLs recorded without an error)", got, want)
	}
	for _, line := range got {
		if u, err := url.Parse(line); err != nil || u.Scheme != "http" {
			t.Errorf("line %q is not a URL", line)
		}
	}
	if _, err := parseArgs([]string{"--format", "csv", srv.URL}); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "json or url") {
		t.Errorf("--format csv: %v", err)
	}
}

// TestResumeSaysWhat runs a --state crawl to its page budget, resumes it
// (it says how much is queued), and runs it again when it is finished (it
// says so, and fetches nothing).
func TestResumeSaysWhat(t *testing.T) {
	t.Parallel()
	site := testsite.New(testsite.Options{Pages: 60, LinksPerPage: 4, PageBytes: 128})
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	args := []string{"--state", state, "-o", filepath.Join(dir, "out.jsonl"), "--rate", "0", "--concurrency", "1"}

	var stderr bytes.Buffer
	if err := run(context.Background(), append(args, "--max-pages", "10", srv.URL+"/"), io.Discard, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "resuming") {
		t.Errorf("a new crawl says it resumes:\n%s", stderr.String())
	}
	stderr.Reset()
	if err := run(context.Background(), args, io.Discard, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !regexp.MustCompile(`crawl: resuming: [1-9][0-9,]* queued, 0 were in flight \(done 10, failed 0 before\)`).MatchString(stderr.String()) {
		t.Errorf("resumed crawl says:\n%s", stderr.String())
	}
	fetched := site.Unique()
	stderr.Reset()
	if err := run(context.Background(), args, io.Discard, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	msg := stderr.String()
	if !strings.Contains(msg, "is finished (done ") || strings.Contains(msg, "done 0") || strings.Contains(msg, "resuming") {
		t.Errorf("finished crawl run again says:\n%s", msg)
	}
	if site.Unique() != fetched || site.Duplicates() != 0 {
		t.Errorf("finished crawl run again fetched pages")
	}
}

// syncBuffer is a buffer that a process writes and a test reads at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startBinary starts the crawl binary with its stderr readable while it
// runs; the process is killed when the test ends.
func startBinary(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, <-chan int) {
	t.Helper()
	cmd := exec.Command(buildBinary(t), args...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan int, 1)
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			exited <- ee.ExitCode()
		case err != nil:
			exited <- -1
		default:
			exited <- 0
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, stderr, exited
}

// waitFor waits until cond holds or the process exits; the limit is a
// hang guard, not a timing assertion.
func waitFor(t *testing.T, what string, exited <-chan int, stderr *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for !cond() {
		select {
		case code := <-exited:
			t.Fatalf("crawl exited (%d) before %s:\n%s", code, what, stderr.String())
		case <-deadline:
			t.Fatalf("no %s after 2 minutes:\n%s", what, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitExit waits for the process to exit, with a generous hang guard.
func waitExit(t *testing.T, exited <-chan int, stderr *syncBuffer) int {
	t.Helper()
	select {
	case code := <-exited:
		return code
	case <-time.After(2 * time.Minute):
		t.Fatalf("crawl still running 2 minutes after Ctrl-C:\n%s", stderr.String())
		return -1
	}
}

// stuckSite serves pages whose responses never come until the test ends,
// and counts the requests it holds.
func stuckSite(t *testing.T) (*httptest.Server, func() int) {
	t.Helper()
	release := make(chan struct{})
	var mu sync.Mutex
	held := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html")
			for i := range 20 {
				fmt.Fprintf(w, `<a href="/p/%d">%d</a>`, i, i)
			}
			return
		}
		mu.Lock()
		held++
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	return srv, func() int {
		mu.Lock()
		defer mu.Unlock()
		return held
	}
}

// TestSecondInterruptQuits stops a crawl whose requests never end: the
// first Ctrl-C says what it waits for, the second quits at once with 130,
// and the records written so far are whole lines.
func TestSecondInterruptQuits(t *testing.T) {
	t.Parallel()
	srv, held := stuckSite(t)
	out := filepath.Join(t.TempDir(), "out.jsonl")
	cmd, stderr, exited := startBinary(t, "--ignore-robots", "--rate", "0", "--per-host", "3", "--concurrency", "3",
		"--grace", "1h", "-o", out, srv.URL+"/")
	waitFor(t, "3 requests held", exited, stderr, func() bool { return held() >= 3 })
	cmd.Process.Signal(syscall.SIGINT)
	waitFor(t, "the stopping message", exited, stderr, func() bool {
		return strings.Contains(stderr.String(), "crawl: stopping: waiting up to 1h0m0s for 3 requests; Ctrl-C again to quit now")
	})
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, exited, stderr); code != exitInterrupted {
		t.Errorf("exit %d after the second Ctrl-C, want %d\n%s", code, exitInterrupted, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' || checkJSONLines(t, out) != 1 {
		t.Errorf("output %q: want the seed's record, a whole line", data)
	}
}

// TestFleetWorkerStopsWithRedisDown kills Redis under a fleet worker and
// checks that Ctrl-C still ends it (within --grace and a few seconds; the
// test only guards against a hang), and that a second Ctrl-C is not
// needed.
func TestFleetWorkerStopsWithRedisDown(t *testing.T) {
	t.Parallel()
	redisSrv := redistest.Start(t)
	site := testsite.New(testsite.Options{Pages: 2000, LinksPerPage: 8, PageBytes: 256, Latency: 20 * time.Millisecond})
	srv := httptest.NewServer(site)
	defer srv.Close()
	cmd, stderr, exited := startBinary(t, "--frontier", redisSrv.URL(0), "--job", "down", "--rate", "0",
		"--per-host", "4", "--grace", "1s", "-q", "-o", os.DevNull, srv.URL+"/")
	waitFor(t, "pages fetched", exited, stderr, func() bool { return site.Unique() >= 30 })
	redisSrv.Kill()
	cmd.Process.Signal(syscall.SIGINT)
	if code := waitExit(t, exited, stderr); code != exitInterrupted {
		t.Errorf("exit %d, want %d\n%s", code, exitInterrupted, stderr.String())
	}
}
