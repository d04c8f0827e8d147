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
