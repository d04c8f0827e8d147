package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/testsite"
)

func TestBadInputExitsTwo(t *testing.T) {
	dir := t.TempDir()
	unknownKey := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknownKey, []byte("concurrency: 4\nconcurency: 8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("concurrency: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string // in the error line
	}{
		{"unparsable URL", []string{"http://[::1"}, "seed"},
		{"ftp seed", []string{"ftp://example.com/"}, "seed"},
		{"no seed", []string{}, "no URL"},
		{"unknown config key", []string{"--config", unknownKey, "http://127.0.0.1/"}, "concurency"},
		{"bad yaml", []string{"--config", badYAML, "http://127.0.0.1/"}, "config"},
		{"missing config", []string{"--config", filepath.Join(dir, "nope.yaml"), "http://127.0.0.1/"}, "config"},
		{"negative concurrency", []string{"--concurrency", "-3", "http://127.0.0.1/"}, "concurrency"},
		{"unknown flag", []string{"--frobnicate", "http://127.0.0.1/"}, "frobnicate"},
		{"bad scope", []string{"--scope", "planet", "http://127.0.0.1/"}, "scope"},
		{"bad regex", []string{"--include", "(", "http://127.0.0.1/"}, "regex"},
		{"bad size", []string{"--max-body", "lots", "http://127.0.0.1/"}, "max-body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if code := exitCode(err); code != exitUsage {
				t.Fatalf("exit %d (err %v), want %d", code, err, exitUsage)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
		})
	}
}

func TestConfigFileAndFlagOverride(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	cfg := "concurrency: 3\nper-host: 4\nrate: 0\nmax-body: 2MiB\ninclude: ['/p/']\nseeds: [http://127.0.0.1:1/]\n"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseArgs([]string{"--config", path, "--per-host", "7"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Concurrency != 3 || o.PerHost != 7 || o.Rate != 0 || o.MaxBody != 2<<20 || len(o.Include) != 1 || len(o.Seeds) != 1 {
		t.Errorf("options %+v", o)
	}
	if c := o.crawlerConfig(); c.Rate != 0 || c.HostDelay() != 0 {
		t.Errorf("--rate 0 should mean unlimited, got rate %g delay %s", c.Rate, c.HostDelay())
	}
}

func TestConfigStripParam(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		flags []string
		want  []string
	}{
		{"flag name", "strip-param: [sid, 'utm_*']\n", nil, []string{"sid", "utm_*"}},
		{"plural", "strip-params: [sid]\n", nil, []string{"sid"}},
		{"both keys", "strip-param: [sid]\nstrip-params: [ref]\n", nil, []string{"sid", "ref"}},
		{"flag adds to the file", "strip-param: [sid]\n", []string{"--strip-param", "ref"}, []string{"sid", "ref"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"--config", path}, tt.flags...)
			o, err := parseArgs(append(args, "http://127.0.0.1:1/"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.StripParams, tt.want) {
				t.Errorf("strip params %q, want %q", o.StripParams, tt.want)
			}
			norm := o.crawlerConfig().Normalizer
			got, err := norm.Canonical("http://127.0.0.1:1/p?sid=1&ref=2&utm_source=3&keep=4")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.want {
				if strings.Contains(got, strings.TrimSuffix(p, "*")) {
					t.Errorf("%s still has %s", got, p)
				}
			}
			if !strings.Contains(got, "keep=4") {
				t.Errorf("%s lost keep=4", got)
			}
		})
	}
}

func TestExampleConfigLoads(t *testing.T) {
	o := defaultOptions()
	if err := loadConfig("../../configs/crawl.yaml", &o); err != nil {
		t.Fatal(err)
	}
	if err := o.validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRunCrawlsToFile(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 200, LinksPerPage: 8, PageBytes: 512})
	srv := httptest.NewServer(site)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--rate", "0", "--per-host", "4", "-o", out, "--quiet", srv.URL}, &bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	n := checkJSONLines(t, out)
	if n < site.Unique() || site.Unique() != len(site.Reachable(0)) {
		t.Errorf("%d records, server saw %d unique pages of %d", n, site.Unique(), len(site.Reachable(0)))
	}
	if !strings.Contains(stderr.String(), "done ") {
		t.Errorf("no summary on stderr: %q", stderr.String())
	}
}

// checkJSONLines asserts that every line of the file is one JSON object
// and returns how many there are.
func checkJSONLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v: %q", n+1, err, sc.Text())
		}
		if rec["url"] == nil {
			t.Fatalf("line %d has no url", n+1)
		}
		n++
	}
	return n
}

// binary is the crawl binary the tests run, built once per test process
// (a build costs seconds) into a directory TestMain removes.
var binary struct {
	once      sync.Once
	dir, path string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	closeDBServers()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// buildBinary returns the path of the crawl binary, building it on first
// use.
func buildBinary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "crawl-test-bin"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "crawl")
		if out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

func TestInterruptStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	site := testsite.New(testsite.Options{Pages: 5000, LinksPerPage: 10, PageBytes: 1024, Latency: 20 * time.Millisecond})
	srv := httptest.NewServer(site)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	grace := 2 * time.Second
	cmd := exec.Command(bin, "--rate", "0", "--per-host", "8", "--grace", grace.String(), "-o", out, srv.URL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Interrupt once the crawl is well under way.
	deadline := time.Now().Add(30 * time.Second)
	for site.Unique() < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
			t.Errorf("exit: %v, want status %d\n%s", err, exitInterrupted, stderr.String())
		}
	case <-time.After(grace + 10*time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running %s after SIGINT", time.Since(sent))
	}
	if n := checkJSONLines(t, out); n == 0 || n >= len(site.Reachable(0)) {
		t.Errorf("%d records: want a partial crawl", n)
	}
	if !strings.Contains(stderr.String(), "pages/s") {
		t.Errorf("no summary on stderr:\n%s", stderr.String())
	}
}
