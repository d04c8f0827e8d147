package frontiertest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// renewTTLs are the lease times the renewal scenario tries, shortest
// first. A try is void, not failed, when the test itself fell behind its
// schedule (a loaded machine): a renewal or the completion came a whole
// lease time after the renewal before it.
var renewTTLs = []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, 1500 * time.Millisecond, 5 * time.Second}

// testRenew checks Renew: a lease renewed in time is not handed out again
// when its first lease time is over, and its completion succeeds; a lease
// that expired, or ended, cannot be renewed.
func testRenew(t *testing.T, b Backend) {
	t.Run("a renewed lease is kept past its first expiry", func(t *testing.T) {
		for _, ttl := range renewTTLs {
			if renewScenario(t, b, ttl) {
				return
			}
		}
		// Under CI nothing is skipped: a machine too loaded to keep a
		// five-second schedule is a failure to look into.
		if os.Getenv("CI") == "true" {
			t.Fatalf("the test fell behind its schedule with every lease time of %v", renewTTLs)
		}
		t.Skipf("the test fell behind its schedule with every lease time of %v: machine too loaded", renewTTLs)
	})

	t.Run("an expired lease is not renewed", func(t *testing.T) {
		h := open(t, b, frontier.Options{LeaseTTL: leaseTTL, PerHostInFlight: -1})
		x := req("x.test", "1", 0)
		h.add(x)
		old := h.leaseOne()
		leased := time.Now()
		// Nothing is leased meanwhile: the lease has expired, its request
		// is not handed out again yet.
		time.Sleep(2 * leaseTTL)
		if err := h.renewErr(old); !errors.Is(err, frontier.ErrLeaseExpired) {
			t.Errorf("Renew(lease expired at least %v ago) = %v; want an error wrapping ErrLeaseExpired",
				time.Since(leased.Add(leaseTTL)).Round(time.Millisecond), err)
		}
		again := h.leaseOne()
		if again.Request != x || again.ID == old.ID {
			t.Errorf("after the refused renewal leased %+v (ID %d); want %s again under a new ID", again.Request, again.ID, x.URL)
		}
		if err := h.completeErr(done(old)); !errors.Is(err, frontier.ErrLeaseExpired) {
			t.Errorf("Complete(expired lease after a refused Renew) = %v; want an error wrapping ErrLeaseExpired", err)
		}
	})

	t.Run("a lease handed out again is not renewed", func(t *testing.T) {
		h := open(t, b, frontier.Options{LeaseTTL: leaseTTL, PerHostInFlight: 1})
		x, y := req("x.test", "1", 0), req("y.test", "1", 0)
		h.add(x)
		old := h.leaseOne()
		again := h.leaseOne() // blocks until old expired
		if again.Request.URL != x.URL {
			t.Fatalf("after expiry leased %s; want %s", again.Request.URL, x.URL)
		}
		if err := h.renewErr(old); !errors.Is(err, frontier.ErrLeaseExpired) {
			t.Errorf("Renew(lease handed out again) = %v; want an error wrapping ErrLeaseExpired", err)
		}
		// The new lease is not the old one's: the failed renewal took
		// nothing from it, and its host's cap still counts it once.
		h.add(y)
		ly := h.leaseOne()
		if ly.Request.URL != y.URL {
			t.Errorf("leased %s; want %s (x.test is at its cap)", ly.Request.URL, y.URL)
		}
		h.wantStats("after the refused renewal", frontier.Stats{Leased: 2, Hosts: 2, Seen: 2})
	})

	t.Run("an ended lease is not renewed", func(t *testing.T) {
		for _, st := range []frontier.Status{frontier.Done, frontier.Failed, frontier.Retry, frontier.Release} {
			h := open(t, b, frontier.Options{PerHostInFlight: -1})
			h.add(req("e.test", "1", 0))
			l := h.leaseOne()
			h.complete(frontier.Outcome{Lease: l, Status: st})
			if err := h.renewErr(l); err == nil {
				t.Errorf("Renew(lease completed with %s) = nil; want an error", statusName(st))
			}
		}
	})

	t.Run("a batch with an ended lease renews the others", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		h.add(req("b.test", "1", 0), req("b.test", "2", 0))
		ls := h.leaseN(2)
		h.complete(done(ls[0]))
		if err := h.renewErr(ls[1], ls[0]); !errors.Is(err, frontier.ErrLeaseExpired) {
			t.Errorf("Renew(held, completed) = %v; want an error wrapping ErrLeaseExpired", err)
		}
		h.wantStats("after the renewal", frontier.Stats{Leased: 1, Done: 1, Hosts: 1, Seen: 2})
		h.complete(done(ls[1]))
		h.wantDrained("after completing the renewed lease")
	})

	t.Run("nothing to renew", func(t *testing.T) {
		h := open(t, b, frontier.Options{})
		if err := h.renewErr(); err != nil {
			t.Errorf("Renew(no leases) = %v; want nil", err)
		}
	})
}

// renewScenario leases a request with lease time ttl, renews it every
// ttl/4 for 2×ttl while another Lease call waits, then completes it. Its
// host's cap is one, so the waiter gets neither that request nor the
// host's other one while the lease is renewed. It reports false when the
// test fell behind its schedule (the try is void).
func renewScenario(t *testing.T, b Backend, ttl time.Duration) bool {
	t.Helper()
	h := open(t, b, frontier.Options{LeaseTTL: ttl, PerHostInFlight: 1})
	x, y := req("r.test", "1", 0), req("r.test", "2", 0)
	h.add(x, y)
	last := time.Now() // a lease lasts at least ttl from the start of the call that took or renewed it
	l := h.leaseOne()

	ctx, cancel := context.WithCancel(h.ctx())
	defer cancel()
	waiter := h.leaseAsync(ctx, 10)
	void := false
	for hold := time.Now().Add(2 * ttl); time.Now().Before(hold); {
		select {
		case r := <-waiter:
			if time.Since(last) < ttl {
				t.Fatalf("Lease while the request's lease was renewed every %v (lease time %v) returned %s, %v; want it to block",
					ttl/4, ttl, describeLeases(r.leases), r.err)
			}
			return false // the renewals fell behind: the lease may have expired
		case <-time.After(ttl / 4):
		}
		start := time.Now()
		if start.Sub(last) >= ttl {
			void = true
			break
		}
		if err := h.renewErr(l); err != nil {
			t.Fatalf("Renew(lease held, last renewed %v ago, lease time %v): %v", start.Sub(last), ttl, err)
		}
		last = start
	}
	cancel()
	r := h.await("waiter", waiter)
	if len(r.leases) > 0 && !void {
		t.Fatalf("Lease while the request's lease was renewed returned %s; want it to block", describeLeases(r.leases))
	}
	if void {
		return false
	}
	start := time.Now()
	err := h.completeErr(done(l))
	if start.Sub(last) >= ttl {
		return false
	}
	if err != nil {
		t.Fatalf("Complete(renewed lease, held for %v with lease time %v): %v", time.Since(l.Expires.Add(-ttl)), ttl, err)
	}
	h.wantStats("after completing the renewed lease", frontier.Stats{Queued: 1, Done: 1, Hosts: 1, Seen: 2})
	if got := h.drain(10); len(got) != 1 || got[0] != y.URL {
		t.Errorf("then leased %v; want [%s]", got, y.URL)
	}
	return true
}
