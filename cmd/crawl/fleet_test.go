package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
	"github.com/hivecrawl/crawl/testsite"
)

func TestFleetRedisUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var stderr bytes.Buffer
	start := time.Now()
	err = run(context.Background(), []string{"--frontier", "redis://" + addr + "/0", "--job", "j", "http://127.0.0.1:1/"},
		io.Discard, &stderr)
	if exitCode(err) != exitUsage || !strings.Contains(stderr.String(), "cannot reach "+addr) {
		t.Errorf("crawl with Redis down: exit %d, stderr %q; want exit %d and a message naming %s",
			exitCode(err), stderr.String(), exitUsage, addr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to give up on an unreachable Redis", d)
	}
}

func TestFleetFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string // in the error; "" means valid
	}{
		{[]string{"--frontier", "redis://127.0.0.1:6379/0"}, ""}, // a joiner needs no URL
		{[]string{"--frontier", "http://x/", "u"}, "want redis://"},
		{[]string{"--frontier", "redis://h:1/0", "--job", "a b", "http://x/"}, "--job"},
		{[]string{"--frontier", "redis://h:1/0", "--state", "d", "http://x/"}, "do not go together"},
		{[]string{"--frontier", "redis://h:1/0", "--lease-ttl", "-1s", "http://x/"}, "--lease-ttl"},
	}
	for _, tt := range tests {
		_, err := parseArgs(tt.args)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: %v; want valid", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%q: %v; want an error with %q", tt.args, err, tt.want)
		}
	}
	err := run(context.Background(), []string{"purge", "--frontier", "redis://127.0.0.1:1/0", "--job", "j"}, io.Discard, io.Discard)
	if exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("purge without --yes: %v; want a usage error asking for --yes", err)
	}
}

// fleetSite serves a testsite on four loopback addresses: 4 hosts of
// pages pages each.
func fleetSite(t *testing.T, pages int) (*testsite.Site, []string) {
	t.Helper()
	site := testsite.New(testsite.Options{Pages: pages, LinksPerPage: 8, PageBytes: 512, Latency: 2 * time.Millisecond})
	urls, err := testsite.Serve(t.Context(), site, []string{"127.0.0.2:0", "127.0.0.3:0", "127.0.0.4:0", "127.0.0.5:0"})
	if err != nil {
		t.Fatal(err)
	}
	return site, urls
}

// checkFleetCrawl checks that every page of every host was fetched, that
// no host saw more than perHost requests at once, and that each host's
// robots.txt was fetched once for the whole fleet.
func checkFleetCrawl(t *testing.T, site *testsite.Site, hosts []string, perHost int) {
	t.Helper()
	reachable := site.Reachable(0)
	for _, h := range hosts {
		missing := 0
		for n := range reachable {
			if site.FetchesHost(h, n) == 0 {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%s: %d of %d pages never fetched", h, missing, len(reachable))
		}
		if m := site.MaxInFlightHost(h); m > perHost {
			t.Errorf("%s saw %d requests in flight at once; want at most --per-host %d across all workers", h, m, perHost)
		}
		if n := site.RobotsFetchesHost(h); n != 1 {
			t.Errorf("%s: robots.txt fetched %d times; want once for the whole fleet", h, n)
		}
	}
}

// jobStats runs crawl status for job and returns its output.
func jobStats(t *testing.T, srv *redistest.Server, job string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"status", "--frontier", srv.URL(0), "--job", job}, &out, io.Discard); err != nil {
		t.Fatalf("crawl status: %v", err)
	}
	return out.String()
}

// recordedURLs returns the URLs of the JSON lines in the files, skipping a
// torn last line (a killed worker may leave one).
func recordedURLs(t *testing.T, paths ...string) map[string]int {
	t.Helper()
	urls := map[string]int{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var rec struct{ URL string }
			if json.Unmarshal(sc.Bytes(), &rec) == nil {
				urls[rec.URL]++
			}
		}
		f.Close()
	}
	return urls
}

func TestFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs crawl processes against a real Redis")
	}
	t.Parallel()
	srv := redistest.Start(t)
	bin := buildBinary(t)
	const (
		perHost     = 4
		concurrency = 8
		leaseTTL    = 5 * time.Second
	)
	common := func(job, out string) []string {
		return []string{"--frontier", srv.URL(0), "--job", job, "--rate", "0", "--per-host", fmt.Sprint(perHost),
			"--concurrency", fmt.Sprint(concurrency), "--lease-ttl", leaseTTL.String(), "--quiet", "-o", out}
	}

	// Three workers crawl 4 hosts × 2,000 pages; one is killed mid-crawl.
	// Its leases come back after they expire, and the others fetch them.
	t.Run("three workers, one killed", func(t *testing.T) {
		start := time.Now()
		site, hosts := fleetSite(t, 2000)
		dir := t.TempDir()
		outs := []string{filepath.Join(dir, "w1.jsonl"), filepath.Join(dir, "w2.jsonl"), filepath.Join(dir, "w3.jsonl")}
		seeds := make([]string, len(hosts))
		for i, h := range hosts {
			seeds[i] = h + "/"
		}
		w1 := startCrawl(t, bin, append(common("kill", outs[0]), seeds...)...)
		w1.waitUnique(t, site, 20) // the job has its seeds: others may join
		w2 := startCrawl(t, bin, common("kill", outs[1])...)
		w3 := startCrawl(t, bin, common("kill", outs[2])...)
		defer func() {
			for _, w := range []*crawlProc{w1, w2, w3} {
				w.cmd.Process.Kill()
			}
		}()

		w1.waitUnique(t, site, 3000)
		rep, err := redis.Inspect(context.Background(), srv.URL(0), "kill")
		if err != nil || len(rep.Workers) != 3 {
			t.Fatalf("before the kill: %d live workers, %v; want 3", len(rep.Workers), err)
		}
		w2.cmd.Process.Signal(syscall.SIGKILL)
		w2.wait(t, 10*time.Second)
		killedAt := site.Unique()
		dupsBefore := site.Duplicates()
		// What the killed worker held: its leases stay recorded until
		// they expire or its heartbeat lapses.
		rep, err = redis.Inspect(context.Background(), srv.URL(0), "kill")
		if err != nil {
			t.Fatal(err)
		}
		inFlight := int64(-1)
		for _, w := range rep.Workers {
			if strings.HasSuffix(w.Name, fmt.Sprintf(":%d", w2.cmd.Process.Pid)) {
				inFlight = w.Leased
			}
		}
		if inFlight < 0 {
			t.Fatalf("the killed worker is not among the job's workers %+v", rep.Workers)
		}
		killed := time.Now()

		for i, w := range []*crawlProc{w1, w3} {
			if code := w.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("worker %d exit %d\n%s", 2*i+1, code, w.stderr.String())
			}
		}
		t.Logf("killed a worker at %d pages holding %d leases; the others finished %v later; %d refetches; %v in all",
			killedAt, inFlight, time.Since(killed).Round(time.Millisecond), site.Duplicates(), time.Since(start).Round(time.Millisecond))
		if d := site.Duplicates(); d > int(inFlight) || dupsBefore > 0 {
			t.Errorf("%d pages refetched (%d before the kill); want at most the %d the killed worker had in flight",
				d, dupsBefore, inFlight)
		}
		// The killed worker's URLs could only be handed out again once its
		// leases expired.
		if since := time.Since(killed); inFlight > 0 && since < leaseTTL/2 {
			t.Errorf("crawl ended %v after the kill, before the killed worker's leases could expire", since)
		}
		checkFleetCrawl(t, site, hosts, perHost)
		if got := recordedURLs(t, outs...); len(got) < len(site.Reachable(0))*len(hosts) {
			t.Errorf("the workers' outputs hold %d URLs; want every one of %d pages", len(got), len(site.Reachable(0))*len(hosts))
		}
		st := jobStats(t, srv, "kill")
		for _, want := range []string{"queued  0\n", "leased  0\n", fmt.Sprintf("seen    %d\n", len(site.Reachable(0))*len(hosts))} {
			if !strings.Contains(st, want) {
				t.Errorf("crawl status after the crawl lacks %q:\n%s", want, st)
			}
		}
	})

	// Redis is killed mid-crawl and started again from its AOF
	// (appendfsync always); the workers wait, reconnect and finish.
	t.Run("Redis restarted", func(t *testing.T) {
		start := time.Now()
		srv := redistest.Start(t, "--appendfsync", "always")
		common := func(out string) []string {
			return []string{"--frontier", srv.URL(0), "--job", "restart", "--rate", "0", "--per-host", fmt.Sprint(perHost),
				"--concurrency", fmt.Sprint(concurrency), "--lease-ttl", leaseTTL.String(), "--quiet", "-o", out}
		}
		site, hosts := fleetSite(t, 1200)
		dir := t.TempDir()
		outs := []string{filepath.Join(dir, "w1.jsonl"), filepath.Join(dir, "w2.jsonl")}
		seeds := make([]string, len(hosts))
		for i, h := range hosts {
			seeds[i] = h + "/"
		}
		w1 := startCrawl(t, bin, append(common(outs[0]), seeds...)...)
		w1.waitUnique(t, site, 20)
		w2 := startCrawl(t, bin, common(outs[1])...)
		defer func() {
			w1.cmd.Process.Kill()
			w2.cmd.Process.Kill()
		}()
		w1.waitUnique(t, site, 1500)
		srv.Kill()
		down := site.Unique()
		time.Sleep(time.Second)
		if n := site.Unique() - down; n > 2*concurrency {
			t.Errorf("%d pages fetched while Redis was down; want at most those already leased", n)
		}
		srv.Restart()
		for i, w := range []*crawlProc{w1, w2} {
			if code := w.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("worker %d exit %d\n%s", i+1, code, w.stderr.String())
			}
		}
		t.Logf("Redis down at %d pages for 1s; %d refetches; %v in all", down, site.Duplicates(), time.Since(start).Round(time.Millisecond))
		if !strings.Contains(w1.stderr.String()+w2.stderr.String(), "redis unavailable, retrying") {
			t.Errorf("no worker said it was waiting for Redis:\n%s\n%s", w1.stderr.String(), w2.stderr.String())
		}
		checkFleetCrawl(t, site, hosts, perHost)
		if d := site.Duplicates(); d > 2*concurrency {
			t.Errorf("%d pages refetched; want at most the %d in flight when Redis went down", d, 2*concurrency)
		}
		if got := recordedURLs(t, outs...); len(got) < len(site.Reachable(0))*len(hosts) {
			t.Errorf("the workers' outputs hold %d URLs; want every one of %d pages", len(got), len(site.Reachable(0))*len(hosts))
		}
		st := jobStats(t, srv, "restart")
		for _, want := range []string{"queued  0\n", "leased  0\n", "workers 0\n"} {
			if !strings.Contains(st, want) {
				t.Errorf("crawl status after the crawl lacks %q:\n%s", want, st)
			}
		}
	})

	t.Run("status and purge", func(t *testing.T) {
		var out bytes.Buffer
		if err := run(context.Background(), []string{"purge", "--frontier", srv.URL(0), "--job", "kill", "--yes"}, &out, io.Discard); err != nil {
			t.Fatalf("purge: %v", err)
		}
		if !strings.Contains(out.String(), `purged job "kill"`) {
			t.Errorf("purge said %q", out.String())
		}
		var stderr bytes.Buffer
		err := run(context.Background(), []string{"status", "--frontier", srv.URL(0), "--job", "kill"}, io.Discard, &stderr)
		if exitCode(err) != exitFailures || !strings.Contains(stderr.String(), `job "kill" does not exist`) {
			t.Errorf("crawl status after purge: exit %d, stderr %q; want exit 1 saying the job does not exist", exitCode(err), stderr.String())
		}
	})
}

// BenchmarkFleetThroughput crawls a site of 8 hosts with 20 ms of server
// latency with 1, 2 and 4 worker processes sharing one Redis job, and
// reports pages per second and the speedups over one worker, all from the
// same run: over the whole crawl (process start and the crawl's ramp-up
// and tail included) and in the steady state between 10% and 90% of the
// pages. Each worker has a small, fixed concurrency, so that one worker is
// bound by waiting on the server, as a worker on its own machine would be,
// and not by this machine's CPUs.
func BenchmarkFleetThroughput(b *testing.B) {
	const (
		hosts       = 8
		pages       = 500 // per host
		concurrency = 4   // per worker
		perHost     = 8   // hosts × perHost > 4 workers × concurrency
	)
	srv := redistest.Start(b)
	bin := filepath.Join(b.TempDir(), "crawl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	rates, steady := map[int]float64{}, map[int]float64{}
	for b.Loop() {
		for _, workers := range []int{1, 2, 4} {
			ctx, cancel := context.WithCancel(context.Background())
			site := testsite.New(testsite.Options{Pages: pages, LinksPerPage: 8, PageBytes: 1024, Latency: 20 * time.Millisecond})
			addrs := make([]string, hosts)
			for i := range addrs {
				addrs[i] = fmt.Sprintf("127.0.0.%d:0", i+2)
			}
			urls, err := testsite.Serve(ctx, site, addrs)
			if err != nil {
				b.Fatal(err)
			}
			job := fmt.Sprintf("bench-%d-%d", workers, time.Now().UnixNano())
			args := []string{"--frontier", srv.URL(0), "--job", job, "--rate", "0", "--per-host", fmt.Sprint(perHost),
				"--concurrency", fmt.Sprint(concurrency), "--quiet", "-o", os.DevNull}
			for _, u := range urls {
				args = append(args, u+"/") // every worker may be first
			}
			want := len(site.Reachable(0)) * hosts
			// Watch the site for the steady state: 10% to 90% of the pages.
			marks := make(chan time.Duration, 2)
			go func() {
				start, next := time.Now(), want/10
				for ctx.Err() == nil && next <= want*9/10 {
					if site.Unique() >= next {
						marks <- time.Since(start)
						next = want * 9 / 10
						if len(marks) == 2 {
							return
						}
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			start := time.Now()
			procs := make([]*exec.Cmd, workers)
			stderrs := make([]bytes.Buffer, workers)
			for i := range procs {
				procs[i] = exec.Command(bin, args...)
				procs[i].Stderr = &stderrs[i]
				if err := procs[i].Start(); err != nil {
					b.Fatal(err)
				}
			}
			for i, p := range procs {
				if err := p.Wait(); err != nil {
					b.Fatalf("%d workers: worker %d: %v\n%s", workers, i, err, stderrs[i].String())
				}
			}
			elapsed := time.Since(start)
			if site.Unique() != want {
				b.Fatalf("%d workers fetched %d of %d pages", workers, site.Unique(), want)
			}
			rates[workers] = float64(want) / elapsed.Seconds()
			t10, t90 := <-marks, <-marks
			steady[workers] = float64(want*8/10) / (t90 - t10).Seconds()
			cancel()
		}
	}
	for _, w := range []int{1, 2, 4} {
		b.ReportMetric(rates[w], fmt.Sprintf("pages/s-%dw", w))
		b.ReportMetric(steady[w], fmt.Sprintf("steady-pages/s-%dw", w))
	}
	b.ReportMetric(rates[2]/rates[1], "speedup-2w")
	b.ReportMetric(rates[4]/rates[1], "speedup-4w")
	b.ReportMetric(steady[4]/steady[1], "steady-speedup-4w")
}

// TestFleetWorkerAppendsToOutputs checks that a worker started again on a
// job adds to its --warc file, as it does to -o, instead of truncating what
// it archived before.
func TestFleetWorkerAppendsToOutputs(t *testing.T) {
	srv := redistest.Start(t)
	_, hosts := fleetSite(t, 30)
	dir := t.TempDir()
	warc, out := filepath.Join(dir, "w.warc.gz"), filepath.Join(dir, "w.jsonl")
	crawl := func(job string) []byte {
		t.Helper()
		args := []string{"--frontier", srv.URL(0), "--job", job, "--rate", "0", "--quiet", "-o", out, "--warc", warc, hosts[0] + "/"}
		var stderr bytes.Buffer
		if err := run(context.Background(), args, io.Discard, &stderr); err != nil {
			t.Fatalf("job %s: %v\n%s", job, err, stderr.String())
		}
		b, err := os.ReadFile(warc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := crawl("first")
	second := crawl("second")
	if len(second) <= len(first) || !bytes.Equal(second[:len(first)], first) {
		t.Errorf("the second run left a WARC of %d bytes; want the first run's %d bytes followed by its own", len(second), len(first))
	}
	if got := recordedURLs(t, out); len(got) == 0 {
		t.Error("no records in -o")
	}
}
