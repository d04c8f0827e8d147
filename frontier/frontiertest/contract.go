package frontiertest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// testCompleteContext checks that Complete returns when its context ends,
// with ctx's error or nil, and that a completion cut off is applied whole
// or not at all: the stats show it with all its links, or the lease still
// out.
func testCompleteContext(t *testing.T, b Backend) {
	const hosts, perHost = 50, 40 // links of the completion
	ends := []struct {
		name string
		// ctx returns the context of the Complete call and a function the
		// test calls right after starting it.
		ctx func(parent context.Context) (context.Context, func())
	}{
		{"already canceled", func(p context.Context) (context.Context, func()) {
			ctx, cancel := context.WithCancel(p)
			cancel()
			return ctx, func() {}
		}},
		{"deadline already passed", func(p context.Context) (context.Context, func()) {
			ctx, cancel := context.WithDeadline(p, time.Now().Add(-time.Second))
			return ctx, cancel
		}},
		{"canceled during the call", func(p context.Context) (context.Context, func()) {
			ctx, cancel := context.WithCancel(p)
			return ctx, cancel
		}},
		{"deadline during the call", func(p context.Context) (context.Context, func()) {
			ctx, cancel := context.WithTimeout(p, time.Millisecond)
			return ctx, func() { <-ctx.Done(); cancel() }
		}},
	}
	for _, end := range ends {
		for _, busy := range []bool{false, true} {
			name := "context " + end.name
			if busy {
				name += ", backend busy with a large Add"
			}
			t.Run(name, func(t *testing.T) {
				h := open(t, b, frontier.Options{PerHostInFlight: -1})
				seed := req("c.test", "seed", 0)
				h.add(seed)
				l := h.leaseOne()
				o := done(l)
				for i := range hosts * perHost {
					o.Links = append(o.Links, req(fmt.Sprintf("h%d.test", i%hosts), fmt.Sprint(i), 1))
				}
				before := frontier.Stats{Leased: 1, Hosts: 1, Seen: 1}
				after := frontier.Stats{Queued: hosts * perHost, Done: 1, Hosts: hosts, Seen: 1 + hosts*perHost}

				var bulk sync.WaitGroup
				if busy {
					var reqs []frontier.Request
					for i := range 20000 {
						reqs = append(reqs, req("bulk.test", fmt.Sprint(i), 0))
					}
					ctx := h.ctxFor(phaseGuard)
					bulk.Go(func() {
						if _, err := h.f.Add(ctx, reqs); err != nil {
							t.Errorf("bulk Add: %v", err)
						}
					})
					before.Queued += 20000
					before.Seen += 20000
					before.Hosts++
					after.Queued += 20000
					after.Seen += 20000
					after.Hosts++
				}

				ctx, stop := end.ctx(h.ctx())
				errc := make(chan error, 1)
				go func() { errc <- h.f.Complete(ctx, []frontier.Outcome{o}) }()
				stop()
				var err error
				select {
				case err = <-errc:
				case <-time.After(hangGuard + time.Second):
					t.Fatalf("Complete did not return within %v of its context's end", hangGuard+time.Second)
				}
				if err != nil && !errors.Is(err, ctx.Err()) {
					t.Errorf("Complete under a context that ended = %v; want nil or an error wrapping %v", err, ctx.Err())
				}
				bulk.Wait()
				got := h.stats()
				switch {
				case err == nil && got != after:
					t.Errorf("Complete returned nil; Stats = %+v; want %+v", got, after)
				case got != before && got != after:
					t.Errorf("after a Complete cut off (%v): Stats = %+v; want all of it (%+v) or none (%+v)", err, got, after, before)
				}
			})
		}
	}
}

// testNoRetention checks that neither Add nor Complete keeps the caller's
// slices: the caller overwrites them (the Links and Seen inside outcomes
// too) as soon as the call returns, and the frontier holds what was passed.
func testNoRetention(t *testing.T, b Backend) {
	const n, links, seen = 200, 10, 3
	h := open(t, b, frontier.Options{PerHostInFlight: -1})
	seeds := make([]frontier.Request, n)
	for i := range seeds {
		seeds[i] = frontier.Request{URL: fmt.Sprintf("http://s%d.test/%d", i%7, i), Depth: 1, Parent: "http://p.test/", Kind: kinds[i%len(kinds)]}
	}
	batch := append([]frontier.Request(nil), seeds...)
	if got := h.add(batch...); got != n {
		t.Fatalf("Add(%d requests) added %d", n, got)
	}
	overwrite := func(r *frontier.Request, i int) {
		*r = frontier.Request{URL: fmt.Sprintf("http://overwritten.test/%d", i), Depth: 99, Kind: frontier.KindSitemap}
	}
	for i := range batch {
		overwrite(&batch[i], i)
	}

	ls := h.leaseN(n)
	got := byURL(ls)
	for _, s := range seeds {
		if l, ok := got[s.URL]; !ok {
			t.Errorf("%s was not leased", s.URL)
		} else if l.Request != s {
			t.Errorf("leased %+v; want %+v as added", l.Request, s)
		}
	}
	if len(got) != n {
		t.Errorf("leased %d distinct URLs; want %d", len(got), n)
	}
	if t.Failed() {
		return
	}

	outs := make([]frontier.Outcome, len(ls))
	var wantLinks []frontier.Request
	var wantSeen []string
	for i, l := range ls {
		outs[i] = done(l)
		for j := range links {
			r := frontier.Request{URL: fmt.Sprintf("http://l%d.test/%d/%d", j, i, j), Depth: 2, Parent: l.Request.URL, Kind: kinds[j%len(kinds)]}
			outs[i].Links = append(outs[i].Links, r)
			wantLinks = append(wantLinks, r)
		}
		for j := range seen {
			u := fmt.Sprintf("http://seen.test/%d/%d", i, j)
			outs[i].Seen = append(outs[i].Seen, u)
			wantSeen = append(wantSeen, u)
		}
	}
	// One step of 2,000 links and 600 marks: a persistent backend that
	// honours its context may take longer than hangGuard on a loaded
	// machine, so this call gets the phase guard.
	if err := h.f.Complete(h.ctxFor(phaseGuard), outs); err != nil {
		t.Fatalf("Complete(%d outcomes with %d links): %v", len(outs), len(wantLinks), err)
	}
	k := 0
	for i := range outs {
		for j := range outs[i].Links {
			overwrite(&outs[i].Links[j], k)
			k++
		}
		for j := range outs[i].Seen {
			outs[i].Seen[j] = fmt.Sprintf("http://overwritten.test/seen/%d/%d", i, j)
		}
		outs[i] = frontier.Outcome{Lease: frontier.Lease{ID: outs[i].Lease.ID + 1}, Status: frontier.Retry}
	}

	want := frontier.Stats{Queued: int64(len(wantLinks)), Done: n, Hosts: links, Seen: int64(n + len(wantLinks) + len(wantSeen))}
	h.wantStats("after Complete", want)
	got = byURL(h.leaseN(len(wantLinks)))
	for _, r := range wantLinks {
		if l, ok := got[r.URL]; !ok {
			t.Errorf("link %s was not leased", r.URL)
		} else if l.Request != r {
			t.Errorf("leased %+v; want %+v as completed", l.Request, r)
		}
	}
	seenReqs := make([]frontier.Request, len(wantSeen))
	for i, u := range wantSeen {
		seenReqs[i] = frontier.Request{URL: u}
	}
	if got := h.add(seenReqs...); got != 0 {
		t.Errorf("Add(the URLs the completion marked seen) added %d; want 0", got)
	}
	// What the caller wrote afterwards reached the frontier in no way.
	if got := h.add(frontier.Request{URL: "http://overwritten.test/0"}, frontier.Request{URL: "http://overwritten.test/seen/0/0"}); got != 2 {
		t.Errorf("Add(URLs written into the slices after the calls) added %d; want 2", got)
	}
}

// testLeasesOrError checks that Lease returns leases or an error, never
// both, when its context ends at any moment of the call or the frontier
// is closed under it; and that a call that fails gives back what it had
// leased: every request is leased exactly once by the calls that
// succeeded.
func testLeasesOrError(t *testing.T, b Backend) {
	const (
		urls    = 600
		hosts   = 30
		leasers = 6
	)
	t.Run("contexts ending at any moment", func(t *testing.T) {
		// An hour-long lease: a lease kept by a failed call would keep its
		// request from being leased again, and the drain would not come.
		h := open(t, b, frontier.Options{PerHostInFlight: -1, LeaseTTL: time.Hour})
		all := make([]frontier.Request, urls)
		for i := range all {
			all[i] = req(fmt.Sprintf("h%d.test", i%hosts), fmt.Sprint(i), 0)
		}
		h.add(all...)
		phase := h.ctxFor(phaseGuard)
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			leased = map[string]int{}
		)
		for w := range leasers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 1))
				for phase.Err() == nil {
					ctx, cancel := context.WithTimeout(phase, time.Duration(rng.IntN(2000))*time.Microsecond)
					ls, err := h.f.Lease(ctx, 1+rng.IntN(10))
					cancel()
					if len(ls) > 0 && err != nil {
						t.Errorf("Lease = %s and %v; want leases or an error, never both", describeLeases(ls), err)
						return
					}
					if errors.Is(err, frontier.ErrDrained) {
						return
					}
					if err != nil && !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("Lease: %v; want leases, ErrDrained or DeadlineExceeded", err)
						return
					}
					outs := make([]frontier.Outcome, len(ls))
					mu.Lock()
					for i, l := range ls {
						leased[l.Request.URL]++
						outs[i] = done(l)
					}
					mu.Unlock()
					if len(outs) > 0 {
						if err := h.f.Complete(phase, outs); err != nil {
							t.Errorf("Complete: %v", err)
							return
						}
					}
				}
				mu.Lock()
				t.Errorf("leaser %d: no drain within %v: requests were kept by failed Lease calls (%d of %d URLs leased)", w, phaseGuard, len(leased), urls)
				mu.Unlock()
			})
		}
		wg.Wait()
		for _, r := range all {
			if n := leased[r.URL]; n != 1 {
				t.Errorf("%s leased %d times by successful calls; want once", r.URL, n)
			}
		}
	})

	t.Run("closed under the calls", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: 1, LeaseTTL: time.Hour})
		for i := range urls {
			h.add(req(fmt.Sprintf("h%d.test", i%hosts), fmt.Sprint(i), 0))
		}
		phase := h.ctxFor(phaseGuard)
		var wg sync.WaitGroup
		got := make(chan int, hosts) // leases taken, per successful call
		for range leasers {
			wg.Go(func() {
				for {
					ls, err := h.f.Lease(phase, 3)
					if len(ls) > 0 && err != nil {
						t.Errorf("Lease = %s and %v; want leases or an error, never both", describeLeases(ls), err)
						return
					}
					if err != nil {
						if !errors.Is(err, frontier.ErrClosed) {
							t.Errorf("Lease on a frontier closed under it: %v; want ErrClosed", err)
						}
						return
					}
					got <- len(ls)
				}
			})
		}
		// Every host at its cap: the calls are blocked, or about to be.
		for n := 0; n < hosts; n += <-got {
		}
		if err := h.f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		wg.Wait()
	})
}
