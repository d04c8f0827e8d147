package frontier

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier/internal/sched"
)

func TestMemoryStrictHoldsDeeperLevels(t *testing.T) {
	m := NewMemory(Options{Strict: true, PerHostInFlight: -1})
	ctx := context.Background()
	if _, err := m.Add(ctx, []Request{{URL: "http://a.test/"}, {URL: "http://b.test/x", Depth: 1}}); err != nil {
		t.Fatal(err)
	}
	ls, err := m.Lease(ctx, 10)
	if err != nil || len(ls) != 1 || ls[0].Request.Depth != 0 {
		t.Fatalf("first lease %v, %v: want only the depth-0 request", ls, err)
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if got, err := m.Lease(short, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lease while depth 0 is outstanding: %v, %v; want it held back", got, err)
	}
	done := make(chan []Lease)
	go func() {
		ls, _ := m.Lease(ctx, 10)
		done <- ls
	}()
	if err := m.Complete(ctx, []Outcome{{Lease: ls[0], Links: []Request{{URL: "http://b.test/y", Depth: 1}}}}); err != nil {
		t.Fatal(err)
	}
	got := <-done
	if len(got) == 0 || got[0].Request.Depth != 1 {
		t.Fatalf("after the level completed: %v", got)
	}
}

func TestMemoryNotStrictLeasesAcrossLevels(t *testing.T) {
	m := NewMemory(Options{PerHostInFlight: -1})
	ctx := context.Background()
	m.Add(ctx, []Request{{URL: "http://a.test/"}, {URL: "http://b.test/x", Depth: 1}})
	ls, err := m.Lease(ctx, 10)
	if err != nil || len(ls) != 2 {
		t.Fatalf("lease %v, %v: want both hosts' requests", ls, err)
	}
}

// TestMemoryRenew checks that Renew accepts leases still held and reports
// the others with ErrLeaseExpired, renewing the rest. (That a renewed lease
// outlives its first expiry is tested with a fake clock in
// internal/sched, and by the conformance suite.)
func TestMemoryRenew(t *testing.T) {
	m := NewMemory(Options{LeaseTTL: time.Hour, PerHostInFlight: -1})
	ctx := context.Background()
	if _, err := m.Add(ctx, []Request{{URL: "http://a.test/1"}, {URL: "http://a.test/2"}}); err != nil {
		t.Fatal(err)
	}
	ls, err := m.Lease(ctx, 2)
	if err != nil || len(ls) != 2 {
		t.Fatalf("Lease = %v, %v", ls, err)
	}
	if err := m.Renew(ctx, ls); err != nil {
		t.Fatalf("Renew of leases still held: %v", err)
	}
	if err := m.Complete(ctx, []Outcome{{Lease: ls[0]}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Renew(ctx, ls); !errors.Is(err, ErrLeaseExpired) {
		t.Errorf("Renew of a completed lease = %v; want ErrLeaseExpired", err)
	}
	if err := m.Complete(ctx, []Outcome{{Lease: ls[1]}}); err != nil {
		t.Errorf("Complete of the lease renewed beside a completed one: %v", err)
	}
}

// TestMemorySeen checks that Outcome.Seen marks URLs seen without queueing
// them, and counts each new fingerprint in Stats.Seen.
func TestMemorySeen(t *testing.T) {
	m := NewMemory(Options{})
	ctx := context.Background()
	m.Add(ctx, []Request{{URL: "http://a.test/"}})
	ls, err := m.Lease(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Complete(ctx, []Outcome{{Lease: ls[0], Seen: []string{"http://a.test/", "http://a.test/c", "http://a.test/c"}}}); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Stats(ctx); s != (Stats{Done: 1, Seen: 2}) {
		t.Errorf("Stats = %+v; want Done 1, Seen 2", s)
	}
	if n, _ := m.Add(ctx, []Request{{URL: "http://a.test/c"}}); n != 0 {
		t.Errorf("Add of a URL marked seen added %d", n)
	}
}

// TestStatusesMatchCore checks that the backends may convert a Status to the
// scheduling core's by value.
func TestStatusesMatchCore(t *testing.T) {
	for _, tt := range []struct {
		status Status
		core   sched.Status
	}{{Done, sched.Done}, {Failed, sched.Failed}, {Retry, sched.Retry}, {Release, sched.Release}} {
		if sched.Status(tt.status) != tt.core {
			t.Errorf("Status %d converts to the core's %d; want %d", tt.status, sched.Status(tt.status), tt.core)
		}
	}
}
