package sched

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// req is the test's request type.
type req struct {
	url      string
	attempts int
}

// lease is the test's lease type.
type lease struct {
	id  uint64
	url string
	exp time.Time
}

// queue is a host queue kept sorted; popErr, when set, fails the next Pop
// after taking the request.
type queue struct {
	items  []qitem
	popErr error
}

type qitem struct {
	p Pos
	r req
}

func (q *queue) Head() (Pos, bool) {
	if len(q.items) == 0 {
		return Pos{}, false
	}
	return q.items[0].p, true
}

func (q *queue) Pop() (Pos, req, error) {
	it := q.items[0]
	q.items = q.items[1:]
	err := q.popErr
	q.popErr = nil
	return it.p, it.r, err
}

func (q *queue) Push(p Pos, r req, _ bool) {
	i, _ := slices.BinarySearchFunc(q.items, p, func(x qitem, p Pos) int {
		switch {
		case x.p.Less(p):
			return -1
		case p.Less(x.p):
			return 1
		}
		return 0
	})
	q.items = slices.Insert(q.items, i, qitem{p, r})
}

var (
	errDrained = errors.New("drained")
	errClosed  = errors.New("closed")
)

// fixture is a core over test queues, with a clock the test moves.
type fixture struct {
	t     *testing.T
	mu    sync.Mutex
	c     *Core[req, lease]
	hosts map[string]*Host[req]
	now   time.Time
}

func newFixture(t *testing.T, cfg Config[req, lease]) *fixture {
	f := &fixture{t: t, hosts: map[string]*Host[req]{}, now: time.Unix(1_000_000, 0)}
	cfg.Mu = &f.mu
	cfg.NewLease = func(l *Lease[req]) lease { return lease{l.ID, l.Req.url, l.Expires} }
	cfg.Retried = func(r req) req { r.attempts++; return r }
	cfg.Drained, cfg.Closed = errDrained, errClosed
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = time.Hour
	}
	if cfg.StrictStall == 0 {
		cfg.StrictStall = time.Second
	}
	f.c = New(cfg)
	f.c.now = func() time.Time { return f.now }
	return f
}

func (f *fixture) host(name string) *Host[req] {
	if f.hosts[name] == nil {
		f.hosts[name] = NewHost[req](name, &queue{})
	}
	return f.hosts[name]
}

func (f *fixture) add(host, url string, prio float64) {
	f.c.Add(f.host(host), EncodePriority(prio), req{url: url})
}

// lease leases up to n at the fixture's time, without waiting.
func (f *fixture) lease(n int) []lease {
	f.t.Helper()
	f.c.Reap(f.now)
	out, err := f.c.leaseLocked(f.now, n)
	if err != nil {
		f.t.Fatalf("lease: %v", err)
	}
	return out
}

func urls(ls []lease) []string {
	var s []string
	for _, l := range ls {
		s = append(s, l.url)
	}
	return s
}

// TestHostSpacing checks the one host-spacing rule: a host's leases are
// exactly max(scheduler delay, Crawl-delay) apart, to the nanosecond, a
// Crawl-delay counts from the last lease and only slows the host down, and
// RetryAt holds the host.
func TestHostSpacing(t *testing.T) {
	// --rate 3 asks for 1s/3 between requests.
	perSecond := 3.0
	rate := time.Duration(float64(time.Second) / perSecond)
	tests := []struct {
		name       string
		schedDelay time.Duration
		crawlDelay time.Duration // learned from the first completion
		want       time.Duration
	}{
		{"scheduler delay (--rate 3)", rate, 0, rate},
		{"crawl-delay without scheduler delay", 0, 2 * time.Second, 2 * time.Second},
		{"crawl-delay longer", rate, time.Second, time.Second},
		{"crawl-delay shorter does not speed up", time.Second, rate, time.Second},
		{"no delay", 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config[req, lease]{
				PerHostInFlight: -1,
				HostDelay:       func(string) time.Duration { return tt.schedDelay },
			})
			for i := range 5 {
				f.add("a.test", string(rune('a'+i)), 0)
			}
			start := f.now
			first := f.lease(1)
			f.now = f.now.Add(10 * time.Millisecond) // the fetch; the delay counts from the lease
			if h := f.c.Complete(first[0].id, Outcome{Status: Done, HostDelay: tt.crawlDelay}); h == nil {
				t.Fatal("Complete of a held lease returned nil")
			}
			for i := 1; i < 4; i++ {
				due := start.Add(time.Duration(i) * tt.want)
				if tt.want > 0 {
					f.now = due.Add(-1)
					if got := f.lease(5); len(got) != 0 {
						t.Fatalf("lease %d: %v leased 1ns before %v", i, urls(got), due)
					}
					if w := f.c.waitLocked(f.now); w != 1 {
						t.Errorf("lease %d: wait %v 1ns before it is due; want 1ns", i, w)
					}
				}
				f.now = due
				if got := f.lease(1); len(got) != 1 {
					t.Fatalf("lease %d: nothing leased at %v after the first; want one", i, due.Sub(start))
				}
			}
		})
	}

	t.Run("RetryAt holds the host whatever the status", func(t *testing.T) {
		for _, st := range []Status{Done, Failed, Retry, Release} {
			f := newFixture(t, Config[req, lease]{PerHostInFlight: -1})
			f.add("a.test", "1", 0)
			f.add("a.test", "2", 0)
			l := f.lease(1)
			retryAt := f.now.Add(time.Minute)
			f.c.Complete(l[0].id, Outcome{Status: st, RetryAt: retryAt})
			f.now = retryAt.Add(-1)
			if got := f.lease(5); len(got) != 0 {
				t.Errorf("status %d: %v leased before RetryAt", st, urls(got))
			}
			f.now = retryAt
			if got := f.lease(5); len(got) == 0 {
				t.Errorf("status %d: nothing leased at RetryAt", st)
			}
		}
	})
}

// TestRenew checks that a renewed lease outlives its first expiry and
// lapses a full LeaseTTL after the renewal.
func TestRenew(t *testing.T) {
	const ttl = 10 * time.Second
	f := newFixture(t, Config[req, lease]{PerHostInFlight: -1, LeaseTTL: ttl})
	f.add("a.test", "1", 0)
	f.add("a.test", "2", 0)
	ls := f.lease(2)
	f.now = f.now.Add(6 * time.Second)
	f.c.Reap(f.now)
	if !f.c.Renew(ls[0].id, f.now) {
		t.Fatal("Renew of a held lease = false")
	}
	f.now = f.now.Add(5 * time.Second) // 11s: the other lease lapsed
	if got := urls(f.lease(5)); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("leased %v after the first expiry; want only [2], whose lease was not renewed", got)
	}
	if f.c.Renew(ls[1].id, f.now) {
		t.Error("Renew of a lapsed lease = true")
	}
	f.now = f.now.Add(5 * time.Second) // 16s: a full TTL after the renewal
	if got := urls(f.lease(5)); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("leased %v a TTL after the renewal; want [1]", got)
	}
	if h := f.c.Complete(ls[0].id, Outcome{}); h != nil {
		t.Error("Complete of the lapsed renewed lease succeeded")
	}
}

// TestCompleteStatuses checks where each status puts the request and what
// it counts.
func TestCompleteStatuses(t *testing.T) {
	tests := []struct {
		st           Status
		wantQueued   bool
		wantAttempts int
		want         Counts
	}{
		{Done, false, 0, Counts{Done: 1}},
		{Failed, false, 0, Counts{Failed: 1}},
		{Retry, true, 1, Counts{Queued: 2}},
		{Release, true, 0, Counts{Queued: 2}},
	}
	for _, tt := range tests {
		f := newFixture(t, Config[req, lease]{PerHostInFlight: -1, Strict: true})
		f.add("a.test", "1", 0)
		f.add("a.test", "2", 0)
		l := f.lease(1)[0]
		f.c.Complete(l.id, Outcome{Status: tt.st})
		if tt.want.Queued == 0 {
			tt.want.Queued = 1
		}
		if f.c.Counts != tt.want {
			t.Errorf("status %d: counts %+v; want %+v", tt.st, f.c.Counts, tt.want)
		}
		q := f.hosts["a.test"].Queue.(*queue)
		var got *qitem
		for i := range q.items {
			if q.items[i].r.url == "1" {
				got = &q.items[i]
			}
		}
		if (got != nil) != tt.wantQueued {
			t.Fatalf("status %d: request queued again %v; want %v", tt.st, got != nil, tt.wantQueued)
		}
		if got == nil {
			if n := f.c.prios.Count(EncodePriority(0)); n != 1 {
				t.Errorf("status %d: Strict counts %d outstanding; want 1", tt.st, n)
			}
			continue
		}
		if got.r.attempts != tt.wantAttempts {
			t.Errorf("status %d: attempts %d; want %d", tt.st, got.r.attempts, tt.wantAttempts)
		}
		// A retry goes behind the other request; a release back in front.
		if first := q.items[0].r.url == "1"; first != (tt.st == Release) {
			t.Errorf("status %d: queue %v", tt.st, q.items)
		}
	}
}

// TestStrict checks the hold-back of deeper levels and the stall that lets
// them go when the lowest level waits on its hosts.
func TestStrict(t *testing.T) {
	f := newFixture(t, Config[req, lease]{PerHostInFlight: -1, Strict: true})
	f.add("a.test", "a0", 0)
	f.add("b.test", "b1", 1)
	if got := urls(f.lease(5)); !slices.Equal(got, []string{"a0"}) {
		t.Fatalf("leased %v; want only a0, the lowest level", got)
	}
	if got := f.lease(5); len(got) != 0 {
		t.Fatalf("leased %v while depth 0 is leased", urls(got))
	}
	if w := f.c.waitLocked(f.now); w != time.Hour {
		t.Errorf("wait %v with only a held-back host ready; want the lease's expiry, 1h", w)
	}
	// a0 comes back with a RetryAt shorter than the stall: b1 still waits.
	l := f.c.byID[1]
	f.c.Complete(l.ID, Outcome{Status: Retry, RetryAt: f.now.Add(f.c.cfg.StrictStall / 2)})
	if got := f.lease(5); len(got) != 0 {
		t.Fatalf("leased %v while depth 0 waits less than StrictStall", urls(got))
	}
	// Then it is leased, and comes back with a long RetryAt: the level is
	// stalled, and b1 goes ahead.
	f.now = f.now.Add(f.c.cfg.StrictStall / 2)
	ls := f.lease(5)
	if !slices.Equal(urls(ls), []string{"a0"}) {
		t.Fatalf("leased %v at a0's RetryAt; want a0", urls(ls))
	}
	f.c.Complete(ls[0].id, Outcome{Status: Retry, RetryAt: f.now.Add(time.Hour)})
	if got := urls(f.lease(5)); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("leased %v with depth 0 stalled for an hour; want b1", got)
	}
}

// TestInFlightCap checks PerHostInFlight.
func TestInFlightCap(t *testing.T) {
	for _, limit := range []int{1, 2, -1} {
		f := newFixture(t, Config[req, lease]{PerHostInFlight: limit})
		for i := range 4 {
			f.add("a.test", string(rune('a'+i)), 0)
		}
		want := limit
		if limit < 0 {
			want = 4
		}
		ls := f.lease(10)
		if len(ls) != want {
			t.Errorf("cap %d: leased %d; want %d", limit, len(ls), want)
		}
		if limit > 0 {
			f.c.Complete(ls[0].id, Outcome{})
			if got := f.lease(10); len(got) != 1 {
				t.Errorf("cap %d: %d leased after one completed; want 1", limit, len(got))
			}
		}
	}
}

// TestLeaseErrorGivesBack fails a Lease step in the middle: the call
// returns the error and no leases, and what it took is queued again.
func TestLeaseErrorGivesBack(t *testing.T) {
	errStore := errors.New("store failed")
	for _, where := range []string{"lease ID", "pop"} {
		t.Run(where, func(t *testing.T) {
			ids := 0
			var unleased int
			f := newFixture(t, Config[req, lease]{
				PerHostInFlight: -1,
				NewLeaseID: func() (uint64, error) {
					ids++
					if where == "lease ID" && ids == 3 {
						return 0, errStore
					}
					return uint64(ids), nil
				},
				Unleased: func(*Lease[req]) { unleased++ },
			})
			for _, h := range []string{"a.test", "b.test", "c.test"} {
				f.add(h, h, 0)
			}
			if where == "pop" {
				f.host("b.test").Queue.(*queue).popErr = errStore
			}
			got, err := f.c.Lease(context.Background(), 10)
			if !errors.Is(err, errStore) || got != nil {
				t.Fatalf("Lease = %v, %v; want nil, the store's error", got, err)
			}
			if f.c.Counts != (Counts{Queued: 3}) || len(f.c.byID) != 0 || unleased == 0 {
				t.Errorf("after the failure: counts %+v, %d leases, %d unleased; want 3 queued, none leased", f.c.Counts, len(f.c.byID), unleased)
			}
			if got := f.lease(10); len(got) != 3 {
				t.Errorf("then leased %v; want all 3", urls(got))
			}
		})
	}
}

// TestLeaseLoop checks the blocking Lease: drained, closed, and a waiting
// call that returns when its context ends.
func TestLeaseLoop(t *testing.T) {
	f := newFixture(t, Config[req, lease]{PerHostInFlight: -1})
	ctx := context.Background()
	if _, err := f.c.Lease(ctx, 1); !errors.Is(err, errDrained) {
		t.Fatalf("Lease of an empty core = %v; want drained", err)
	}
	f.add("a.test", "1", 0)
	ls, err := f.c.Lease(ctx, 5)
	if err != nil || len(ls) != 1 {
		t.Fatalf("Lease = %v, %v", ls, err)
	}
	// Nothing is ready until the lease expires in an hour.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		ls, err := f.c.Lease(cctx, 1)
		if ls != nil {
			err = errors.New("leases returned")
		}
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Lease = %v; want context.Canceled", err)
	}
	f.mu.Lock()
	f.c.Close()
	f.mu.Unlock()
	if _, err := f.c.Lease(ctx, 1); !errors.Is(err, errClosed) {
		t.Fatalf("Lease after Close = %v; want closed", err)
	}
}

func TestEncodePriority(t *testing.T) {
	ordered := []float64{
		math.Inf(-1), -math.MaxFloat64, -1e10, -1.5, -1, -math.SmallestNonzeroFloat64,
		0, math.SmallestNonzeroFloat64, 0.5, 1, 2, 1e300, math.MaxFloat64, math.Inf(1),
	}
	for i := 1; i < len(ordered); i++ {
		if a, b := EncodePriority(ordered[i-1]), EncodePriority(ordered[i]); a >= b {
			t.Errorf("EncodePriority(%g) = %x >= EncodePriority(%g) = %x", ordered[i-1], a, ordered[i], b)
		}
	}
	if EncodePriority(math.Copysign(0, -1)) != EncodePriority(0) {
		t.Errorf("-0 and +0 encode differently; they must tie")
	}
	if EncodePriority(math.NaN()) != EncodePriority(math.Inf(1)) {
		t.Errorf("NaN does not sort with +Inf")
	}
}
