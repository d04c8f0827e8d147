package disk

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/frontiertest"
)

// openTest opens dir for a test and fails it on error.
func openTest(t testing.TB, dir string, opts Options) *Disk {
	t.Helper()
	d, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return d
}

func TestConformance(t *testing.T) {
	for _, window := range []int{0, 2} {
		t.Run(fmt.Sprintf("WindowPerHost %d", window), func(t *testing.T) {
			dirs := map[frontier.Frontier]string{}
			frontiertest.Run(t, frontiertest.Backend{
				New: func(t *testing.T, opts frontier.Options) frontier.Frontier {
					dir := t.TempDir()
					d := openTest(t, dir, Options{Options: opts, WindowPerHost: window})
					dirs[d] = dir
					return d
				},
				Reopen: func(t *testing.T, f frontier.Frontier, opts frontier.Options) frontier.Frontier {
					dir, ok := dirs[f]
					if !ok {
						t.Fatal("Reopen of a frontier this test did not open")
					}
					if err := f.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					d := openTest(t, dir, Options{Options: opts, WindowPerHost: window})
					dirs[d] = dir
					return d
				},
			})
		})
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	d := openTest(t, dir, Options{})
	if _, err := d.Add(t.Context(), []frontier.Request{{URL: "http://a.test/1"}}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if d2, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		if err == nil {
			d2.Close()
		}
		t.Fatalf("second Open of a directory in use = %v; want ErrLocked", err)
	}
	// ReadStats works while the directory is in use, from the stats file,
	// which the committer rewrites at most once a second.
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		s, err := ReadStats(dir)
		if err == nil && s.Queued == 1 && s.Seen == 1 {
			break
		}
		if time.Since(start) > 3*statsFileInterval {
			t.Fatalf("ReadStats while open = %+v, %v; want Queued 1, Seen 1", s, err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	d = openTest(t, dir, Options{})
	if s, err := d.Stats(t.Context()); err != nil || s.Queued != 1 {
		t.Errorf("Stats after reopening = %+v, %v; want Queued 1", s, err)
	}
	d.Close()
	// ReadStats works on a directory nobody has open, from the store.
	if s, err := ReadStats(dir); err != nil || s.Queued != 1 || s.Seen != 1 {
		t.Errorf("ReadStats while closed = %+v, %v; want Queued 1, Seen 1", s, err)
	}
	if _, err := ReadStats(t.TempDir()); err == nil {
		t.Errorf("ReadStats(empty directory) = nil error; want one")
	}
}

func TestIncompatible(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, Options{}).Close()

	db, err := pebble.Open(filepath.Join(dir, dbDir), pebbleOptions(false))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set(keyVersion, []byte{formatVersion + 1}, pebble.Sync); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	d, err := Open(dir, Options{})
	if !errors.Is(err, ErrIncompatible) {
		if err == nil {
			d.Close()
		}
		t.Fatalf("Open(state of version %d) = %v; want ErrIncompatible", formatVersion+1, err)
	}
	for _, v := range []string{fmt.Sprint("version ", formatVersion+1), fmt.Sprint("version ", formatVersion)} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error %q does not name %q", err, v)
		}
	}
	if _, err := ReadStats(dir); !errors.Is(err, ErrIncompatible) {
		t.Errorf("ReadStats(state of another version) = %v; want ErrIncompatible", err)
	}
	// The refusal released the directory.
	if _, err := Open(dir, Options{}); errors.Is(err, ErrLocked) {
		t.Errorf("Open after a refused Open = %v; the lock was not released", err)
	}
}

func TestSeenFilter(t *testing.T) {
	f := newSeenFilter(0, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	added := make([]uint64, 300_000) // past the first stage and the budget
	for i := range added {
		added[i] = rng.Uint64()
		f.add(added[i])
	}
	for _, fp := range added {
		if !f.mayContain(fp) {
			t.Fatalf("fingerprint %x added but not found", fp)
		}
	}
	if f.total > 1<<20 {
		t.Errorf("filter uses %d bytes; budget %d", f.total, 1<<20)
	}
	fps := 0
	for range 100_000 {
		if f.mayContain(rng.Uint64()) {
			fps++
		}
	}
	if fps > 5_000 {
		t.Errorf("%d false positives in 100000; want a few percent at most", fps)
	}
}

// oracle is the expected queue of each host: by (priority, arrival).
type oracle map[string]*oracleQueue

type oracleItem struct {
	prio float64
	seq  int
	req  frontier.Request
}

type oracleQueue []oracleItem

func (q oracleQueue) Len() int { return len(q) }
func (q oracleQueue) Less(i, j int) bool {
	if q[i].prio != q[j].prio {
		return q[i].prio < q[j].prio
	}
	return q[i].seq < q[j].seq
}
func (q oracleQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *oracleQueue) Push(x any)   { *q = append(*q, x.(oracleItem)) }
func (q *oracleQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

func (o oracle) push(it oracleItem) {
	host := it.req.Host()
	if o[host] == nil {
		o[host] = &oracleQueue{}
	}
	heap.Push(o[host], it)
}

// TestWindowOrder runs 20,000 URLs on 2 hosts through windows of 16, with
// adds, retries and restarts interleaved with leases, and checks that every
// lease is the first of its host's queue by (priority, arrival).
func TestWindowOrder(t *testing.T) {
	for _, sched := range []frontier.Scheduler{frontier.BreadthFirst{}, frontier.DepthFirst{}} {
		t.Run(fmt.Sprintf("%T", sched), func(t *testing.T) {
			testWindowOrder(t, sched)
		})
	}
}

func testWindowOrder(t *testing.T, sched frontier.Scheduler) {
	const (
		urls   = 20_000
		batch  = 100
		window = 16
	)
	opts := Options{
		Options:        frontier.Options{Scheduler: sched, PerHostInFlight: -1, LeaseTTL: time.Hour},
		WindowPerHost:  window,
		CommitInterval: time.Millisecond, // the test waits for hundreds of commits
	}
	dir := t.TempDir()
	d := openTest(t, dir, opts)
	defer func() { d.Close() }()
	ctx := t.Context()
	rng := rand.New(rand.NewPCG(3, 4))
	want := oracle{}
	seq := 0
	held := map[uint64]oracleItem{} // outstanding leases
	leasedAt := map[string]int{}    // URL → times completed Done

	check := func(ls []frontier.Lease) {
		t.Helper()
		for _, l := range ls {
			q := want[l.Request.Host()]
			if q == nil || q.Len() == 0 {
				t.Fatalf("leased %s; its host has nothing queued", l.Request.URL)
			}
			next := heap.Pop(q).(oracleItem)
			if next.req != l.Request {
				t.Fatalf("leased %+v; want %+v, the first of its host's queue", l.Request, next.req)
			}
			held[l.ID] = next
		}
	}
	lease := func(n int) {
		t.Helper()
		if n == 0 {
			return
		}
		ls, err := d.Lease(ctx, n)
		if err != nil {
			t.Fatalf("Lease(%d): %v", n, err)
		}
		check(ls)
	}
	completeSome := func(n int) {
		t.Helper()
		var outs []frontier.Outcome
		for id, it := range held {
			if len(outs) == n {
				break
			}
			o := frontier.Outcome{Lease: frontier.Lease{ID: id, Request: it.req}, Status: frontier.Done}
			if rng.IntN(10) == 0 {
				o.Status = frontier.Retry
				seq++
				it.seq = seq
				it.req.Attempts++
				want.push(it)
			} else {
				leasedAt[it.req.URL]++
			}
			outs = append(outs, o)
			delete(held, id)
		}
		if err := d.Complete(ctx, outs); err != nil {
			t.Fatalf("Complete: %v", err)
		}
	}

	for next := 0; next < urls; next += batch {
		reqs := make([]frontier.Request, batch)
		for i := range reqs {
			u := next + i
			reqs[i] = frontier.Request{URL: fmt.Sprintf("http://h%d.test/%d", u%2, u), Depth: rng.IntN(8)}
			seq++
			want.push(oracleItem{prio: sched.Priority(reqs[i]), seq: seq, req: reqs[i]})
		}
		if n, err := d.Add(ctx, append(reqs, reqs[:10]...)); err != nil || n != batch {
			t.Fatalf("Add = %d, %v; want %d", n, err, batch)
		}
		lease(rng.IntN(60))
		completeSome(rng.IntN(60))
		if next%(urls/3) < batch && next > 0 {
			// Restart: outstanding leases go back to their old places.
			if err := d.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			for _, it := range held {
				want.push(it)
			}
			clear(held)
			d = openTest(t, dir, opts)
		}
		if next%(20*batch) == 0 {
			checkInvariants(t, d)
		}
	}
	for {
		if s, _ := d.Stats(ctx); s.Queued == 0 {
			completeSome(len(held)) // or Lease would wait for them
		}
		ls, err := d.Lease(ctx, 1+rng.IntN(20))
		if errors.Is(err, frontier.ErrDrained) {
			break
		}
		if err != nil {
			t.Fatalf("Lease: %v", err)
		}
		check(ls)
		if len(held) > 100 {
			completeSome(len(held))
		}
	}
	checkInvariants(t, d)
	for u := range urls {
		if n := leasedAt[fmt.Sprintf("http://h%d.test/%d", u%2, u)]; n != 1 {
			t.Fatalf("URL %d completed Done %d times; want once", u, n)
		}
	}
	s, err := d.Stats(ctx)
	if want := (frontier.Stats{Done: urls, Seen: urls, Duplicates: urls / batch * 10}); err != nil || s != want {
		t.Errorf("Stats = %+v, %v; want %+v", s, err, want)
	}
}

// checkInvariants compares each host's window with its queue in the store:
// the window is the queue's first requests, in order, within WindowPerHost,
// the head is at or before them, and the counters match the store.
func checkInvariants(t *testing.T, d *Disk) {
	t.Helper()
	if _, err := d.commitOnce(); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var queued, hosts int64
	err := d.scan([]byte{prefixQueue}, func(k, v []byte) error {
		queued++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if queued != d.statsLocked().Queued {
		t.Errorf("store holds %d queued requests; Stats.Queued = %d", queued, d.statsLocked().Queued)
	}
	for name, h := range d.hosts {
		if h.active {
			hosts++
		}
		if len(h.window) > d.opts.WindowPerHost {
			t.Errorf("%s: window of %d; WindowPerHost %d", name, len(h.window), d.opts.WindowPerHost)
		}
		var stored []item
		if err := d.scan(h.prefix, func(k, v []byte) error {
			key, _ := decodeQueueKey(k)
			r, err := decodeRequest(v)
			stored = append(stored, item{key, r})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(h.spill) > 0 || len(h.popped) > 0 {
			t.Errorf("%s: overlay of %d queued and %d consumed requests after a commit", name, len(h.spill), len(h.popped))
		}
		n := min(len(stored), len(h.window))
		if !slices.Equal(stored[:n], h.window) {
			t.Errorf("%s: window is not the first %d requests of the queue", name, len(h.window))
		}
		if h.complete && len(stored) != len(h.window) {
			t.Errorf("%s: window complete with %d requests; the store holds %d", name, len(h.window), len(stored))
		}
		if len(stored) > 0 && stored[0].key.less(h.head) {
			t.Errorf("%s: head %v after the first queued position %v", name, h.head, stored[0].key)
		}
	}
	if hosts != d.stats.Hosts {
		t.Errorf("%d active hosts; Stats.Hosts = %d", hosts, d.stats.Hosts)
	}
}

func TestLeaseIDsUniqueAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	seen := map[uint64]bool{}
	for round := range 3 {
		d := openTest(t, dir, Options{Options: frontier.Options{PerHostInFlight: -1}})
		if _, err := d.Add(t.Context(), []frontier.Request{{URL: fmt.Sprintf("http://a.test/%d", round)}}); err != nil {
			t.Fatal(err)
		}
		ls, err := d.Lease(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if seen[l.ID] {
				t.Errorf("round %d: lease ID %d handed out before", round, l.ID)
			}
			seen[l.ID] = true
		}
		d.Close()
	}
}

// TestStrictAcrossRestarts checks that the per-priority counts of a Strict
// crawl survive a restart, and are rebuilt when a crawl that was not Strict
// is resumed as one.
func TestStrictAcrossRestarts(t *testing.T) {
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprintf("first run Strict %v", first), func(t *testing.T) {
			dir := t.TempDir()
			ctx := t.Context()
			d := openTest(t, dir, Options{Options: frontier.Options{PerHostInFlight: -1, Strict: first}})
			if _, err := d.Add(ctx, []frontier.Request{
				{URL: "http://a.test/0"}, {URL: "http://b.test/0"}, {URL: "http://c.test/1", Depth: 1},
			}); err != nil {
				t.Fatal(err)
			}
			ls, err := d.Lease(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			var a frontier.Lease // http://a.test/0, completed; b.test/0 stays leased
			for _, l := range ls {
				if l.Request.URL == "http://a.test/0" {
					a = l
				}
			}
			if err := d.Complete(ctx, []frontier.Outcome{{Lease: a}}); err != nil {
				t.Fatal(err)
			}
			d.Close()

			d = openTest(t, dir, Options{Options: frontier.Options{PerHostInFlight: -1, Strict: true}})
			defer d.Close()
			// b.test/0 (depth 0) is queued again and holds back c.test/1.
			ls, err = d.Lease(ctx, 10)
			if err != nil || len(ls) != 1 || ls[0].Request.URL != "http://b.test/0" {
				t.Fatalf("Lease after reopening = %v, %v; want only http://b.test/0", urlsOf(ls), err)
			}
			short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
			defer cancel()
			if ls, err := d.Lease(short, 10); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Lease with depth 0 outstanding = %v, %v; want it to block", urlsOf(ls), err)
			}
			if err := d.Complete(ctx, []frontier.Outcome{{Lease: ls[0]}}); err != nil {
				t.Fatal(err)
			}
			if ls, err := d.Lease(ctx, 10); err != nil || len(ls) != 1 || ls[0].Request.URL != "http://c.test/1" {
				t.Fatalf("Lease after depth 0 completed = %v, %v; want http://c.test/1", urlsOf(ls), err)
			}
		})
	}
}

func urlsOf(ls []frontier.Lease) []string {
	var urls []string
	for _, l := range ls {
		urls = append(urls, l.Request.URL)
	}
	return urls
}

func TestOpLog(t *testing.T) {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Set([]byte("old"), []byte("0"), nil); err != nil {
		t.Fatal(err)
	}
	var l opLog
	l.setFresh([]byte("gone"), []byte("1")) // created and deleted: no write
	l.set([]byte("old"), []byte("1"))       // held by the store: its delete must reach it
	l.setFresh([]byte("back"), []byte("1")) // created, deleted, queued again
	l.set([]byte("twice"), []byte("1"))     // the last value wins
	l.del([]byte("gone"))
	l.del([]byte("old"))
	l.del([]byte("back"))
	l.set([]byte("back"), []byte("2"))
	l.set([]byte("twice"), []byte("2"))
	b := db.NewBatch()
	if err := l.writeTo(b); err != nil {
		t.Fatal(err)
	}
	if got := b.Count(); got != 3 {
		t.Errorf("batch of %d writes; want 3 (old, back, twice)", got)
	}
	if err := db.Apply(b, nil); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"gone": "", "old": "", "back": "2", "twice": "2"} {
		v, closer, err := db.Get([]byte(k))
		got := ""
		if err == nil {
			got = string(v)
			closer.Close()
		}
		if got != want {
			t.Errorf("%s = %q; want %q", k, got, want)
		}
	}
}
