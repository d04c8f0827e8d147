package disk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// crashDirEnv names the state directory of the crash helper process; the
// helper runs only when it is set.
const crashDirEnv = "DISK_CRASH_HELPER_DIR"

// TestCrashHelper is the process that TestCrash kills. It crawls a synthetic
// site with several workers and prints, after each acknowledged Add or
// Complete, what was acknowledged: "add URL", "done URL" and "link URL";
// and "lease URL" for each lease before it completes it.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrash")
	}
	d, err := Open(dir, Options{Options: frontier.Options{PerHostInFlight: -1, LeaseTTL: time.Hour}})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	report := func(kind string, urls ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, u := range urls {
			fmt.Fprintln(out, kind, u)
		}
		out.Flush()
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				reqs := make([]frontier.Request, 20)
				urls := make([]string, len(reqs))
				for j := range reqs {
					urls[j] = fmt.Sprintf("http://h%d.test/w%d-%d-%d", j%5, w, i, j)
					reqs[j] = frontier.Request{URL: urls[j]}
				}
				if _, err := d.Add(ctx, reqs); err != nil {
					return
				}
				report("add", urls...)
				ls, err := d.Lease(ctx, 16)
				if err != nil {
					return
				}
				leased := make([]string, len(ls))
				for k, l := range ls {
					leased[k] = l.Request.URL
				}
				report("lease", leased...)
				// Complete half, with a link each; the rest stay leased.
				var outs []frontier.Outcome
				var done, links []string
				for k, l := range ls {
					if k%2 == 1 {
						continue
					}
					link := l.Request.URL + "/link"
					outs = append(outs, frontier.Outcome{Lease: l, Status: frontier.Done,
						Links: []frontier.Request{{URL: link, Depth: 1, Parent: l.Request.URL}}})
					done = append(done, l.Request.URL)
					links = append(links, link)
				}
				if err := d.Complete(ctx, outs); err != nil {
					return
				}
				report("done", done...)
				report("link", links...)
			}
		})
	}
	wg.Wait()
}

// TestCrash kills a crawling process with SIGKILL and checks what the state
// directory holds afterwards: every request acknowledged by Add (or as a
// link by Complete) and not acknowledged done is queued exactly once, no
// acknowledged completion comes back, and the counters match the store.
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the helper process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}   // added or linked, acknowledged
	done := map[string]bool{}    // completed Done, acknowledged
	inDoubt := map[string]bool{} // leased; a completion may have been durable
	sc := bufio.NewScanner(stdout)
	completions := 0
	read := func(line string) {
		kind, u, _ := strings.Cut(line, " ")
		switch kind {
		case "add", "link":
			acked[u] = true
		case "lease":
			inDoubt[u] = true
		case "done":
			done[u] = true
			completions++
		default:
			t.Fatalf("helper: %s", line)
		}
	}
	for completions < 300 && sc.Scan() { // then kill it mid-flight
		read(sc.Text())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() { // lines written before the kill
		read(sc.Text())
	}
	_ = cmd.Wait()
	if completions < 300 {
		t.Fatalf("helper exited after %d completions", completions)
	}

	d := openTest(t, dir, Options{Options: frontier.Options{PerHostInFlight: -1}})
	defer d.Close()
	ctx := t.Context()
	before, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.Leased != 0 || before.Queued == 0 {
		t.Errorf("Stats after the crash = %+v; want everything leased queued again", before)
	}
	checkInvariants(t, d)

	leased := map[string]int{}
	for {
		ls, err := d.Lease(ctx, 100)
		if errors.Is(err, frontier.ErrDrained) {
			break
		}
		if err != nil {
			t.Fatalf("Lease: %v", err)
		}
		outs := make([]frontier.Outcome, len(ls))
		for i, l := range ls {
			leased[l.Request.URL]++
			outs[i] = frontier.Outcome{Lease: l, Status: frontier.Done}
		}
		if err := d.Complete(ctx, outs); err != nil {
			t.Fatalf("Complete: %v", err)
		}
	}
	for u, n := range leased {
		if n != 1 {
			t.Errorf("%s queued %d times after the crash; want once", u, n)
		}
		if done[u] {
			t.Errorf("%s was completed (acknowledged) before the crash, and queued again", u)
		}
	}
	// An acknowledged request that is not queued any more must have been
	// completed by a completion that was durable but not acknowledged.
	unacked := 0
	lost := 0
	for u := range acked {
		if done[u] || leased[u] > 0 {
			continue
		}
		if inDoubt[u] {
			unacked++
			continue
		}
		if lost++; lost <= 5 {
			t.Errorf("%s acknowledged before the crash, never leased, and not queued after it", u)
		}
	}
	if int64(unacked) > before.Done-int64(len(done)) {
		t.Errorf("%d acknowledged requests were leased and are gone; only %d completions beyond the %d acknowledged are durable",
			unacked, before.Done-int64(len(done)), len(done))
	}
	if int64(len(leased)) != before.Queued {
		t.Errorf("Stats.Queued after the crash = %d; %d requests were queued", before.Queued, len(leased))
	}
	after, err := d.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Seen != after.Done || after.Done != before.Done+int64(len(leased)) {
		t.Errorf("Stats at the end = %+v (after the crash: %+v); want Seen = Done = %d + %d",
			after, before, before.Done, len(leased))
	}
	if n, err := d.Add(ctx, urlsToRequests(acked)); err != nil || n != 0 {
		t.Errorf("Add(everything acknowledged) = %d, %v; want 0: all of it was seen", n, err)
	}
	var seenKeys int64
	d.mu.Lock()
	err = d.scan([]byte{prefixSeen}, func(k, v []byte) error { seenKeys++; return nil })
	d.mu.Unlock()
	if err != nil || seenKeys != after.Seen {
		t.Errorf("store holds %d seen fingerprints (%v); Stats.Seen = %d", seenKeys, err, after.Seen)
	}
	t.Logf("acknowledged before the kill: %d added, %d done; durable: %d done; after: %d queued, %d done in all",
		len(acked), len(done), before.Done, len(leased), after.Done)
}

func urlsToRequests(set map[string]bool) []frontier.Request {
	reqs := make([]frontier.Request, 0, len(set))
	for u := range set {
		reqs = append(reqs, frontier.Request{URL: u})
	}
	return reqs
}
