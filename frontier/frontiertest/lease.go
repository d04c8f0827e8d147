package frontiertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// leaseTTL is the short lease lifetime of the expiry tests.
const leaseTTL = 50 * time.Millisecond

// testLeaseExpiry checks that a lease not completed in time goes back to the
// front of its host's queue, and that completing it late is fenced off.
func testLeaseExpiry(t *testing.T, b Backend) {
	stale := []struct {
		name string
		out  func(frontier.Lease) frontier.Outcome
	}{
		{"done", done},
		{"failed", failed},
		{"retry", func(l frontier.Lease) frontier.Outcome { return retry(l, time.Now()) }},
		{"release", func(l frontier.Lease) frontier.Outcome { return frontier.Outcome{Lease: l, Status: frontier.Release} }},
	}
	for _, tt := range stale {
		t.Run("late "+tt.name+" is rejected", func(t *testing.T) {
			h := open(t, b, frontier.Options{LeaseTTL: leaseTTL, PerHostInFlight: 1})
			u1, u2 := req("x.test", "1", 0), req("x.test", "2", 0)
			h.add(u1, u2)

			start := time.Now()
			old := h.leaseOne()
			if old.Request.URL != u1.URL {
				t.Fatalf("leased %s; want %s", old.Request.URL, u1.URL)
			}
			if !old.Expires.After(start) {
				t.Errorf("lease Expires = %v; want after the Lease call started (%v)", old.Expires, start)
			}
			// The host's only slot is taken until the lease expires; then
			// the same request is handed out again, ahead of u2.
			again := h.leaseOne()
			if again.Request.URL != u1.URL {
				t.Errorf("after expiry leased %s; want %s again (expired requests go back to the front)",
					again.Request.URL, u1.URL)
			}
			if elapsed := time.Since(start); elapsed < leaseTTL {
				t.Errorf("request leased again %v after the first lease; want at least LeaseTTL %v", elapsed, leaseTTL)
			}
			if again.ID == old.ID {
				t.Errorf("new lease has the expired lease's ID %d; want a new one", old.ID)
			}
			if err := h.completeErr(tt.out(old)); !errors.Is(err, frontier.ErrLeaseExpired) {
				t.Errorf("Complete(expired lease) = %v; want an error wrapping ErrLeaseExpired", err)
			}
			h.wantStats("after the late completion", frontier.Stats{Queued: 1, Leased: 1, Hosts: 1, Seen: 2})

			h.complete(done(again))
			h.wantStats("after completing the new lease", frontier.Stats{Queued: 1, Done: 1, Hosts: 1, Seen: 2})
			if err := h.completeErr(done(again)); err == nil {
				t.Errorf("Complete(the same lease twice) = nil; want an error")
			}
			if err := h.completeErr(tt.out(old)); !errors.Is(err, frontier.ErrLeaseExpired) {
				t.Errorf("Complete(expired lease, after its request completed) = %v; want an error wrapping ErrLeaseExpired", err)
			}
			if got := h.drain(10); len(got) != 1 || got[0] != u2.URL {
				t.Errorf("then leased %v; want [%s]", got, u2.URL)
			}
			h.wantStats("at the end", frontier.Stats{Done: 2, Seen: 2})
		})
	}

	t.Run("batch with an expired lease applies the others", func(t *testing.T) {
		h := open(t, b, frontier.Options{LeaseTTL: leaseTTL, PerHostInFlight: 1})
		x, y := req("x.test", "1", 0), req("y.test", "1", 0)
		h.add(x)
		oldX := h.leaseOne()
		newX := h.leaseOne() // after oldX expired
		if newX.Request.URL != x.URL {
			t.Fatalf("after expiry leased %s; want %s", newX.Request.URL, x.URL)
		}
		h.add(y)
		ly := h.leaseOne()

		// The skipped outcome's links are neither added nor counted as
		// duplicates.
		staleOut := done(oldX)
		staleOut.Links = []frontier.Request{req("stale.test", "1", 1), x}
		freshOut := done(newX)
		freshOut.Links = []frontier.Request{req("z.test", "1", 1), y}
		err := h.completeErr(staleOut, freshOut, failed(ly))
		if !errors.Is(err, frontier.ErrLeaseExpired) {
			t.Errorf("Complete(expired, valid, valid) = %v; want an error wrapping ErrLeaseExpired", err)
		}
		h.wantStats("after the batch", frontier.Stats{Queued: 1, Done: 1, Failed: 1, Hosts: 1, Seen: 3, Duplicates: 1})
		if got := h.drain(10); len(got) != 1 || got[0] != "http://z.test/1" {
			t.Errorf("then leased %v; want only the valid outcome's link [http://z.test/1]", got)
		}
	})
}

// testDrain checks when Lease reports ErrDrained, when it blocks, and what
// wakes it.
// testRelease checks Status Release: the request goes back where it was
// in its host's queue, not counted as an attempt, and neither done nor
// failed.
func testRelease(t *testing.T, b Backend) {
	h := open(t, b, frontier.Options{PerHostInFlight: -1})
	a1, a2 := req("a.test", "1", 0), req("a.test", "2", 0)
	a1.Attempts = 1 // a retry already
	h.add(a1, a2)
	l := h.leaseOne()
	if l.Request.URL != a1.URL {
		t.Fatalf("leased %s; want %s", l.Request.URL, a1.URL)
	}
	h.complete(frontier.Outcome{Lease: l, Status: frontier.Release, Links: nil})
	h.wantStats("after the release", frontier.Stats{Queued: 2, Hosts: 1, Seen: 2})
	again := h.leaseOne()
	if again.Request != a1 {
		t.Errorf("after a release, leased %+v; want %+v again, ahead of %s and with Attempts unchanged", again.Request, a1, a2.URL)
	}
	h.complete(done(again))
	if got := h.drain(100); !slices.Equal(got, []string{a2.URL}) {
		t.Errorf("then leased %v; want [%s]", got, a2.URL)
	}
	h.wantStats("at the end", frontier.Stats{Done: 2, Seen: 2})
}

func testDrain(t *testing.T, b Backend) {
	t.Run("empty frontier", func(t *testing.T) {
		h := open(t, b, frontier.Options{})
		h.wantDrained("new frontier")
		h.add()
		h.wantDrained("after adding nothing")
	})

	// One request is leased and nothing is queued: a Lease call blocks until
	// the lease ends, then returns what the outcome queued, or ErrDrained.
	tests := []struct {
		name string
		out  func(frontier.Lease) frontier.Outcome
		want []string // URLs leased after the outcome; nil means drained
	}{
		{name: "done", out: done},
		{name: "failed", out: failed},
		{
			name: "done with links",
			out: func(l frontier.Lease) frontier.Outcome {
				o := done(l)
				o.Links = []frontier.Request{req("l.test", "1", 1), req("m.test", "1", 1)}
				return o
			},
			want: []string{"http://l.test/1", "http://m.test/1"},
		},
		{
			name: "done with links seen before",
			out: func(l frontier.Lease) frontier.Outcome {
				o := done(l)
				o.Links = []frontier.Request{l.Request}
				return o
			},
		},
		{
			name: "retry",
			out:  func(l frontier.Lease) frontier.Outcome { return retry(l, time.Now()) },
			want: []string{"http://w.test/1"},
		},
	}
	for _, tt := range tests {
		t.Run("waits for the outstanding lease, "+tt.name, func(t *testing.T) {
			h := open(t, b, frontier.Options{})
			h.add(req("w.test", "1", 0))
			l := h.leaseOne()
			ch := h.leaseAsync(h.ctx(), 100)
			h.wantBlocked("one request leased, nothing queued", ch)
			h.complete(tt.out(l))
			r := h.await("after the lease completed", ch)
			if tt.want == nil {
				if !errors.Is(r.err, frontier.ErrDrained) {
					t.Fatalf("blocked Lease = %s, %v; want ErrDrained", describeLeases(r.leases), r.err)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("blocked Lease: %v; want %v", r.err, tt.want)
			}
			got := urlsOf(r.leases)
			for _, l := range r.leases {
				h.complete(done(l))
			}
			got = append(got, h.drain(100)...)
			if !slices.Equal(sorted(got), tt.want) {
				t.Errorf("leased %v; want %v", got, tt.want)
			}
		})
	}

	t.Run("all waiters see the drain", func(t *testing.T) {
		h := open(t, b, frontier.Options{})
		h.add(req("w.test", "1", 0))
		l := h.leaseOne()
		var chs []<-chan leaseResult
		for range 4 {
			chs = append(chs, h.leaseAsync(h.ctx(), 1))
		}
		h.wantBlocked("first waiter", chs[0])
		h.complete(done(l))
		for i, ch := range chs {
			if r := h.await("waiter", ch); !errors.Is(r.err, frontier.ErrDrained) {
				t.Errorf("waiter %d: Lease = %s, %v; want ErrDrained", i, describeLeases(r.leases), r.err)
			}
		}
	})

	t.Run("wakes when the host delay passes", func(t *testing.T) {
		const delay = 40 * time.Millisecond
		h := open(t, b, frontier.Options{Scheduler: frontier.BreadthFirst{Delay: delay}})
		h.add(req("w.test", "1", 0), req("w.test", "2", 0))
		start := time.Now()
		h.complete(done(h.leaseOne()))
		// Nothing but the passing of time can wake this call.
		r := h.await("waiting for the host delay", h.leaseAsync(h.ctx(), 100))
		if r.err != nil {
			t.Fatalf("Lease: %v", r.err)
		}
		if got := urlsOf(r.leases); len(got) != 1 || got[0] != "http://w.test/2" {
			t.Errorf("leased %v; want [http://w.test/2]", got)
		}
		if gap := r.at.Sub(start); gap < delay {
			t.Errorf("second lease came at most %v after the first; want at least %v", gap, delay)
		}
	})

	t.Run("wakes when RetryAt passes", func(t *testing.T) {
		const wait = 40 * time.Millisecond
		h := open(t, b, frontier.Options{})
		h.add(req("w.test", "1", 0))
		retryAt := time.Now().Add(wait)
		h.complete(retry(h.leaseOne(), retryAt))
		r := h.await("waiting for RetryAt", h.leaseAsync(h.ctx(), 100))
		if r.err != nil {
			t.Fatalf("Lease: %v", r.err)
		}
		if len(r.leases) != 1 || r.leases[0].Request.URL != "http://w.test/1" || r.leases[0].Request.Attempts != 1 {
			t.Errorf("leased %+v; want http://w.test/1 with Attempts 1", r.leases)
		}
		if r.at.Before(retryAt) {
			t.Errorf("retried request leased %v before RetryAt", retryAt.Sub(r.at))
		}
	})

	// A Lease blocked for any reason returns ctx.Err() when its context
	// ends, and takes nothing with it.
	blocked := []struct {
		name  string
		opts  frontier.Options
		setup func(h *harness)
		want  frontier.Stats // after the canceled call
	}{
		{
			name: "waiting for an outstanding lease",
			setup: func(h *harness) {
				h.add(req("c.test", "1", 0))
				h.leaseOne()
			},
			want: frontier.Stats{Leased: 1, Hosts: 1, Seen: 1},
		},
		{
			name: "waiting for a host delay",
			opts: frontier.Options{Scheduler: frontier.BreadthFirst{Delay: time.Hour}, PerHostInFlight: -1},
			setup: func(h *harness) {
				h.add(req("c.test", "1", 0), req("c.test", "2", 0))
				h.leaseOne()
			},
			want: frontier.Stats{Queued: 1, Leased: 1, Hosts: 1, Seen: 2},
		},
		{
			name: "waiting for the in-flight cap",
			opts: frontier.Options{PerHostInFlight: 1},
			setup: func(h *harness) {
				h.add(req("c.test", "1", 0), req("c.test", "2", 0))
				h.leaseOne()
			},
			want: frontier.Stats{Queued: 1, Leased: 1, Hosts: 1, Seen: 2},
		},
	}
	ends := []struct {
		name string
		ctx  func(parent context.Context) (context.Context, func() /* end */)
		want error
	}{
		{"canceled", func(p context.Context) (context.Context, func()) {
			ctx, cancel := context.WithCancel(p)
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func(p context.Context) (context.Context, func()) {
			ctx, cancel := context.WithTimeout(p, 2*blockWindow)
			return ctx, func() { <-ctx.Done(); cancel() }
		}, context.DeadlineExceeded},
	}
	for _, tt := range blocked {
		for _, end := range ends {
			t.Run("context "+end.name+" while "+tt.name, func(t *testing.T) {
				h := open(t, b, tt.opts)
				tt.setup(h)
				ctx, stop := end.ctx(h.ctx())
				ch := h.leaseAsync(ctx, 100)
				h.wantBlocked(tt.name, ch)
				stop()
				r := h.await("after the context ended", ch)
				if !errors.Is(r.err, end.want) || len(r.leases) != 0 {
					t.Errorf("Lease = %s, %v; want no leases and %v", describeLeases(r.leases), r.err, end.want)
				}
				h.wantStats("after the call ended", tt.want)
			})
		}
	}
}
