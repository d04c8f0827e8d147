package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/metrics"
	"github.com/hivecrawl/crawl/progress"
	"github.com/hivecrawl/crawl/testsite"
)

func TestMetricsListenAddr(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		bad      bool
	}{
		{in: ":9090", want: "127.0.0.1:9090"},
		{in: "9090", want: "127.0.0.1:9090"},
		{in: "127.0.0.1:0", want: "127.0.0.1:0"},
		{in: "localhost:2112", want: "localhost:2112"},
		{in: "0.0.0.0:2112", want: "0.0.0.0:2112"}, // the user's explicit choice
		{in: "[::1]:2112", want: "[::1]:2112"},
		{in: "127.0.0.1", bad: true},
		{in: "host:", bad: true},
		{in: "a:b:c", bad: true},
	} {
		got, err := metricsListenAddr(tt.in)
		if tt.bad != (err != nil) || got != tt.want {
			t.Errorf("metricsListenAddr(%q) = %q, %v; want %q (error: %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestMetricsFlagsValidated(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-linger", "5s", "http://127.0.0.1/"}, "needs --metrics-addr"},
		{[]string{"--metrics-addr", ":2112", "--metrics-linger", "-1s", "http://127.0.0.1/"}, "metrics-linger"},
		{[]string{"--metrics-addr", "nohostport", "http://127.0.0.1/"}, "metrics-addr"},
	} {
		var stderr bytes.Buffer
		err := run(context.Background(), tt.args, io.Discard, &stderr)
		if exitCode(err) != exitUsage || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d mentioning %q", tt.args, exitCode(err), stderr.String(), exitUsage, tt.want)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// eventually polls cond every 10ms until it holds or d has passed.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

var listenRE = regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)

// startMetricsCrawl runs the command in the background with args plus a metrics
// listener on a free loopback port, and returns that address, the stderr
// so far, and a function that stops the command (ending any linger) and
// returns its error.
func startMetricsCrawl(t *testing.T, args ...string) (addr string, stderr *lockedBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &lockedBuffer{}
	errc := make(chan error, 1)
	args = append([]string{"--metrics-addr", "127.0.0.1:0", "-o", os.DevNull}, args...)
	go func() { errc <- run(ctx, args, io.Discard, stderr) }()
	stopped := false
	var runErr error
	stop = func() error {
		if stopped {
			return runErr
		}
		stopped = true
		cancel()
		select {
		case runErr = <-errc:
		case <-time.After(30 * time.Second):
			t.Fatal("the crawl did not stop within 30s of its context ending")
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	if !eventually(10*time.Second, func() bool { return listenRE.MatchString(stderr.String()) }) {
		t.Fatalf("no metrics address logged in 10s:\n%s", stderr.String())
	}
	return listenRE.FindStringSubmatch(stderr.String())[1], stderr, stop
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(body)
}

// TestMetricsEndpointLingers crawls with --metrics-linger and reads the
// final values from /metrics after the crawl is over.
func TestMetricsEndpointLingers(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 50, PageBytes: 512})
	srv := httptest.NewServer(site)
	defer srv.Close()
	addr, stderr, stop := startMetricsCrawl(t, "--rate", "0", "--metrics-linger", "1m", srv.URL)
	if !eventually(30*time.Second, func() bool { return strings.Contains(stderr.String(), "crawl: done") }) {
		t.Fatalf("the crawl did not finish in 30s:\n%s", stderr.String())
	}
	if got := httpGet(t, "http://"+addr+"/healthz"); got != "ok\n" {
		t.Errorf("/healthz = %q", got)
	}
	body := httpGet(t, "http://"+addr+"/metrics")
	for _, want := range []string{
		fmt.Sprintf("crawl_requests_done_total %d\n", site.Unique()),
		"crawl_frontier_queued_requests 0\n",
		`crawl_build_info{goversion="`,
		"go_goroutines ",
		"process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	start := time.Now()
	if err := stop(); err != nil {
		t.Errorf("run after an interrupted linger: %v, want nil (the crawl itself finished)", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ending the linger took %s", d)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the metrics listener is still open after run returned")
	}
}

// newSiteCrawler builds a crawler over a fresh synthetic site.
func newSiteCrawler(t testing.TB, opts testsite.Options, cfg crawler.Config) (*crawler.Crawler, string) {
	t.Helper()
	srv := httptest.NewServer(testsite.New(opts))
	t.Cleanup(srv.Close)
	c, err := crawler.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv.URL + "/"
}

// TestProgressLogLine checks the plain progress line written when stderr is
// not a terminal.
func TestProgressLogLine(t *testing.T) {
	c, seed := newSiteCrawler(t, testsite.Options{Pages: 100, PageBytes: 256, Latency: 10 * time.Millisecond},
		crawler.Config{Concurrency: 2, Rate: -1, MaxPages: 80})
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	stop := startProgressEvery(c, nil, log, 80, time.Hour, 20*time.Millisecond)
	if _, err := c.Run(context.Background(), seed); err != nil {
		t.Fatal(err)
	}
	stop()
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	re := regexp.MustCompile(`level=INFO msg=progress done=\d+ failed=0 in_flight=\d+ queued=\d+ pages_per_second=[\d.]+ elapsed=\d+s( eta=\d+s)?$`)
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Errorf("progress log line %q does not match %s", l, re)
		}
	}
	if len(lines) < 3 {
		t.Errorf("%d progress lines for a crawl of about 400ms reported every 20ms:\n%s", len(lines), logs.String())
	}
	// Quiet (warnings only) means no progress at all.
	var quiet bytes.Buffer
	stop = startProgressEvery(c, nil, slog.New(slog.NewTextHandler(&quiet, &slog.HandlerOptions{Level: slog.LevelWarn})), 0, time.Hour, time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	stop()
	if quiet.Len() != 0 {
		t.Errorf("progress logged at warn level: %q", quiet.String())
	}
}

// TestProgressOnTerminal runs the command with stderr on a pseudo-terminal
// and checks that a status line is drawn in place, that log lines do not
// mix with it, and that the summary starts on a clean line.
func TestProgressOnTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if err := pty.Setsize(ptmx, &pty.Winsize{Rows: 24, Cols: 120}); err != nil {
		t.Fatal(err)
	}
	var screen lockedBuffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(&screen, ptmx) // ends when the pty is closed
	}()

	site := testsite.New(testsite.Options{Pages: 120, PageBytes: 256, Latency: 10 * time.Millisecond})
	srv := httptest.NewServer(site)
	defer srv.Close()
	err = run(context.Background(), []string{"--rate", "0", "--concurrency", "2", "--per-host", "2",
		"--max-pages", "100", "-o", os.DevNull, srv.URL}, io.Discard, tty)
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(5*time.Second, func() bool { return strings.Contains(screen.String(), "pages/s\r\n") }) {
		t.Fatalf("no summary on the terminal:\n%q", screen.String())
	}
	out := screen.String()
	status := regexp.MustCompile(`\rcrawl: done \d+  failed \d+  in flight \d+  queued \d+  [\d.]+ pages/s  elapsed \d+s  ETA (\d+s|\?)\x1b\[K`)
	if n := len(status.FindAllString(out, -1)); n < 2 {
		t.Errorf("%d status lines drawn over a crawl of about 500ms at 250ms; want at least 2:\n%q", n, out)
	}
	// The log line comes first on its own line; the summary after an erased
	// status line. (The terminal turns \n into \r\n.)
	if !regexp.MustCompile(`(^|\n)time=\S+ level=INFO msg="crawl starting"`).MatchString(out) {
		t.Errorf("log line mixed with the status:\n%q", out)
	}
	if !regexp.MustCompile(`\r\x1b\[Kcrawl: done \d+, failed 0, `).MatchString(out) {
		t.Errorf("the summary does not follow an erased status line:\n%q", out)
	}
	tty.Close()
	ptmx.Close()
	<-copied
}

// BenchmarkProgress measures what the observers cost a crawl of 2000 pages
// of the synthetic site (no latency: the crawler is the bottleneck), in four
// modes: nop (no observer), metrics (the Prometheus observer), progress
// (metrics plus the terminal status line as the command draws it, every
// 250ms, reading the frontier's stats each time) and progress-1ms (the same
// redrawn every millisecond: a stress test). Each iteration crawls once in
// every mode, in rotating order, so that a busy machine slows all modes
// alike; the ratios are the result.
func BenchmarkProgress(b *testing.B) {
	const pages = 2000
	site := testsite.New(testsite.Options{Pages: pages, PageBytes: 2048})
	srv := httptest.NewServer(site)
	b.Cleanup(srv.Close)
	modes := []string{"nop", "metrics", "progress", "progress-1ms"}
	var total [4]time.Duration
	crawlOnce := func(mode string) {
		cfg := crawler.Config{Concurrency: 8, PerHost: 8, Rate: -1}
		var m *metrics.Metrics
		if mode != "nop" {
			var err error
			if m, err = metrics.New(prometheus.NewRegistry(), metrics.Options{}); err != nil {
				b.Fatal(err)
			}
			cfg.Observer = m
		}
		c, err := crawler.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		stop := func() {}
		if every := map[string]time.Duration{"progress": progressTTYInterval, "progress-1ms": time.Millisecond}[mode]; every > 0 {
			m.SetFrontierStats(frontierStats(c))
			line := progress.NewLine(io.Discard, 120)
			stop = startProgressEvery(c, line, slog.New(slog.NewTextHandler(line, nil)), pages, every, time.Hour)
		}
		sum, err := c.Run(context.Background(), srv.URL+"/")
		stop()
		if err != nil || sum.Done < pages { // pages, plus a robots.txt record per disallowed link
			b.Fatalf("crawl: %v, %d done", err, sum.Done)
		}
	}
	n := 0
	for b.Loop() {
		for k := range modes {
			i := (n + k) % len(modes)
			start := time.Now()
			crawlOnce(modes[i])
			total[i] += time.Since(start)
		}
		n++
	}
	for i, mode := range modes {
		b.ReportMetric(total[i].Seconds()/float64(n), "s/crawl-"+mode)
	}
	b.ReportMetric(total[1].Seconds()/total[0].Seconds(), "metrics/nop")
	b.ReportMetric(total[2].Seconds()/total[1].Seconds(), "progress/metrics")
	b.ReportMetric(total[3].Seconds()/total[1].Seconds(), "progress-1ms/metrics")
}
