package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
)

// TestSessionHash checks the job's session hash, shared by its workers:
// fields set and deleted at once, and a claim that one worker holds at a
// time, that another cannot release, and that ends with its TTL.
func TestSessionHash(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a := openT(t, srv.URL(0), "job", redis.Options{}).SessionHash()
	b := openT(t, srv.URL(0), "job", redis.Options{}).SessionHash()
	other := openT(t, srv.URL(0), "other", redis.Options{}).SessionHash()

	if err := a.Update(ctx, map[string]string{"x": "1", "y": "2"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.Update(ctx, map[string]string{"z": "3"}, []string{"x"}); err != nil {
		t.Fatal(err)
	}
	got, err := b.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["y"] != "2" || got["z"] != "3" {
		t.Errorf("b sees %v, want y=2 z=3", got)
	}
	if got, err := other.All(ctx); err != nil || len(got) != 0 {
		t.Errorf("another job sees %v, %v", got, err)
	}

	claim := func(h *redis.SessionHash, owner string, ttl time.Duration) bool {
		t.Helper()
		ok, err := h.Claim(ctx, "login", owner, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	held := func(h *redis.SessionHash) bool {
		t.Helper()
		ok, err := h.Held(ctx, "login")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !claim(a, "wa", time.Minute) || claim(b, "wb", time.Minute) || !held(b) {
		t.Fatal("a's claim: not the only holder")
	}
	if err := b.Release(ctx, "login", "wb"); err != nil || !held(a) {
		t.Fatalf("b released a's claim (%v)", err)
	}
	if err := a.Release(ctx, "login", "wa"); err != nil || held(b) {
		t.Fatalf("a's claim still held after its release (%v)", err)
	}
	if !claim(b, "wb", 50*time.Millisecond) {
		t.Fatal("b could not claim a released claim")
	}
	deadline := time.Now().Add(10 * time.Second)
	for held(a) {
		if time.Now().After(deadline) {
			t.Fatal("a claim outlived its TTL")
		}
		time.Sleep(10 * time.Millisecond) // polls Redis's clock, not a sync point
	}
}
