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

// testRandomized runs a small crawl with concurrent workers that complete
// leases with Done or Retry, let some expire and discover links, and checks
// that every URL is completed Done exactly once, that no host ever has more
// leases outstanding than its cap, and that the counters add up.
func testRandomized(t *testing.T, b Backend) {
	const (
		urls       = 5000
		hosts      = 20
		workers    = 8
		maxBatch   = 16
		inFlight   = 2
		ttl        = 100 * time.Millisecond
		maxRetries = 2
		retryOdds  = 10  // 1 in retryOdds outcomes is a Retry, while allowed
		dropOdds   = 200 // 1 in dropOdds leases is left to expire
		maxDrops   = 10
		maxLinks   = 3
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	// URL i+urls/2 is linked from URL i, so seeding the first half reaches
	// every URL; random links to any URL come on top.
	all := make([]frontier.Request, urls)
	for i := range all {
		all[i] = frontier.Request{URL: fmt.Sprintf("http://h%02d.test/p%d", i%hosts, i)}
	}
	index := make(map[string]int, urls)
	for i, r := range all {
		index[r.URL] = i
	}

	h := open(t, b, frontier.Options{PerHostInFlight: inFlight, LeaseTTL: ttl})
	ctx, cancel := context.WithTimeout(t.Context(), phaseGuard)
	defer cancel()
	if n, err := h.f.Add(ctx, all[:urls/2]); err != nil || n != urls/2 {
		t.Fatalf("Add(seeds) = %d, %v; want %d", n, err, urls/2)
	}

	// What the workers saw, guarded by mu. A worker may hold a lease long
	// enough (it handles a batch one by one) for it to expire and be handed
	// out again, so every check below compares against what had happened
	// before the Lease call that returned the lease started.
	type dropped struct {
		lease    frontier.Lease
		returned time.Time // when the Lease call that returned it returned
	}
	var (
		mu       sync.Mutex
		doneAt   = make([][]time.Time, urls) // when each accepted Done completion returned
		retryAt  = make([][]time.Time, urls) // when each accepted Retry completion returned
		expiring = map[string]dropped{}      // leases left to expire, by URL
		drops    int
		stale    int
		fenced   int
		links    int // links in accepted Done outcomes
		caps     = newCapCheck(inFlight)
	)
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		cancel()
	}
	// failErr reports err unless it only says that another worker failed.
	failErr := func(err error, format string, args ...any) {
		if errors.Is(err, context.Canceled) && t.Failed() {
			return
		}
		fail(format+": %v", append(args, err)...)
	}
	countBefore := func(times []time.Time, t time.Time) int {
		n := 0
		for _, at := range times {
			if at.Before(t) {
				n++
			}
		}
		return n
	}

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				called := time.Now()
				ls, err := h.f.Lease(ctx, 1+rng.IntN(maxBatch))
				returned := time.Now()
				if errors.Is(err, frontier.ErrDrained) {
					return
				}
				if err != nil {
					failErr(err, "worker %d: Lease", w)
					return
				}
				if err := caps.leased(ls); err != nil {
					fail("worker %d: %v", w, err)
					return
				}
				for _, l := range ls {
					i, ok := index[l.Request.URL]
					if !ok {
						fail("worker %d: leased unknown URL %s", w, l.Request.URL)
						return
					}
					mu.Lock()
					doneBefore := countBefore(doneAt[i], called)
					retriesBefore := countBefore(retryAt[i], called)
					retries := len(retryAt[i])
					// An earlier lease left to expire, handed out before this
					// one was asked for, must have lapsed.
					old, fence := expiring[l.Request.URL]
					fence = fence && old.returned.Before(called)
					if fence {
						delete(expiring, l.Request.URL)
					}
					_, pending := expiring[l.Request.URL]
					drop := !pending && drops < maxDrops && rng.IntN(dropOdds) == 0
					if drop {
						drops++
						expiring[l.Request.URL] = dropped{l, returned}
					}
					mu.Unlock()
					if doneBefore > 0 {
						fail("worker %d: %s leased again after it was completed Done", w, l.Request.URL)
						return
					}
					if l.Request.Attempts < retriesBefore {
						fail("worker %d: %s leased with Attempts %d after %d retries", w, l.Request.URL, l.Request.Attempts, retriesBefore)
						return
					}
					if fence {
						err := h.f.Complete(ctx, []frontier.Outcome{done(old.lease)})
						if !errors.Is(err, frontier.ErrLeaseExpired) {
							failErr(err, "worker %d: Complete(expired lease of %s, handed out again) did not fail with ErrLeaseExpired",
								w, old.lease.Request.URL)
							return
						}
						mu.Lock()
						fenced++
						mu.Unlock()
					}
					if drop {
						continue
					}

					// Attempts as the backend counts them may run ahead of the
					// retries this test saw applied.
					o := done(l)
					if max(retries, l.Request.Attempts) < maxRetries && rng.IntN(retryOdds) == 0 {
						o = retry(l, time.Now().Add(time.Millisecond))
					} else {
						if child := i + urls/2; child < urls {
							o.Links = append(o.Links, frontier.Request{URL: all[child].URL, Depth: l.Request.Depth + 1, Parent: l.Request.URL})
						}
						for range rng.IntN(maxLinks + 1) {
							u := all[rng.IntN(urls)].URL
							o.Links = append(o.Links, frontier.Request{URL: u, Depth: l.Request.Depth + 1, Parent: l.Request.URL})
						}
					}
					// Stop counting the lease before completing it, so another
					// worker's lease on the freed slot never looks over the cap.
					caps.released(l)
					err := h.f.Complete(ctx, []frontier.Outcome{o})
					completed := time.Now()
					if errors.Is(err, frontier.ErrLeaseExpired) {
						// This worker was too slow; the request is handed out
						// again and completed then.
						mu.Lock()
						stale++
						mu.Unlock()
						continue
					}
					if err != nil {
						failErr(err, "worker %d: Complete(%s)", w, describeOutcomes([]frontier.Outcome{o}))
						return
					}
					mu.Lock()
					if o.Status == frontier.Done {
						doneAt[i] = append(doneAt[i], completed)
						links += len(o.Links)
					} else {
						retryAt[i] = append(retryAt[i], completed)
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the crawl did not drain before its %v deadline", phaseGuard)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d leases left to expire, %d of them completed late and fenced off, %d slow completions fenced off, max outstanding per host %d",
		drops, fenced, stale, caps.maxSeen)

	var missing, twice int
	for i, at := range doneAt {
		n := len(at)
		switch {
		case n == 0:
			missing++
		case n > 1:
			twice++
		}
		if n != 1 && missing+twice <= 5 {
			t.Errorf("%s completed Done %d times; want once", all[i].URL, n)
		}
	}
	if missing+twice > 0 {
		t.Errorf("%d URLs never completed Done, %d completed Done more than once", missing, twice)
	}
	// Every link but the first to each URL beyond the seeds was a duplicate.
	h.wantStats("at the end", frontier.Stats{Done: urls, Seen: urls, Duplicates: int64(links - (urls - urls/2))})
	h.wantDrained("at the end")
}

// capCheck tracks the leases workers hold per host and fails when a host
// has more outstanding than its cap. It counts conservatively, so a correct
// backend never trips it: a lease stops counting before its completion is
// sent, and any lease stops counting once its Expires has passed. What it
// counts at a time were therefore all outstanding at that time.
type capCheck struct {
	mu      sync.Mutex
	limit   int
	byHost  map[string]map[uint64]time.Time // lease ID → Expires
	maxSeen int
}

func newCapCheck(limit int) *capCheck {
	return &capCheck{limit: limit, byHost: map[string]map[uint64]time.Time{}}
}

// leased records leases just returned by Lease.
func (c *capCheck) leased(ls []frontier.Lease) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	touched := map[string]bool{}
	for _, l := range ls {
		host := l.Request.Host()
		if c.byHost[host] == nil {
			c.byHost[host] = map[uint64]time.Time{}
		}
		c.byHost[host][l.ID] = l.Expires
		touched[host] = true
	}
	for host := range touched {
		// A lease whose Expires has passed may have been reaped already,
		// its slot given to a lease counted here.
		for id, exp := range c.byHost[host] {
			if !exp.After(now) {
				delete(c.byHost[host], id)
			}
		}
		n := len(c.byHost[host])
		c.maxSeen = max(c.maxSeen, n)
		if n > c.limit {
			return fmt.Errorf("host %s has %d leases outstanding; want at most PerHostInFlight %d", host, n, c.limit)
		}
	}
	return nil
}

// released stops counting l.
func (c *capCheck) released(l frontier.Lease) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byHost[l.Request.Host()], l.ID)
}
