package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/serve"
	"github.com/hivecrawl/crawl/testsite"
)

// apiClient calls a crawl serve API.
type apiClient struct {
	t     testing.TB
	base  string // http://host:port
	token string
}

// do sends a request with a JSON body (nil: none) and returns the status
// and the body.
func (c apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, data
}

// job calls the API and decodes a job, failing unless the status is want.
func (c apiClient) job(method, path string, body any, want int) serve.Job {
	c.t.Helper()
	code, data := c.do(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, code, data, want)
	}
	var j serve.Job
	if err := json.Unmarshal(data, &j); err != nil {
		c.t.Fatalf("%s %s: %v in %s", method, path, err, data)
	}
	return j
}

// submit creates a job crawling seed with config.
func (c apiClient) submit(seed string, config map[string]any) serve.Job {
	c.t.Helper()
	return c.job("POST", "/api/v1/jobs", map[string]any{"seeds": []string{seed}, "config": config}, http.StatusCreated)
}

// events follows a job's event stream, calling each with every event's
// name and job until it returns false or the stream ends (after the
// summary); it returns the last job.
func (c apiClient) events(id string, each func(event string, j serve.Job) bool) serve.Job {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/api/v1/jobs/"+id+"/events", nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		c.t.Fatalf("events: Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var event string
	var last serve.Job
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			last = serve.Job{}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &last); err != nil {
				c.t.Fatalf("event data: %v", err)
			}
			if !each(event, last) {
				return last
			}
		}
	}
	return last
}

// waitStatus follows a job's events until its status is want.
func (c apiClient) waitStatus(id string, want serve.Status) serve.Job {
	c.t.Helper()
	j := c.events(id, func(_ string, j serve.Job) bool { return j.Status != want })
	if j.Status != want {
		c.t.Fatalf("job %s ended %s (%s), never %s", id, j.Status, j.Error, want)
	}
	return j
}

// lines returns the lines of a job's stream at path.
func (c apiClient) lines(path string) []string {
	c.t.Helper()
	code, data := c.do("GET", path, nil)
	if code != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, code, data)
	}
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// startService runs the job service in this process over the command's
// wiring, on a loopback httptest server.
func startService(t testing.TB, opts serve.Options) (*serve.Server, apiClient) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.EventInterval == 0 {
		opts.EventInterval = 50 * time.Millisecond // events come oftener; nothing waits on them
	}
	srv, err := serve.New(jobCrawls{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		hs.Close()
	})
	return srv, apiClient{t: t, base: hs.URL, token: opts.Token}
}

// sitePath is page n's path on a testsite.
func sitePath(n int) string {
	if n == 0 {
		return "/"
	}
	return fmt.Sprintf("/p/%d", n)
}

// checkEveryPageOnce checks that the records hold every reachable page of
// the site at base, each once.
func checkEveryPageOnce(t *testing.T, site *testsite.Site, base string, records []string) {
	t.Helper()
	checkEveryPage(t, site, base, records, 0)
}

// checkEveryPage checks that the records hold every reachable page of the
// site at base, and at most maxTwice of them twice (a page fetched again
// after a kill, its record written before its completion was committed),
// none more.
func checkEveryPage(t *testing.T, site *testsite.Site, base string, records []string, maxTwice int) {
	t.Helper()
	seen := map[string]int{}
	for _, l := range records {
		var rec struct{ URL string }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("record %q: %v", l, err)
		}
		seen[rec.URL]++
	}
	twice := 0
	for u, n := range seen {
		switch {
		case n == 2 && twice < maxTwice:
			twice++
		case n > 1:
			t.Errorf("%s recorded %d times", u, n)
		}
	}
	missing := 0
	for n := range site.Reachable(0) {
		if seen[base+sitePath(n)] == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d pages not in the records", missing, len(site.Reachable(0)))
	}
}

func TestServeJobLifecycle(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 150, LinksPerPage: 6, PageBytes: 512})
	web := httptest.NewServer(site)
	defer web.Close()
	_, c := startService(t, serve.Options{})

	rules := []map[string]any{{"name": "page", "fields": []map[string]any{{"name": "title", "selector": "title"}}}}
	j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 4, "rules": rules, "auth": "bob:hunter2"})
	if j.ID == "" || (j.Status != serve.Pending && j.Status != serve.Running) {
		t.Fatalf("created job %+v", j)
	}
	progressEvents := 0
	end := c.events(j.ID, func(event string, j serve.Job) bool {
		if event == "progress" {
			progressEvents++
		}
		return true
	})
	if end.Status != serve.Finished || end.Finished == nil || end.Started == nil {
		t.Fatalf("job ended %+v", end)
	}
	if progressEvents == 0 {
		t.Error("no progress event before the summary")
	}
	pages := c.lines("/api/v1/jobs/" + j.ID + "/pages")
	checkEveryPageOnce(t, site, web.URL, pages)
	if got := end.Counters.Done + end.Counters.Failed + end.Counters.Blocked; got != int64(len(pages)) {
		t.Errorf("counters %+v add up to %d, %d records", end.Counters, got, len(pages))
	}
	if after := c.lines(fmt.Sprintf("/api/v1/jobs/%s/pages?after=%d", j.ID, len(pages)-3)); len(after) != 3 || after[2] != pages[len(pages)-1] {
		t.Errorf("?after=%d: %d lines, want the last 3", len(pages)-3, len(after))
	}
	// A finished job's stream ends even when followed.
	if got := c.lines("/api/v1/jobs/" + j.ID + "/pages?follow=1"); len(got) != len(pages) {
		t.Errorf("followed pages: %d lines, want %d", len(got), len(pages))
	}
	items := c.lines("/api/v1/jobs/" + j.ID + "/items")
	if len(items) != len(site.Reachable(0)) {
		t.Errorf("%d items, want one per page (%d)", len(items), len(site.Reachable(0)))
	}
	if log := c.lines("/api/v1/jobs/" + j.ID + "/log"); !strings.Contains(strings.Join(log, "\n"), "job finished") {
		t.Errorf("log:\n%s", strings.Join(log, "\n"))
	}
	got := c.job("GET", "/api/v1/jobs/"+j.ID, nil, http.StatusOK)
	if got.Status != serve.Finished {
		t.Errorf("GET job: %s", got.Status)
	}
	for _, path := range []string{"/api/v1/jobs/" + j.ID, "/api/v1/jobs", "/api/v1/jobs/" + j.ID + "/log"} {
		if _, data := c.do("GET", path, nil); bytes.Contains(data, []byte("hunter2")) {
			t.Errorf("GET %s shows the job's password:\n%s", path, data)
		}
	}
	var list struct{ Jobs []serve.Job }
	_, data := c.do("GET", "/api/v1/jobs?status=finished", nil)
	if err := json.Unmarshal(data, &list); err != nil || len(list.Jobs) != 1 {
		t.Errorf("?status=finished: %s", data)
	}
	_, data = c.do("GET", "/api/v1/jobs?status=running", nil)
	if err := json.Unmarshal(data, &list); err != nil || len(list.Jobs) != 0 {
		t.Errorf("?status=running: %s", data)
	}
	if code, _ := c.do("POST", "/api/v1/jobs/"+j.ID+"/pause", nil); code != http.StatusConflict {
		t.Errorf("pause a finished job: %d, want 409", code)
	}
	if code, _ := c.do("DELETE", "/api/v1/jobs/"+j.ID, nil); code != http.StatusNoContent {
		t.Errorf("delete: %d", code)
	}
	if code, _ := c.do("GET", "/api/v1/jobs/"+j.ID, nil); code != http.StatusNotFound {
		t.Errorf("deleted job: %d, want 404", code)
	}
}

func TestServeRefusesBadJobs(t *testing.T) {
	dir := t.TempDir()
	_, c := startService(t, serve.Options{Dir: dir})
	cliError := func(args ...string) string {
		_, err := parseArgs(args)
		if err == nil {
			t.Fatalf("crawl %v: no error", args)
		}
		return err.Error()
	}
	tests := []struct {
		name   string
		body   any
		want   string // the error, exactly
		substr string // or a part of it
	}{
		{"bad order", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"order": "sideways"}},
			cliError("--order", "sideways", "http://127.0.0.1:1/"), ""},
		{"bad regex", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"include": []string{"("}}},
			cliError("--include", "(", "http://127.0.0.1:1/"), ""},
		{"no seeds", map[string]any{"config": map[string]any{}}, cliError(), ""},
		{"not a URL", map[string]any{"seeds": []string{"example.com"}}, cliError("example.com"), ""},
		{"unknown key", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"max-page": 3}},
			"", `unknown key "max-page" in config (line 1; did you mean "max-pages"?)`},
		{"yaml string", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": "concurrency: -1\n"},
			"", "concurrency"},
		{"output outside", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"warc": "../../x.warc.gz"}},
			"", "a job writes only inside its folder"},
		{"absolute save", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"save": "/tmp/mirror"}},
			"", "a job writes only inside its folder"},
		{"output key", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"output": "out.jsonl"}},
			"", "config key output is not allowed"},
		{"state key", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"state": "/tmp/s"}},
			"", "config key state is not allowed"},
		{"server file", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"auth-file": "/etc/shadow"}},
			"", "reads a file on the server"},
		{"browser", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"render": "always", "browser": "/bin/sh"}},
			"", "config key browser is not allowed in a job: it runs a program on the server"},
		{"proxy file", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"proxy-file": "/etc/passwd"}},
			"", "reads a file on the server"},
		{"login password file", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": "login:\n  url: http://127.0.0.1:1/login\n  password-file: /etc/shadow\n"},
			"", "reads a file on the server"},
		{"sqlite outside", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"db": "sqlite:/tmp/x.db"}},
			"", "a job writes only inside its folder"},
		{"db password file", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": map[string]any{"db": "postgres://u@127.0.0.1:1/x", "db-password-file": "/etc/passwd"}},
			"", "reads a file on the server"},
		{"unknown field", map[string]any{"seed": []string{"http://127.0.0.1:1/"}}, "", "unknown field"},
		{"config not an object", map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "config": 3}, "", "want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			code, data := c.do("POST", "/api/v1/jobs", tt.body)
			var e struct{ Error string }
			if err := json.Unmarshal(data, &e); err != nil || code != http.StatusBadRequest {
				t.Fatalf("%d %s, want 400 with an error", code, data)
			}
			if tt.want != "" && e.Error != tt.want {
				t.Errorf("error %q, want the CLI's %q", e.Error, tt.want)
			}
			if !strings.Contains(e.Error, tt.substr) {
				t.Errorf("error %q, want it to say %q", e.Error, tt.substr)
			}
		})
	}
	c.t = t
	big := map[string]any{"seeds": []string{"http://127.0.0.1:1/"}, "name": strings.Repeat("x", serve.MaxBodyBytes)}
	if code, data := c.do("POST", "/api/v1/jobs", big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the cap: %d %s, want 413", code, data)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "jobs")); len(entries) != 0 {
		t.Errorf("refused jobs left %d folders", len(entries))
	}
}

// TestServePauseResume pauses a running job: no request reaches the site
// while it is paused, and resumed it completes with every page once.
func TestServePauseResume(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 400, LinksPerPage: 6, PageBytes: 512, Latency: 5 * time.Millisecond})
	web := httptest.NewServer(site)
	defer web.Close()
	_, c := startService(t, serve.Options{})
	j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 2})
	c.events(j.ID, func(_ string, j serve.Job) bool { return j.Counters.Done < 30 })
	if p := c.job("POST", "/api/v1/jobs/"+j.ID+"/pause", nil, http.StatusOK); p.Status == serve.Running && p.Stopping != "pause" {
		t.Fatalf("pausing job: %+v", p)
	}
	paused := c.waitStatus(j.ID, serve.Paused)
	requests := site.Requests()
	if paused.Counters.Done+paused.Counters.Failed >= int64(len(site.Reachable(0))) {
		t.Fatalf("the job finished before the pause took: %+v", paused.Counters)
	}
	// Whatever the API does while the job is paused sends nothing to the site.
	c.lines("/api/v1/jobs/" + j.ID + "/pages?follow=1") // ends: the job is not running
	c.job("GET", "/api/v1/jobs/"+j.ID, nil, http.StatusOK)
	if n := site.Requests(); n != requests {
		t.Fatalf("%d requests reached the site while the job was paused", n-requests)
	}
	c.job("POST", "/api/v1/jobs/"+j.ID+"/resume", nil, http.StatusOK)
	end := c.waitStatus(j.ID, serve.Finished)
	checkEveryPageOnce(t, site, web.URL, c.lines("/api/v1/jobs/"+j.ID+"/pages"))
	if d := site.Duplicates(); d > 2 {
		t.Errorf("%d pages fetched twice; at most the 2 in flight at the pause may be", d)
	}
	if end.Counters.Queued != 0 {
		t.Errorf("finished with %d queued", end.Counters.Queued)
	}
}

// TestServeMaxRunning submits more jobs than --max-running: the others
// pend and start in the order they came.
func TestServeMaxRunning(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 60, LinksPerPage: 4, PageBytes: 256})
	web := httptest.NewServer(site)
	defer web.Close()
	_, c := startService(t, serve.Options{MaxRunning: 1})
	var ids []string
	for i := range 3 {
		j := c.submit(web.URL+"/", map[string]any{"rate": 0})
		ids = append(ids, j.ID)
		if i > 0 && j.Status != serve.Pending {
			t.Errorf("job %d: %s, want pending behind the first", i, j.Status)
		}
	}
	var jobs []serve.Job
	for _, id := range ids {
		jobs = append(jobs, c.waitStatus(id, serve.Finished))
	}
	for i := 1; i < len(jobs); i++ {
		if jobs[i].Started.Before(*jobs[i-1].Finished) {
			t.Errorf("job %d started at %s, before job %d finished at %s", i, jobs[i].Started, i-1, jobs[i-1].Finished)
		}
	}
}

func TestServeCancelAndDelete(t *testing.T) {
	stuck, held := stuckSite(t)
	_, c := startService(t, serve.Options{MaxRunning: 1})
	j := c.submit(stuck.URL+"/", map[string]any{"grace": "100ms", "per-host": 2, "ignore-robots": true})
	queued := c.submit(stuck.URL+"/", map[string]any{"grace": "100ms", "ignore-robots": true})
	c.events(j.ID, func(_ string, _ serve.Job) bool { return held() < 2 })
	if code, data := c.do("DELETE", "/api/v1/jobs/"+j.ID, nil); code != http.StatusConflict {
		t.Errorf("delete a running job: %d %s, want 409", code, data)
	}
	c.job("POST", "/api/v1/jobs/"+j.ID+"/cancel", nil, http.StatusOK)
	c.waitStatus(j.ID, serve.Canceled)
	// The pending one starts in the freed slot; canceled, it ends too.
	c.job("POST", "/api/v1/jobs/"+queued.ID+"/cancel", nil, http.StatusOK)
	c.waitStatus(queued.ID, serve.Canceled)
	if code, _ := c.do("POST", "/api/v1/jobs/"+j.ID+"/resume", nil); code != http.StatusConflict {
		t.Errorf("resume a canceled job: %d, want 409", code)
	}
	if code, _ := c.do("DELETE", "/api/v1/jobs/"+j.ID, nil); code != http.StatusNoContent {
		t.Errorf("delete a canceled job: %d", code)
	}
	if code, _ := c.do("GET", "/api/v1/jobs/nope", nil); code != http.StatusNotFound {
		t.Errorf("unknown job: %d", code)
	}
}

func TestServeToken(t *testing.T) {
	_, c := startService(t, serve.Options{Token: "s3cret"})
	for _, path := range []string{"/api/v1/jobs", "/metrics"} {
		for _, token := range []string{"", "wrong"} {
			c.token = token
			if code, _ := c.do("GET", path, nil); code != http.StatusUnauthorized {
				t.Errorf("GET %s with token %q: %d, want 401", path, token, code)
			}
		}
		c.token = "s3cret"
		if code, data := c.do("GET", path, nil); code != http.StatusOK {
			t.Errorf("GET %s with the token: %d %s", path, code, data)
		}
	}
	c.token = ""
	for _, path := range []string{"/", "/api/v1/openapi.json"} {
		if code, _ := c.do("GET", path, nil); code != http.StatusOK {
			t.Errorf("GET %s (no data in it) without the token: %d, want 200", path, code)
		}
	}
}

func TestServeFlags(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--data DIR is required"},
		{[]string{"serve", "--data", t.TempDir(), "--addr", "0.0.0.0:0"}, "not a loopback address"},
		{[]string{"serve", "--data", t.TempDir(), "--max-running", "0"}, "--max-running must be 1 or more"},
		{[]string{"serve", "--data", t.TempDir(), "--token-file", token}, "the file is empty"},
		{[]string{"serve", "--data", t.TempDir(), "extra"}, "takes no arguments"},
		{[]string{"worker", "--frontier", "redis://127.0.0.1:1/0", "--data", t.TempDir(), "--max-lines", "0"}, "--max-lines 0: want 1 or more"},
	} {
		err := run(t.Context(), tt.args, io.Discard, io.Discard)
		if err == nil || exitCode(err) != exitUsage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("crawl %v: %v, want a usage error saying %q", tt.args, err, tt.want)
		}
	}
}

var servingRE = regexp.MustCompile(`msg=serving addr=(http://\S+)`)

// startServeBinary runs crawl serve on dir, with one job at a time, and
// returns its API.
func startServeBinary(t *testing.T, dir string) (apiClient, *syncBuffer, <-chan int, func(os.Signal)) {
	t.Helper()
	cmd, stderr, exited := startBinary(t, "serve", "--addr", "127.0.0.1:0", "--data", dir, "--max-running", "1")
	var base string
	waitFor(t, "serving line", exited, stderr, func() bool {
		m := servingRE.FindStringSubmatch(stderr.String())
		if m != nil {
			base = m[1]
		}
		return m != nil
	})
	return apiClient{t: t, base: base}, stderr, exited, func(s os.Signal) { cmd.Process.Signal(s) }
}

// TestServeKilledResumes kills the server mid-job: started again on its
// directory, it resumes the job, which finishes with every page recorded
// once and refetches no more than were in flight.
func TestServeKilledResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	site := testsite.New(testsite.Options{Pages: 1000, LinksPerPage: 6, PageBytes: 512, Latency: 10 * time.Millisecond})
	web := httptest.NewServer(site)
	defer web.Close()
	dir := t.TempDir()
	// As TestStateSurvivesSIGKILL: what was in flight, at most one lease
	// per worker, is fetched again.
	const concurrency = 4
	c, stderr, exited, signal := startServeBinary(t, dir)
	j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": concurrency, "concurrency": concurrency})
	// A second job waits for the first: pending when the server dies.
	other := testsite.New(testsite.Options{Pages: 50, LinksPerPage: 4, PageBytes: 256})
	otherWeb := httptest.NewServer(other)
	defer otherWeb.Close()
	pending := c.submit(otherWeb.URL+"/", map[string]any{"rate": 0})
	waitFor(t, "100 pages fetched", exited, stderr, func() bool { return site.Unique() >= 100 })
	signal(syscall.SIGKILL)
	<-exited
	if pending.Status != serve.Pending || other.Requests() != 0 {
		t.Fatalf("the second job ran before the kill (%s): want it pending behind the first", pending.Status)
	}
	if site.Unique() >= len(site.Reachable(0)) {
		t.Fatal("the job finished before the kill")
	}

	c, stderr, exited, signal = startServeBinary(t, dir)
	end := c.waitStatus(j.ID, serve.Finished)
	d := site.Duplicates()
	if d > concurrency {
		t.Errorf("%d pages refetched after the kill; at most the %d in flight may be", d, concurrency)
	}
	checkEveryPage(t, site, web.URL, c.lines("/api/v1/jobs/"+j.ID+"/pages"), d)
	c.waitStatus(pending.ID, serve.Finished)
	checkEveryPageOnce(t, other, otherWeb.URL, c.lines("/api/v1/jobs/"+pending.ID+"/pages"))
	if end.Counters.Done == 0 {
		t.Errorf("counters after the restart: %+v", end.Counters)
	}
	signal(syscall.SIGTERM)
	if code := waitExit(t, exited, stderr); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, stderr.String())
	}
}

// TestServeStopResumes stops the server with SIGTERM mid-job: the job
// stops as a pause would, and the next server resumes it.
func TestServeStopResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	site := testsite.New(testsite.Options{Pages: 1000, LinksPerPage: 6, PageBytes: 512, Latency: 10 * time.Millisecond})
	web := httptest.NewServer(site)
	defer web.Close()
	dir := t.TempDir()
	c, stderr, exited, signal := startServeBinary(t, dir)
	j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 4})
	waitFor(t, "100 pages fetched", exited, stderr, func() bool { return site.Unique() >= 100 })
	signal(syscall.SIGTERM)
	if code := waitExit(t, exited, stderr); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, stderr.String())
	}
	stopped := site.Requests()
	if site.Unique() >= len(site.Reachable(0)) {
		t.Fatal("the job finished before the stop")
	}
	c, _, _, _ = startServeBinary(t, dir)
	c.waitStatus(j.ID, serve.Finished)
	if site.Requests() == stopped {
		t.Error("no request after the restart")
	}
	checkEveryPageOnce(t, site, web.URL, c.lines("/api/v1/jobs/"+j.ID+"/pages"))
	if d := site.Duplicates(); d > 0 {
		t.Errorf("%d pages refetched: a clean stop lets its requests finish", d)
	}
}

// TestServeMetrics checks /metrics: each job's metrics carry its job
// label, and an ended job's drop out after --keep-metrics.
func TestServeMetrics(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 40, LinksPerPage: 4, PageBytes: 256})
	web := httptest.NewServer(site)
	defer web.Close()
	for _, tt := range []struct {
		name string
		keep time.Duration
		kept bool
	}{
		{"kept", time.Hour, true},
		{"dropped", time.Nanosecond, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, c := startService(t, serve.Options{KeepMetrics: tt.keep})
			var ids []string
			for range 2 {
				j := c.submit(web.URL+"/", map[string]any{"rate": 0})
				c.waitStatus(j.ID, serve.Finished)
				ids = append(ids, j.ID)
			}
			code, data := c.do("GET", "/metrics", nil)
			if code != http.StatusOK {
				t.Fatalf("/metrics: %d", code)
			}
			text := string(data)
			if !strings.Contains(text, "go_goroutines") {
				t.Error("no process metrics")
			}
			for _, id := range ids {
				line := regexp.MustCompile(`(?m)^crawl_requests_done_total\{job="` + id + `"\} (\d+)$`).FindStringSubmatch(text)
				switch {
				case tt.kept && (line == nil || line[1] == "0"):
					t.Errorf("job %s: no crawl_requests_done_total with its label:\n%s", id, text)
				case !tt.kept && strings.Contains(text, `job="`+id+`"`):
					t.Errorf("job %s ended longer than --keep-metrics ago, still on /metrics", id)
				}
			}
		})
	}
}

// TestServeFollow follows a running job's pages and log from the start:
// the streams stay open while it runs, end when it ends, and hold every
// record and log line, each once.
func TestServeFollow(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 300, LinksPerPage: 6, PageBytes: 512, Latency: 2 * time.Millisecond})
	web := httptest.NewServer(site)
	defer web.Close()
	_, c := startService(t, serve.Options{})
	j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 2})
	type stream struct {
		lines []string
		err   error
	}
	follow := func(path string) <-chan stream {
		ch := make(chan stream, 1)
		go func() {
			resp, err := http.Get(c.base + path)
			if err != nil {
				ch <- stream{err: err}
				return
			}
			defer resp.Body.Close()
			data, err := io.ReadAll(resp.Body)
			ch <- stream{lines: strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), err: err}
		}()
		return ch
	}
	pages := follow("/api/v1/jobs/" + j.ID + "/pages?follow=1")
	log := follow("/api/v1/jobs/" + j.ID + "/log?follow=true&after=1")
	end := c.waitStatus(j.ID, serve.Finished)
	got := <-pages
	if got.err != nil {
		t.Fatal(got.err)
	}
	checkEveryPageOnce(t, site, web.URL, got.lines)
	if n := end.Counters.Done + end.Counters.Failed + end.Counters.Blocked; int64(len(got.lines)) != n {
		t.Errorf("followed %d records, the job counted %d", len(got.lines), n)
	}
	all := c.lines("/api/v1/jobs/" + j.ID + "/log")
	lg := <-log
	if lg.err != nil || !slices.Equal(lg.lines, all[1:]) {
		t.Errorf("followed log after its first line:\n%s\nwant:\n%s", strings.Join(lg.lines, "\n"), strings.Join(all[1:], "\n"))
	}
}

// TestJobOptionsConfineOutputs checks where a job's outputs go: all of
// them inside the job's folder.
func TestJobOptionsConfineOutputs(t *testing.T) {
	dir := t.TempDir()
	rules := []map[string]any{{"name": "p", "fields": []map[string]any{{"name": "t", "selector": "title"}}}}
	config, _ := json.Marshal(map[string]any{"rules": rules, "items-csv": "items.csv", "warc": "a/b.warc.gz",
		"save": "mirror", "save-cookies": "c.txt", "db": "sqlite:crawl.db"})
	o, err := jobOptions(serve.Spec{Seeds: []string{"http://127.0.0.1:1/"}, Config: config}, dir)
	if err != nil {
		t.Fatal(err)
	}
	files := filepath.Join(dir, serve.FilesDir)
	for _, tt := range []struct{ key, got, want string }{
		{"state", o.State, filepath.Join(dir, serve.StateDir)},
		{"output", o.Output, filepath.Join(dir, serve.PagesFile)},
		{"items", o.Items, filepath.Join(dir, serve.ItemsFile)},
		{"items-csv", o.ItemsCSV, filepath.Join(files, "items.csv")},
		{"warc", o.WARC, filepath.Join(files, "a", "b.warc.gz")},
		{"save", o.Save, filepath.Join(files, "mirror")},
		{"save-cookies", o.SaveCookies, filepath.Join(files, "c.txt")},
		{"db", o.DB, "sqlite:" + filepath.Join(files, "crawl.db")},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: %q, want %q", tt.key, tt.got, tt.want)
		}
	}
}

// BenchmarkServeJob measures a job from its submission to its summary,
// and the same crawl run by the command with --state: the difference is
// what the service costs (its progress events, its job records, the
// polls of the ends).
func BenchmarkServeJob(b *testing.B) {
	site := testsite.New(testsite.Options{Pages: 2000, LinksPerPage: 6, PageBytes: 1024})
	web := httptest.NewServer(site)
	defer web.Close()
	pages := float64(len(site.Reachable(0)))
	b.Run("serve", func(b *testing.B) {
		_, c := startService(b, serve.Options{EventInterval: time.Second})
		for b.Loop() {
			j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 8, "concurrency": 8})
			c.waitStatus(j.ID, serve.Finished)
		}
		b.ReportMetric(pages*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	})
	b.Run("cli", func(b *testing.B) {
		for b.Loop() {
			dir := b.TempDir()
			err := run(context.Background(), []string{"--state", filepath.Join(dir, "state"), "-o", filepath.Join(dir, "out.jsonl"),
				"--rate", "0", "--per-host", "8", "--concurrency", "8", "--quiet", web.URL + "/"}, io.Discard, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(pages*float64(b.N)/b.Elapsed().Seconds(), "pages/s")
	})
}
