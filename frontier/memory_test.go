package frontier

import (
	"context"
	"errors"
	"testing"
	"time"
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

// TestMemoryRenew checks that Renew keeps a lease past its first expiry and
// reports one that already expired.
func TestMemoryRenew(t *testing.T) {
	const ttl = 40 * time.Millisecond
	m := NewMemory(Options{LeaseTTL: ttl, PerHostInFlight: -1})
	ctx := context.Background()
	if _, err := m.Add(ctx, []Request{{URL: "http://a.test/1"}, {URL: "http://a.test/2"}}); err != nil {
		t.Fatal(err)
	}
	ls, err := m.Lease(ctx, 2)
	if err != nil || len(ls) != 2 {
		t.Fatalf("Lease = %v, %v", ls, err)
	}
	kept, lapsed := ls[0], ls[1]
	// Renew kept until lapsed has expired and been handed out again.
	var again []Lease
	for again == nil {
		if err := m.Renew(ctx, []Lease{kept}); err != nil {
			t.Fatalf("Renew of a lease still held: %v", err)
		}
		short, cancel := context.WithTimeout(ctx, ttl/4)
		again, err = m.Lease(short, 2)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
	}
	if len(again) != 1 || again[0].Request.URL != lapsed.Request.URL {
		t.Fatalf("leased again %v; want only %s, whose lease lapsed", again, lapsed.Request.URL)
	}
	if err := m.Renew(ctx, []Lease{kept, lapsed}); !errors.Is(err, ErrLeaseExpired) {
		t.Errorf("Renew of an expired lease = %v; want ErrLeaseExpired", err)
	}
	if err := m.Complete(ctx, []Outcome{{Lease: kept}, {Lease: again[0]}}); err != nil {
		t.Errorf("Complete of the renewed lease: %v", err)
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
