package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
	"github.com/hivecrawl/crawl/serve"
	"github.com/hivecrawl/crawl/testsite"
)

// startWorkers runs n crawl worker commands in this process on url, each
// with its own data directory, until the test ends; the first serves its
// metrics on metricsAddr.
func startWorkers(t *testing.T, url string, n int, metricsAddr string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var dirs []string
	done := make(chan error, n)
	for i := range n {
		dir := t.TempDir()
		dirs = append(dirs, dir)
		args := []string{"worker", "--frontier", url, "--data", dir}
		if i == 0 {
			args = append(args, "--metrics-addr", metricsAddr)
		}
		go func() { done <- run(ctx, args, io.Discard, io.Discard) }()
	}
	t.Cleanup(func() {
		cancel()
		for range n {
			if err := <-done; err != nil {
				t.Errorf("worker: %v", err)
			}
		}
	})
	return dirs
}

// liveWorkers returns the number of workers of the fleet job id.
func liveWorkers(t *testing.T, url, id string) int {
	t.Helper()
	rep, err := redis.Inspect(context.Background(), url, id)
	if err != nil {
		t.Fatal(err)
	}
	return len(rep.Workers)
}

// waitWorkers waits until the job has n workers; the limit is a hang
// guard.
func waitWorkers(t *testing.T, url, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for liveWorkers(t, url, id) != n {
		if time.Now().After(deadline) {
			t.Fatalf("job %s has %d workers after a minute, want %d", id, liveWorkers(t, url, id), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fleetServer is crawl serve --frontier as the fleet tests run it: a
// Redis, the job registry in it, and the API served by httptest.
type fleetServer struct {
	url string // the Redis URL
	reg *registry
	dir string // the server's --data
	api apiClient
}

// startFleetServer starts a fleetServer. The caller defers stop, which
// shuts the server down, then closes its listener and its Redis client.
func startFleetServer(t *testing.T) (fs fleetServer, stop func()) {
	t.Helper()
	url := redistest.Start(t).URL(0)
	reg, err := openRegistry(url)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv, err := serve.New(fleetCrawls{url: url, reg: reg}, serve.Options{Dir: dir, EventInterval: 50 * time.Millisecond})
	if err != nil {
		reg.c.Close()
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	stop = func() {
		srv.Shutdown(context.Background())
		hs.Close()
		reg.c.Close()
	}
	return fleetServer{url: url, reg: reg, dir: dir, api: apiClient{t: t, base: hs.URL}}, stop
}

// TestServeFleet runs crawl serve --frontier with two crawl workers on one
// Redis: a submitted job is crawled by both, every page once, and a
// canceled job stops on both.
func TestServeFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real Redis")
	}
	fs, stop := startFleetServer(t)
	defer stop()
	url, reg, serverDir, c := fs.url, fs.reg, fs.dir, fs.api
	metricsAddr := freeLoopbackAddr(t)
	dirs := startWorkers(t, url, 2, metricsAddr)

	t.Run("finish", func(t *testing.T) {
		c.t = t
		site := testsite.New(testsite.Options{Pages: 600, LinksPerPage: 6, PageBytes: 512, Latency: 20 * time.Millisecond})
		web := httptest.NewServer(site)
		defer web.Close()
		rules := []map[string]any{{"name": "page", "fields": []map[string]any{{"name": "title", "selector": "title"}}}}
		j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 4, "concurrency": 4, "rules": rules})
		// Followed from the start: the server's streams of a fleet job
		// block in Redis for the workers' lines.
		followedPages := follow(c, "/api/v1/jobs/"+j.ID+"/pages?follow=1")
		followedLog := follow(c, "/api/v1/jobs/"+j.ID+"/log?follow=1&after=2")
		waitWorkers(t, url, j.ID, 2)
		end := c.waitStatus(j.ID, serve.Finished)
		waitWorkers(t, url, j.ID, 0) // their last lines are out
		records := workerLines(t, dirs, j.ID, serve.PagesFile)
		checkEveryPageOnce(t, site, web.URL, records)
		if got := end.Counters.Done + end.Counters.Failed; got != int64(len(records)) {
			t.Errorf("the server counted %d pages, the workers recorded %d", got, len(records))
		}
		// The server serves what the workers wrote: every page once.
		pages := c.lines("/api/v1/jobs/" + j.ID + "/pages")
		checkEveryPageOnce(t, site, web.URL, pages)
		sameLines(t, "pages", pages, records)
		if got := <-followedPages; got.err != nil || !slices.Equal(got.lines, pages) {
			t.Errorf("followed pages: %d lines (%v), want the %d of the stream", len(got.lines), got.err, len(pages))
		}
		if after := c.lines(fmt.Sprintf("/api/v1/jobs/%s/pages?after=%d", j.ID, len(pages)-3)); !slices.Equal(after, pages[len(pages)-3:]) {
			t.Errorf("?after=%d: %q, want the last 3", len(pages)-3, after)
		}
		if after := c.lines(fmt.Sprintf("/api/v1/jobs/%s/pages?after=%d", j.ID, len(pages))); len(after) != 0 {
			t.Errorf("?after=%d: %d lines, want none", len(pages), len(after))
		}
		items := c.lines("/api/v1/jobs/" + j.ID + "/items")
		if len(items) != len(site.Reachable(0)) {
			t.Errorf("%d items, want one per page (%d)", len(items), len(site.Reachable(0)))
		}
		sameLines(t, "items", items, workerLines(t, dirs, j.ID, serve.ItemsFile))
		// The log: the workers' lines and the server's own about the job.
		log := c.lines("/api/v1/jobs/" + j.ID + "/log")
		sameLines(t, "log", log, workerLines(t, append(dirs, serverDir), j.ID, serve.LogFile))
		all := strings.Join(log, "\n")
		if n := len(regexp.MustCompile(`msg="crawl: .* process=`).FindAllString(all, -1)); n != 2 || !strings.Contains(all, `msg="job finished"`) {
			t.Errorf("log: %d workers' crawl summaries, want one a worker, and the server's \"job finished\":\n%s", n, all)
		}
		if got := <-followedLog; got.err != nil || len(got.lines) == 0 || !slices.Equal(got.lines, log[2:2+len(got.lines)]) {
			t.Errorf("followed log after 2 lines (%v):\n%s\nwant the start of:\n%s", got.err, strings.Join(got.lines, "\n"), strings.Join(log[2:], "\n"))
		}
		if m := site.MaxInFlight(); m > 4 {
			t.Errorf("%d requests at once; the job's per-host is 4 across the fleet", m)
		}
		// The first worker's metrics count its part under the job's label.
		body := httpGet(t, "http://"+metricsAddr+"/metrics")
		if !regexp.MustCompile(`(?m)^crawl_requests_done_total\{job="` + j.ID + `"\} [1-9]`).MatchString(body) {
			t.Errorf("worker metrics without the job's done count:\n%s", body)
		}
	})

	t.Run("pause and resume", func(t *testing.T) {
		c.t = t
		site := testsite.New(testsite.Options{Pages: 400, LinksPerPage: 6, PageBytes: 512, Latency: 20 * time.Millisecond})
		web := httptest.NewServer(site)
		defer web.Close()
		j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 2, "concurrency": 2, "grace": "5s"})
		waitWorkers(t, url, j.ID, 2)
		c.job("POST", "/api/v1/jobs/"+j.ID+"/pause", nil, 200)
		c.waitStatus(j.ID, serve.Paused)
		waitWorkers(t, url, j.ID, 0)
		paused := site.Requests()
		if site.Unique() >= len(site.Reachable(0)) {
			t.Fatal("the job finished before the pause")
		}
		c.job("POST", "/api/v1/jobs/"+j.ID+"/resume", nil, 200)
		c.waitStatus(j.ID, serve.Finished)
		// The records of the pages that finished in the grace were
		// published too.
		checkEveryPageOnce(t, site, web.URL, c.lines("/api/v1/jobs/"+j.ID+"/pages"))
		if site.Requests() == paused {
			t.Error("no request after the resume")
		}
		for n := range site.Reachable(0) {
			if site.Fetches(n) == 0 {
				t.Errorf("page %d never fetched", n)
			}
		}
		// Each worker's requests in flight at the pause finish in its
		// grace: none is fetched again.
		if d := site.Duplicates(); d > 0 {
			t.Errorf("%d pages fetched twice", d)
		}
	})

	t.Run("cancel", func(t *testing.T) {
		c.t = t
		site := testsite.New(testsite.Options{Pages: 20000, LinksPerPage: 6, PageBytes: 512, Latency: 50 * time.Millisecond})
		web := httptest.NewServer(site)
		defer web.Close()
		j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 4, "grace": "1s"})
		waitWorkers(t, url, j.ID, 2)
		c.job("POST", "/api/v1/jobs/"+j.ID+"/cancel", nil, 200)
		c.waitStatus(j.ID, serve.Canceled)
		waitWorkers(t, url, j.ID, 0) // both have left the job
		if n := site.Unique(); n >= len(site.Reachable(0)) {
			t.Errorf("the job finished (%d pages) before the cancel", n)
		}
		t.Logf("canceled after %d pages", site.Unique())
		if code, data := c.do("DELETE", "/api/v1/jobs/"+j.ID, nil); code != 204 {
			t.Fatalf("delete: %d %s", code, data)
		}
		if rep, err := redis.Inspect(context.Background(), url, j.ID); err != nil || rep.Stats.Seen != 0 {
			t.Errorf("after the delete, the job's frontier in Redis: %+v, %v", rep.Stats, err)
		}
		jobs, err := reg.all(context.Background())
		if _, listed := jobs[j.ID]; err != nil || listed {
			t.Errorf("after the delete, the registry lists it (%v)", err)
		}
	})
}

// stream is what a followed stream read.
type stream struct {
	lines []string
	err   error
}

// follow reads the stream at path to its end in a goroutine of its own.
func follow(c apiClient, path string) <-chan stream {
	ch := make(chan stream, 1)
	go func() {
		resp, err := http.Get(c.base + path)
		if err != nil {
			ch <- stream{err: err}
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", resp.Status, data)
		}
		ch <- stream{lines: strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), err: err}
	}()
	return ch
}

// workerLines returns the lines of file name of job id in every worker's
// data directory.
func workerLines(t *testing.T, dirs []string, id, name string) []string {
	t.Helper()
	var all []string
	for i, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "jobs", id, name))
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
		if len(data) == 0 {
			t.Errorf("worker %d wrote no line to %s", i, name)
			continue
		}
		all = append(all, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
	}
	return all
}

// sameLines checks that got and want hold the same lines, in any order.
func sameLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: the server serves %d lines, the workers wrote %d, not the same", what, len(got), len(want))
	}
}

// TestLineTee writes lines to a lineTee in pieces that split them
// anywhere: the file gets every byte, Redis every whole line once, and
// the start of a line not yet ended waits for its end.
func TestLineTee(t *testing.T) {
	rs := redistest.Start(t)
	reg, err := openRegistry(rs.URL(0))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.c.Close()
	for _, tc := range []struct {
		name   string
		writes []string
		want   []string
	}{
		{"one line a write", []string{"a\n", "b\n"}, []string{"a", "b"}},
		{"lines in one write", []string{"a\nb\nc\n"}, []string{"a", "b", "c"}},
		{"a line in pieces", []string{"ab", "c", "d\ne", "f\n"}, []string{"abcd", "ef"}},
		{"an unended line", []string{"a\nb"}, []string{"a"}},
		{"empty lines", []string{"\n\n"}, []string{"", ""}},
		{"nothing", []string{""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := strings.NewReplacer(" ", "-").Replace(tc.name)
			l, err := redis.JobLines(reg.c, job, pagesLines)
			if err != nil {
				t.Fatal(err)
			}
			var file strings.Builder
			tee := &lineTee{ctx: context.Background(), w: &file, lines: l}
			for _, w := range tc.writes {
				if n, err := tee.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if want := strings.Join(tc.writes, ""); file.String() != want {
				t.Errorf("file %q, want %q", file.String(), want)
			}
			got, _, err := l.Read(context.Background(), 0, 100, 0)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("published %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

// TestServeFleetWorkerKilled kills -9 one of a fleet job's two workers
// mid-job: the other finishes it, and the server's pages stream holds
// every page, those fetched again (what the killed worker had in
// flight) at most twice, since a record is in Redis before its page's
// completion is shared.
func TestServeFleetWorkerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary, runs a real Redis")
	}
	fs, stop := startFleetServer(t)
	defer stop()
	url, c := fs.url, fs.api
	site := testsite.New(testsite.Options{Pages: 800, LinksPerPage: 6, PageBytes: 512, Latency: 10 * time.Millisecond})
	web := httptest.NewServer(site)
	defer web.Close()

	const concurrency = 4
	cmd, stderr, exited := startBinary(t, "worker", "--frontier", url, "--data", t.TempDir())
	startWorkers(t, url, 1, freeLoopbackAddr(t))
	j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": concurrency, "concurrency": concurrency})
	waitWorkers(t, url, j.ID, 2)
	waitFor(t, "100 pages fetched", exited, stderr, func() bool { return site.Unique() >= 100 })
	cmd.Process.Kill()
	<-exited
	if site.Unique() >= len(site.Reachable(0)) {
		t.Fatal("the job finished before the kill")
	}
	c.waitStatus(j.ID, serve.Finished)
	d := site.Duplicates()
	if d > concurrency {
		t.Errorf("%d pages refetched after the kill; at most the %d in flight may be", d, concurrency)
	}
	checkEveryPage(t, site, web.URL, c.lines("/api/v1/jobs/"+j.ID+"/pages"), d)
	t.Logf("%d pages fetched again after the kill", d)
}

// appended collects what a lineTee publishes.
type appended []string

func (a *appended) Append(_ context.Context, lines ...[]byte) error {
	for _, l := range lines {
		*a = append(*a, string(l))
	}
	return nil
}

// FuzzLineTee writes data to a lineTee in pieces cut at the given sizes:
// what it publishes is every whole line of data, in order, and its file
// gets every byte.
func FuzzLineTee(f *testing.F) {
	f.Add([]byte("a\nbc\n\nd"), []byte{1, 3, 0, 2})
	f.Add([]byte("{\"url\":\"x\"}\n"), []byte{5})
	f.Fuzz(func(t *testing.T, data, cuts []byte) {
		var got appended
		var file bytes.Buffer
		tee := &lineTee{ctx: context.Background(), w: &file, lines: &got}
		rest := data
		for _, c := range cuts {
			n := min(int(c), len(rest))
			if _, err := tee.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if _, err := tee.Write(rest); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(file.Bytes(), data) {
			t.Errorf("file %q, want %q", file.Bytes(), data)
		}
		want := strings.Split(string(data), "\n")
		want = want[:len(want)-1] // the last piece ends no line
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("published %q, want %q", got, want)
		}
	})
}
