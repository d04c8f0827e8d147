package redis_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
)

// TestRenewPartOfABatch renews some of a Lease call's leases: when the
// call's lease time is over only the others come back; the renewed ones
// last their renewed time, then come back and are fenced like any other.
// The renewals leave nothing behind once no lease is out.
func TestRenewPartOfABatch(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = time.Second
	f := openT(t, srv.URL(0), "renew", redis.Options{Options: frontier.Options{LeaseTTL: ttl, PerHostInFlight: -1}})
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
	time.Sleep(ttl / 2)
	if err := f.Renew(ctx, ls[:2]); err != nil {
		t.Fatalf("Renew(two leases held for %v of %v): %v", ttl/2, ttl, err)
	}
	renewed := time.Now()
	// Past the call's expiry, before the renewed one.
	time.Sleep(time.Until(ls[0].Expires.Add(ttl / 10)))
	back, err := f.Lease(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(renewed) < ttl {
		got := map[string]bool{}
		for _, l := range back {
			got[l.Request.URL] = true
		}
		if len(back) != 2 || !got[ls[2].Request.URL] || !got[ls[3].Request.URL] {
			t.Errorf("after the call's expiry leased %v; want only the two leases not renewed, %s and %s",
				back, ls[2].Request.URL, ls[3].Request.URL)
		}
		if err := f.Complete(ctx, []frontier.Outcome{{Lease: ls[0], Status: frontier.Done}}); err != nil {
			t.Errorf("Complete(renewed lease, within its renewed time): %v", err)
		}
	}
	// ls[1] comes back when its renewed time is over.
	again, err := f.Lease(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].Request != ls[1].Request {
		t.Errorf("after the renewed expiry leased %v; want %s", again, ls[1].Request.URL)
	}
	if err := f.Complete(ctx, []frontier.Outcome{{Lease: ls[1], Status: frontier.Done}}); !errors.Is(err, frontier.ErrLeaseExpired) {
		t.Errorf("Complete(renewed lease after its renewed expiry) = %v; want ErrLeaseExpired", err)
	}
	if err := f.Renew(ctx, ls[1:2]); !errors.Is(err, frontier.ErrLeaseExpired) {
		t.Errorf("Renew(renewed lease after its renewed expiry) = %v; want ErrLeaseExpired", err)
	}
	var outs []frontier.Outcome
	for _, l := range append(back, again...) {
		outs = append(outs, frontier.Outcome{Lease: l, Status: frontier.Done})
	}
	if err := f.Complete(ctx, outs); err != nil {
		t.Fatal(err)
	}
	if st, err := f.Stats(ctx); err != nil || st.Done != 4 || st.Leased != 0 {
		t.Errorf("Stats = %+v, %v; want 4 done, none leased", st, err)
	}
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	if n, err := c.Exists(ctx, "crawl:{renew}:renewed", "crawl:{renew}:leases").Result(); err != nil || n != 0 {
		t.Errorf("with no lease out, %d of the renewed and leases keys remain (%v); want none", n, err)
	}
}

// TestSeenMarksSurviveSplits marks enough URLs seen through completions
// for the seen set to split its buckets (past 256 × 40), and checks that
// every one of them stays seen.
func TestSeenMarksSurviveSplits(t *testing.T) {
	srv := redistest.Start(t)
	const n = 12000
	f := openT(t, srv.URL(0), "marks", redis.Options{Options: frontier.Options{PerHostInFlight: -1}})
	ctx := t.Context()
	if _, err := f.Add(ctx, pages("a.test", 0, 1)); err != nil {
		t.Fatal(err)
	}
	ls, err := f.Lease(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	o := frontier.Outcome{Lease: ls[0], Status: frontier.Done}
	var all []frontier.Request
	for i := range n {
		u := fmt.Sprintf("http://m%d.test/%d", i%97, i)
		o.Seen = append(o.Seen, u)
		all = append(all, frontier.Request{URL: u})
	}
	if err := f.Complete(ctx, []frontier.Outcome{o}); err != nil {
		t.Fatal(err)
	}
	if st, err := f.Stats(ctx); err != nil || st.Seen != n+1 || st.Queued != 0 {
		t.Errorf("Stats = %+v, %v; want %d seen, none queued", st, err, n+1)
	}
	if added, err := f.Add(ctx, all); err != nil || added != 0 {
		t.Errorf("Add(every URL marked seen) = %d, %v; want 0", added, err)
	}
}

// TestLayout3Upgraded checks that a job of layout 3 (no request kinds, no
// renewals) is read as it is and marked with the current layout, which a
// version that knows only layout 3 refuses; other layouts are refused.
func TestLayout3Upgraded(t *testing.T) {
	srv := redistest.Start(t)
	ctx := t.Context()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()

	f := openT(t, srv.URL(0), "l3", redis.Options{})
	// Pages are encoded as layout 3 encoded them.
	if _, err := f.Add(ctx, pages("a.test", 0, 2)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := c.HSet(ctx, "crawl:{l3}:meta", "v", "3").Err(); err != nil {
		t.Fatal(err)
	}
	f = openT(t, srv.URL(0), "l3", redis.Options{})
	ls, err := f.Lease(ctx, 2)
	if err != nil || len(ls) != 2 {
		t.Fatalf("Lease on a job of layout 3 = %v, %v; want its 2 requests", ls, err)
	}
	if v, err := c.HGet(ctx, "crawl:{l3}:meta", "v").Result(); err != nil || v != "4" {
		t.Errorf("layout after a change = %q, %v; want 4", v, err)
	}

	if err := c.HSet(ctx, "crawl:{l2}:meta", "seq", 5, "lid", 2, "v", "2").Err(); err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if f, err := redis.Open(octx, srv.URL(0), "l2", redis.Options{}); err == nil {
		f.Close()
		t.Error("Open of a job of layout 2 succeeded; want it refused")
	}
}
