package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
)

func openT(t *testing.T, url, job string, opts redis.Options) *redis.Frontier {
	t.Helper()
	f, err := redis.Open(t.Context(), url, job, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func pages(host string, from, to int) []frontier.Request {
	var rs []frontier.Request
	for i := from; i < to; i++ {
		rs = append(rs, frontier.Request{URL: fmt.Sprintf("http://%s/p/%d", host, i)})
	}
	return rs
}

// TestSeenSetGrows adds enough URLs for the seen set to split its buckets
// (past 256 × 40) and checks that it stays exact: everything added is
// still seen, nothing new is.
func TestSeenSetGrows(t *testing.T) {
	srv := redistest.Start(t)
	f := openT(t, srv.URL(0), "seen", redis.Options{})
	ctx := t.Context()
	const n = 30_000
	all := pages("s.test", 0, n)
	for i := 0; i < n; i += 1000 {
		if got, err := f.Add(ctx, all[i:i+1000]); err != nil || got != 1000 {
			t.Fatalf("Add(batch %d) = %d, %v; want 1000", i/1000, got, err)
		}
	}
	for i := 0; i < n; i += 1000 {
		if got, err := f.Add(ctx, all[i:i+1000]); err != nil || got != 0 {
			t.Fatalf("Add(batch %d again) = %d, %v; want 0", i/1000, got, err)
		}
	}
	if got, err := f.Add(ctx, pages("s.test", n, n+500)); err != nil || got != 500 {
		t.Fatalf("Add(500 new) = %d, %v; want 500", got, err)
	}
	st, err := f.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Seen != n+500 || st.Duplicates != n || st.Queued != n+500 {
		t.Errorf("Stats = %+v; want Seen %d, Duplicates %d", st, n+500, n)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	meta, _ := c.HMGet(ctx, "crawl:{seen}:meta", "sl", "sp").Result()
	keys, _ := c.Keys(ctx, "crawl:{seen}:s:*").Result()
	t.Logf("%d fingerprints in %d buckets (level %v, split %v)", n+500, len(keys), meta[0], meta[1])
	if len(keys) <= 256 {
		t.Errorf("%d buckets; want the table to have grown past 256", len(keys))
	}
	for _, k := range keys[:20] {
		if enc, _ := c.ObjectEncoding(ctx, k).Result(); enc != "listpack" {
			t.Errorf("bucket %s is a %s; want a listpack", k, enc)
		}
	}
}

// TestPolitenessAcrossWorkers checks that the per-host cap and delay hold
// for several workers together.
func TestPolitenessAcrossWorkers(t *testing.T) {
	srv := redistest.Start(t)
	const delay = 20 * time.Millisecond
	opts := redis.Options{Options: frontier.Options{PerHostInFlight: 2, Scheduler: frontier.BreadthFirst{Delay: delay}}}
	workers := []*redis.Frontier{
		openT(t, srv.URL(0), "polite", opts),
		openT(t, srv.URL(0), "polite", opts),
		openT(t, srv.URL(0), "polite", opts),
	}
	ctx := t.Context()
	if _, err := workers[0].Add(ctx, pages("a.test", 0, 30)); err != nil {
		t.Fatal(err)
	}
	// A lease happens between the start and the return of its Lease call:
	// two leases are proven too close when both calls fit in less than
	// the delay.
	type call struct{ start, end time.Time }
	var (
		mu       sync.Mutex
		inFlight int
		peak     int
		calls    []call
	)
	var wg sync.WaitGroup
	for _, f := range workers {
		for range 3 {
			wg.Go(func() {
				for {
					start := time.Now()
					ls, err := f.Lease(ctx, 5)
					end := time.Now()
					if errors.Is(err, frontier.ErrDrained) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					inFlight += len(ls)
					peak = max(peak, inFlight)
					calls = append(calls, call{start, end})
					mu.Unlock()
					time.Sleep(5 * time.Millisecond)
					mu.Lock()
					inFlight -= len(ls)
					mu.Unlock()
					outs := make([]frontier.Outcome, len(ls))
					for i, l := range ls {
						outs[i] = frontier.Outcome{Lease: l}
					}
					if err := f.Complete(ctx, outs); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	if peak > 2 {
		t.Errorf("%d leases outstanding on one host across 3 workers; want at most 2", peak)
	}
	for i, a := range calls {
		for _, b := range calls[i+1:] {
			if span := later(a.end, b.end).Sub(earlier(a.start, b.start)); span < delay {
				t.Fatalf("two leases on one host within %v across workers; want them %v apart", span, delay)
			}
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// TestDeadWorkerLeasesReturn checks that the leases of a worker whose
// heartbeat lapsed go back to their queues, long before they expire.
func TestDeadWorkerLeasesReturn(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	opts := redis.Options{HeartbeatTTL: 300 * time.Millisecond, Options: frontier.Options{LeaseTTL: time.Hour, PerHostInFlight: -1}}
	dead := openT(t, srv.URL(0), "dead", opts)
	if _, err := dead.Add(ctx, pages("d.test", 0, 5)); err != nil {
		t.Fatal(err)
	}
	held, err := dead.Lease(ctx, 3)
	if err != nil || len(held) != 3 {
		t.Fatalf("Lease = %d, %v", len(held), err)
	}
	// The worker dies: it never beats again, and its heartbeat key lapses
	// a moment later (Close deletes it; put it back as a kill leaves it).
	dead.Close()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	if err := c.Set(ctx, "crawl:{dead}:w:"+dead.Worker(), "{}", 300*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	live := openT(t, srv.URL(0), "dead", opts)
	got := map[string]bool{}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for len(got) < 5 {
		ls, err := live.Lease(lctx, 10)
		if err != nil {
			t.Fatalf("after %d: %v", len(got), err)
		}
		for _, l := range ls {
			got[l.Request.URL] = true
		}
	}
	rep, err := redis.Inspect(ctx, srv.URL(0), "dead")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Workers) != 1 || rep.Workers[0].ID != live.Worker() || rep.Workers[0].Leased != 5 {
		t.Errorf("workers = %+v; want only the live one, holding 5 leases", rep.Workers)
	}
	if err := dead.Complete(ctx, []frontier.Outcome{{Lease: held[0]}}); !errors.Is(err, frontier.ErrClosed) {
		t.Errorf("Complete on a closed frontier: %v", err)
	}
}

// TestRedisRestart checks that Lease, Complete and Add wait for a Redis
// that went away and carry on when it is back, reporting the retries.
func TestRedisRestart(t *testing.T) {
	srv := redistest.Start(t, "--appendfsync", "always")
	var retries atomic.Int64
	f := openT(t, srv.URL(0), "restart", redis.Options{OnRetry: func(error) { retries.Add(1) }})
	ctx := t.Context()
	if _, err := f.Add(ctx, pages("r.test", 0, 3)); err != nil {
		t.Fatal(err)
	}
	l1, err := f.Lease(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	done := make(chan error, 1)
	go func() {
		o := frontier.Outcome{Lease: l1[0], Links: pages("r.test", 3, 4)}
		done <- f.Complete(ctx, []frontier.Outcome{o})
	}()
	time.Sleep(500 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Complete returned %v while Redis was down; want it to wait", err)
	default:
	}
	srv.Restart()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Complete after the restart: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Complete did not return after Redis came back")
	}
	if retries.Load() == 0 {
		t.Error("OnRetry was never called")
	}
	var urls []string
	for {
		ls, err := f.Lease(ctx, 10)
		if errors.Is(err, frontier.ErrDrained) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		outs := make([]frontier.Outcome, len(ls))
		for i, l := range ls {
			urls = append(urls, l.Request.URL)
			outs[i] = frontier.Outcome{Lease: l}
		}
		if err := f.Complete(ctx, outs); err != nil {
			t.Fatal(err)
		}
	}
	if len(urls) != 3 {
		t.Errorf("after the restart leased %v; want the 2 left and the link", urls)
	}
	// A canceled call does not wait for Redis.
	srv.Kill()
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := f.Lease(cctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lease with Redis down and a deadline: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := redis.Open(ctx, "redis://127.0.0.1:1/0", "j", redis.Options{}); err == nil {
		t.Error("Open of an unreachable Redis succeeded")
	}
	if _, err := redis.Open(ctx, "redis://127.0.0.1:1/0", "no spaces", redis.Options{}); err == nil {
		t.Error("Open with a bad job name succeeded")
	}
	if _, err := redis.Open(ctx, "redis://127.0.0.1:1/0", "j", redis.Options{Options: frontier.Options{Strict: true}}); !errors.Is(err, redis.ErrStrict) {
		t.Errorf("Open with Strict: %v; want ErrStrict", err)
	}
}

func TestSeedsRobotsInspectPurge(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	a := openT(t, srv.URL(0), "ops", redis.Options{})
	b := openT(t, srv.URL(0), "ops", redis.Options{})
	if got, err := a.AddSeeds(ctx, []string{"http://x.test/", "http://y.test/"}); err != nil || len(got) != 2 {
		t.Fatalf("AddSeeds = %v, %v", got, err)
	}
	got, err := b.AddSeeds(ctx, []string{"http://z.test/", "http://x.test/"})
	if want := fmt.Sprint([]string{"http://x.test/", "http://y.test/", "http://z.test/"}); err != nil || fmt.Sprint(got) != want {
		t.Errorf("AddSeeds from a joiner = %v, %v; want %s", got, err, want)
	}

	rs := a.RobotsStore()
	if ok, err := rs.Claim(ctx, "http://x.test", time.Minute); !ok || err != nil {
		t.Errorf("first Claim = %v, %v", ok, err)
	}
	if ok, _ := b.RobotsStore().Claim(ctx, "http://x.test", time.Minute); ok {
		t.Error("second Claim won too")
	}
	if err := rs.Save(ctx, "http://x.test", []byte("body"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if data, ok, err := b.RobotsStore().Load(ctx, "http://x.test"); !ok || err != nil || string(data) != "body" {
		t.Errorf("Load = %q, %v, %v", data, ok, err)
	}
	if _, ok, _ := rs.Load(ctx, "http://y.test"); ok {
		t.Error("Load of an origin never saved found something")
	}

	if _, err := a.Add(ctx, pages("x.test", 0, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lease(ctx, 1); err != nil {
		t.Fatal(err)
	}
	rep, err := redis.Inspect(ctx, srv.URL(0), "ops")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stats.Queued != 3 || rep.Stats.Leased != 1 || len(rep.Workers) != 2 {
		t.Errorf("Inspect = %+v; want 3 queued, 1 leased, 2 workers", rep)
	}
	for _, w := range rep.Workers {
		if want := map[bool]int64{true: 1, false: 0}[w.ID == b.Worker()]; w.Leased != want {
			t.Errorf("worker %s holds %d leases; want %d", w.ID, w.Leased, want)
		}
	}

	other := openT(t, srv.URL(0), "other", redis.Options{})
	if _, err := other.Add(ctx, pages("o.test", 0, 2)); err != nil {
		t.Fatal(err)
	}
	n, err := redis.Purge(ctx, srv.URL(0), "ops")
	if err != nil || n == 0 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	if rep, _ := redis.Inspect(ctx, srv.URL(0), "ops"); rep.Stats != (frontier.Stats{}) {
		t.Errorf("after Purge: %+v; want nothing", rep.Stats)
	}
	if st, _ := other.Stats(ctx); st.Queued != 2 {
		t.Errorf("another job after Purge: %+v; want it untouched", st)
	}
}

// TestOldLayoutRefused checks that a job written by the first layout
// (which had no version in its meta hash) is refused, not misread.
func TestOldLayoutRefused(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	if err := c.HSet(ctx, "crawl:{old}:meta", "seq", 5, "lid", 2, "q", 3).Err(); err != nil {
		t.Fatal(err)
	}
	f, err := redis.Open(ctx, srv.URL(0), "old", redis.Options{})
	if err == nil {
		f.Close()
		t.Fatal("Open of a job of the old layout succeeded")
	}
	if !strings.Contains(err.Error(), "layout") {
		t.Errorf("Open of a job of the old layout: %v; want an error about its layout", err)
	}
	// A new job is created with the current layout, and reopens.
	f = openT(t, srv.URL(0), "new", redis.Options{})
	if _, err := f.Add(ctx, pages("n.test", 0, 3)); err != nil {
		t.Fatal(err)
	}
	openT(t, srv.URL(0), "new", redis.Options{})
}

// TestPartialBatchExpiry checks the expiry of a Lease call's leases, of
// which some were completed: only the others come back, and each lease
// is fenced on its own.
func TestPartialBatchExpiry(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = 300 * time.Millisecond
	f := openT(t, srv.URL(0), "partial", redis.Options{Options: frontier.Options{LeaseTTL: ttl, PerHostInFlight: -1}})
	ctx := t.Context()
	var reqs []frontier.Request
	for i := range 4 {
		reqs = append(reqs, pages(fmt.Sprintf("h%d.test", i), 0, 1)...)
	}
	if _, err := f.Add(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	ls, err := f.Lease(ctx, 4)
	if err != nil || len(ls) != 4 {
		t.Fatalf("Lease(4) = %d leases, %v; want 4", len(ls), err)
	}
	done := []frontier.Outcome{{Lease: ls[0], Status: frontier.Done}, {Lease: ls[1], Status: frontier.Done}}
	if err := f.Complete(ctx, done); err != nil {
		t.Fatal(err)
	}
	time.Sleep(ttl + 50*time.Millisecond)
	again, err := f.Lease(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, l := range again {
		got[l.Request.URL] = true
	}
	if len(again) != 2 || !got[ls[2].Request.URL] || !got[ls[3].Request.URL] {
		t.Errorf("after expiry leased %v; want the two uncompleted requests %s and %s",
			again, ls[2].Request.URL, ls[3].Request.URL)
	}
	for _, l := range ls {
		err := f.Complete(ctx, []frontier.Outcome{{Lease: l, Status: frontier.Done}})
		if !errors.Is(err, frontier.ErrLeaseExpired) {
			t.Errorf("Complete(lease %d of the first call) = %v; want ErrLeaseExpired", l.ID, err)
		}
	}
	var outs []frontier.Outcome
	for _, l := range again {
		outs = append(outs, frontier.Outcome{Lease: l, Status: frontier.Done})
	}
	if err := f.Complete(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if st, err := f.Stats(ctx); err != nil || st.Done != 4 || st.Leased != 0 || st.Queued != 0 {
		t.Errorf("Stats = %+v, %v; want 4 done, none leased or queued", st, err)
	}
}
