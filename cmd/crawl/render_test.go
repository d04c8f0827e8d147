package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/internal/testproc"
	"github.com/hivecrawl/crawl/render"
	"github.com/hivecrawl/crawl/testsite"
)

// needBrowser skips a test without a browser, except under CI=true.
func needBrowser(t *testing.T) {
	t.Helper()
	if _, err := render.Find(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs a browser (.ci/run installs chromium): %v", err)
		}
		t.Skipf("no browser: %v", err)
	}
}

// renderRecord is the part of a JSON-lines record the render tests read.
type renderRecord struct {
	URL         string   `json:"url"`
	Error       string   `json:"error"`
	Title       string   `json:"title"`
	Rendered    bool     `json:"rendered"`
	Subrequests int      `json:"subrequests"`
	Blocked     int      `json:"blocked"`
	XHR         []string `json:"xhr"`
}

// renderRecords reads the JSON-lines records of path, by URL path; a URL
// recorded twice fails the test.
func renderRecords(t *testing.T, path, base string) map[string]renderRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := make(map[string]renderRecord)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r renderRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%v: %q", err, sc.Text())
		}
		p := strings.TrimPrefix(r.URL, base)
		if _, dup := out[p]; dup {
			t.Errorf("%s recorded twice", p)
		}
		out[p] = r
	}
	return out
}

// TestRenderAlways crawls the test app with --render always: every route
// (the late ones, linked only by a timer, included) and every server page
// is reached and recorded once, each document fetched once; no
// robots-disallowed path, image or font is requested; the price that
// exists only in the rendered DOM is extracted.
func TestRenderAlways(t *testing.T) {
	needBrowser(t)
	app := testsite.NewApp(testsite.AppOptions{Items: 3, Pages: 3})
	srv := httptest.NewServer(app)
	defer srv.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rules.yaml")
	rules := "rules:\n  - name: item\n    url: '/app/item/'\n    fields:\n      - name: price\n        selector: .price\n"
	if err := os.WriteFile(cfg, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	out, items := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "items.jsonl")
	shots, warc := filepath.Join(dir, "shots"), filepath.Join(dir, "crawl.warc.gz")
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"--config", cfg, "--items", items, "--render", "always", "--render-tabs", "2",
		"--screenshots", shots, "--warc", warc,
		"--rate", "0", "--quiet", "-o", out, srv.URL + "/"}, &bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	recs := checkAllRendered(t, app, out, srv.URL)
	if r := recs["/app/item/1"]; r.Title != "Item 1" || len(r.XHR) != 1 || !strings.Contains(r.XHR[0], "/api/route") || r.Blocked == 0 {
		t.Errorf("/app/item/1's record: %+v", r)
	}
	if d := app.Disallowed(); len(d) > 0 {
		t.Errorf("robots-disallowed paths requested: %v", d)
	}
	if m := app.Media(); len(m) > 0 {
		t.Errorf("images or fonts requested: %v", m)
	}
	data, err := os.ReadFile(items)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if !bytes.Contains(data, []byte(`"price":"`+app.Price(i)+`"`)) {
			t.Errorf("no item with price %s in:\n%s", app.Price(i), data)
		}
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if png, err := os.ReadFile(filepath.Join(shots, host, "app", "item", "1.png")); err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("screenshot of /app/item/1: %v", err)
	}
	conversions := 0
	for _, line := range strings.Split(string(gunzipAll(t, warc)), "\r\n") {
		if line == "WARC-Type: conversion" {
			conversions++
		}
	}
	if want := len(app.AppRoutes()) + len(app.ServerPages()); conversions != want {
		t.Errorf("%d conversion records, want %d", conversions, want)
	}
}

// gunzipAll reads a file of gzip members.
func gunzipAll(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRenderBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--render", "sometimes", "http://127.0.0.1:1/"},
		{"--render", "always", "--render-tabs", "0", "http://127.0.0.1:1/"},
		{"--render", "always", "--browser", "/no/such/chromium", "http://127.0.0.1:1/"},
		{"--render", "always", "--render-block", "scripts", "http://127.0.0.1:1/"},
		{"--screenshots", "dir", "http://127.0.0.1:1/"},
	} {
		var stderr bytes.Buffer
		code := exitCode(run(t.Context(), args, &bytes.Buffer{}, &stderr))
		if code != 2 || strings.Count(strings.TrimSpace(stderr.String()), "\n") > 0 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line", args, code, stderr.String())
		}
	}
}

// TestRenderNever crawls the same app without a browser: the server pages
// and the empty shell of /app/, nothing the app's script would show.
func TestRenderNever(t *testing.T) {
	app := testsite.NewApp(testsite.AppOptions{Items: 3, Pages: 3})
	srv := httptest.NewServer(app)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	if err := run(t.Context(), []string{"--rate", "0", "--quiet", "-o", out, srv.URL + "/"}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	recs := renderRecords(t, out, srv.URL)
	want := append(app.ServerPages(), "/app/")
	var got []string
	for p, r := range recs {
		got = append(got, p)
		if r.Rendered {
			t.Errorf("%s rendered", p)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("reached %v, want %v", got, want)
	}
	if h := app.Hits()["/static/app.js"]; h != 0 {
		t.Errorf("app.js fetched %d times", h)
	}
}

// chromiumUnder returns the pids of the browser processes descending from
// pid, read from /proc.
func chromiumUnder(t *testing.T, pid int) []int {
	t.Helper()
	procs, err := testproc.Procs()
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var out []int
	for _, p := range testproc.Descendants(procs, pid) {
		if strings.Contains(procs[p].Comm, "chrom") {
			out = append(out, p)
		}
	}
	return out
}

// alive returns those of pids that still run (zombies aside).
func alive(pids []int) []int {
	var out []int
	for _, pid := range pids {
		if p, err := testproc.ReadProc(pid); err == nil && p.Running() {
			out = append(out, pid)
		}
	}
	return out
}

// waitGone waits (a hang guard, not a timing assertion) for the processes
// to end, and fails the test if some are left.
func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for len(alive(pids)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := alive(pids); len(left) > 0 {
		for _, p := range left {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		t.Errorf("browser processes left after crawl ended: %v", left)
	}
}

// TestRenderBrowserLifetime kills the browser in the middle of a crawl
// (the crawl restarts it and retries the pages it held: none is lost),
// then stops crawls with SIGINT and with SIGKILL: no browser process
// outlives either.
func TestRenderBrowserLifetime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs a browser")
	}
	needBrowser(t)
	app := testsite.NewApp(testsite.AppOptions{Items: 6, Pages: 2, Latency: 150 * time.Millisecond})
	srv := httptest.NewServer(app)
	defer srv.Close()
	t.Run("browser killed", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out.jsonl")
		cmd, stderr, exited := startBinary(t, "--render", "always", "--render-tabs", "2", "--rate", "0", "--quiet",
			"--retries", "3", "-o", out, srv.URL+"/")
		var first []int
		waitFor(t, "a browser rendering", exited, stderr, func() bool {
			first = chromiumUnder(t, cmd.Process.Pid)
			return len(first) > 0 && app.Hits()["/api/route"] >= 2
		})
		main := first[0] // the lowest pid: the browser's own process
		for _, p := range first {
			if parentOf(p) == cmd.Process.Pid {
				main = p
			}
		}
		if err := syscall.Kill(main, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		if code := waitExit(t, exited, stderr); code != 0 {
			t.Fatalf("exit %d:\n%s", code, stderr.String())
		}
		recs := renderRecords(t, out, srv.URL)
		for _, p := range append(app.AppRoutes(), app.ServerPages()...) {
			if r, ok := recs[p]; !ok || r.Error != "" || !r.Rendered {
				t.Errorf("%s: %+v (reached %v)", p, r, ok)
			}
		}
		waitGone(t, first)
	})

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			cmd, stderr, exited := startBinary(t, "--render", "always", "--render-tabs", "2", "--rate", "0", "--quiet",
				"--grace", "2s", "-o", out, srv.URL+"/")
			var procs []int
			waitFor(t, "a browser rendering", exited, stderr, func() bool {
				procs = chromiumUnder(t, cmd.Process.Pid)
				return len(procs) > 1
			})
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code := waitExit(t, exited, stderr)
			if sig == syscall.SIGINT && code != exitInterrupted {
				t.Errorf("exit %d after SIGINT, want %d:\n%s", code, exitInterrupted, stderr.String())
			}
			waitGone(t, procs)
		})
	}
}

// parentOf returns the parent pid of pid, or 0.
func parentOf(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}

// TestRenderAuto crawls a site of server-rendered pages (with a script
// that changes nothing) and app routes, about 80/20, with --render auto:
// every page and route is reached, each document fetched once, and at
// most 10% of the server-rendered pages are rendered.
func TestRenderAuto(t *testing.T) {
	needBrowser(t)
	app := testsite.NewApp(testsite.AppOptions{Items: 6, Pages: 60})
	srv := httptest.NewServer(app)
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	err := run(t.Context(), []string{"--render", "auto", "--render-tabs", "2", "--rate", "0", "--quiet", "-o", out, srv.URL + "/"},
		&bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	recs := renderRecords(t, out, srv.URL)
	hits := app.Hits()
	for _, p := range append(app.AppRoutes(), app.ServerPages()...) {
		if r, ok := recs[p]; !ok || r.Error != "" {
			t.Errorf("%s: %+v (reached %v)", p, r, ok)
		} else if hits[p] != 1 {
			t.Errorf("%s fetched %d times, want once", p, hits[p])
		}
	}
	rendered := 0
	for _, p := range app.ServerPages() {
		if recs[p].Rendered {
			rendered++
		}
	}
	if n := len(app.ServerPages()); rendered*10 > n {
		t.Errorf("%d of %d server-rendered pages rendered, want at most 10%%", rendered, n)
	}
	t.Logf("%d of %d server-rendered pages rendered", rendered, len(app.ServerPages()))
	if d := app.Disallowed(); len(d) > 0 {
		t.Errorf("robots-disallowed paths requested: %v", d)
	}
}
