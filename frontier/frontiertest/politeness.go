package frontiertest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// hostDelays is a custom policy with a delay per host (absent hosts: none)
// and breadth-first order.
type hostDelays map[string]time.Duration

func (hostDelays) Priority(r frontier.Request) float64   { return float64(r.Depth) }
func (s hostDelays) HostDelay(host string) time.Duration { return s[host] }

// testPoliteness checks per-host delays, in-flight caps, host independence,
// Crawl-delay from outcomes and RetryAt.
//
// A lease happens somewhere between the start of its Lease call and its
// return, so the time between two leases is at least (return of the second
// call) - (start of the first), which is what the delay checks measure.
func testPoliteness(t *testing.T, b Backend) {
	t.Run("host delay spaces leases", func(t *testing.T) {
		const delay = 30 * time.Millisecond
		tests := []struct {
			name     string
			inFlight int
			// complete says whether each lease is completed before the next
			// Lease call; if not, only the delay holds the host back.
			complete bool
			n        int // leases to take, within the cap
		}{
			{"completed in between, one in flight", 1, true, 3},
			{"completed in between, no cap", -1, true, 3},
			{"outstanding, no cap", -1, false, 3},
			{"outstanding, default cap", 0, false, 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := open(t, b, frontier.Options{
					Scheduler:       frontier.BreadthFirst{Delay: delay},
					PerHostInFlight: tt.inFlight,
				})
				for i := range tt.n + 1 {
					h.add(req("d.test", fmt.Sprint(i), 0))
				}
				start := make([]time.Time, tt.n)
				end := make([]time.Time, tt.n)
				for i := range tt.n {
					start[i] = time.Now()
					ls := h.lease(100)
					end[i] = time.Now()
					if len(ls) != 1 {
						t.Fatalf("lease %d returned %s; want 1: the delay forbids two at once", i, describeLeases(ls))
					}
					if tt.complete {
						h.complete(done(ls[0]))
					}
				}
				for i := 1; i < tt.n; i++ {
					if gap := end[i].Sub(start[i-1]); gap < delay {
						t.Errorf("leases %d and %d were at most %v apart; want at least %v", i-1, i, gap, delay)
					}
				}
			})
		}
	})

	t.Run("in-flight cap", func(t *testing.T) {
		const (
			hosts   = 3
			perHost = 8
		)
		tests := []struct {
			inFlight int
			want     int // leases outstanding per host when Lease blocks
		}{
			{1, 1},
			{2, 2},
			{5, 5},
			{0, 2}, // the default
			{-1, perHost},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("PerHostInFlight %d", tt.inFlight), func(t *testing.T) {
				h := open(t, b, frontier.Options{PerHostInFlight: tt.inFlight})
				for i := range perHost {
					for j := range hosts {
						h.add(req(fmt.Sprintf("h%d.test", j), fmt.Sprint(i), 0))
					}
				}
				held := h.leaseReady(hosts*tt.want, "every host at its cap")
				perHostCount := map[string]int{}
				for _, l := range held {
					perHostCount[l.Request.Host()]++
				}
				for j := range hosts {
					host := fmt.Sprintf("h%d.test", j)
					if got := perHostCount[host]; got != tt.want {
						t.Errorf("%s: %d leases outstanding; want %d", host, got, tt.want)
					}
				}
				if t.Failed() || tt.want == perHost {
					return
				}
				// Completing one lease frees one slot on its host only.
				h.complete(done(held[0]))
				ls := h.leaseReady(1, "one slot freed")
				if ls[0].Request.Host() != held[0].Request.Host() {
					t.Errorf("after completing a lease on %s: leased %s; want one on that host",
						held[0].Request.Host(), ls[0].Request.URL)
				}
			})
		}
	})

	t.Run("hosts do not delay each other", func(t *testing.T) {
		// slow.test waits far longer than the hang guard: if fast.test had
		// to wait behind it, Lease would fail.
		h := open(t, b, frontier.Options{
			Scheduler:       hostDelays{"slow.test": time.Hour},
			PerHostInFlight: -1,
		})
		h.add(req("slow.test", "1", 0), req("slow.test", "2", 0))
		if l := h.leaseOne(); l.Request.URL != "http://slow.test/1" {
			t.Fatalf("leased %s; want http://slow.test/1", l.Request.URL)
		}
		fast := []frontier.Request{req("fast.test", "1", 0), req("fast.test", "2", 0), req("fast.test", "3", 0)}
		h.add(fast...)
		got := byURL(h.leaseReady(len(fast), "slow.test waiting"))
		for _, r := range fast {
			if _, ok := got[r.URL]; !ok {
				t.Errorf("%s was not leased while slow.test waited", r.URL)
			}
		}
		if _, ok := got["http://slow.test/2"]; ok {
			t.Errorf("http://slow.test/2 was leased before its host's delay passed")
		}
	})

	t.Run("outcome host delay slows the host", func(t *testing.T) {
		tests := []struct {
			name         string
			schedDelay   time.Duration
			outcomeDelay time.Duration
		}{
			{"crawl-delay without scheduler delay", 0, 40 * time.Millisecond},
			{"crawl-delay longer than scheduler delay", 20 * time.Millisecond, 50 * time.Millisecond},
			{"crawl-delay shorter than scheduler delay does not speed up", 50 * time.Millisecond, 10 * time.Millisecond},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := open(t, b, frontier.Options{
					Scheduler:       frontier.BreadthFirst{Delay: tt.schedDelay},
					PerHostInFlight: 1,
				})
				h.add(req("cd.test", "1", 0), req("cd.test", "2", 0), req("cd.test", "3", 0))
				want := max(tt.schedDelay, tt.outcomeDelay)
				const fetchTime = 10 * time.Millisecond

				start1 := time.Now()
				l1 := h.leaseOne()
				// The worker fetches for a while before it learns the
				// Crawl-delay; the delay still counts from its request.
				time.Sleep(fetchTime)
				completed := time.Now()
				h.complete(frontier.Outcome{Lease: l1, Status: frontier.Done, HostDelay: tt.outcomeDelay})

				start2 := time.Now()
				l2 := h.leaseOne()
				end2 := time.Now()
				// The Crawl-delay learned from request 1 already spaces it from
				// request 2.
				if gap := end2.Sub(start1); gap < want {
					t.Errorf("leases 1 and 2 were at most %v apart (lease 2 came %v after the completion with HostDelay %v); want at least %v",
						gap, end2.Sub(completed), tt.outcomeDelay, want)
				}
				// The Crawl-delay holds from then on, not just once.
				h.complete(done(l2))
				l3 := h.leaseOne()
				if gap := time.Since(start2); gap < want {
					t.Errorf("leases 2 and 3 were at most %v apart; want at least %v", gap, want)
				}
				h.complete(done(l3))
				h.wantDrained("after leasing everything")
			})
		}
	})

	// A server that answers a last attempt with 429 and Retry-After still
	// gets its wait: RetryAt holds the host whatever the status.
	t.Run("a final outcome's RetryAt holds the host", func(t *testing.T) {
		for _, st := range []frontier.Status{frontier.Done, frontier.Failed} {
			const wait = 40 * time.Millisecond
			h := open(t, b, frontier.Options{PerHostInFlight: -1})
			h.add(req("a.test", "1", 0))
			l := h.leaseOne()
			h.add(req("a.test", "2", 0), req("b.test", "1", 0))
			retryAt := time.Now().Add(wait)
			h.complete(frontier.Outcome{Lease: l, Status: st, RetryAt: retryAt})
			for n := 0; n < 2; {
				ls := h.lease(100)
				end := time.Now()
				for _, got := range ls {
					if got.Request.Host() == "a.test" && end.Before(retryAt) {
						t.Errorf("status %d: %s leased %v before the host's RetryAt", st, got.Request.URL, retryAt.Sub(end))
					}
					h.complete(done(got))
					n++
				}
			}
			h.wantDrained("after the held host's request")
		}
	})

	t.Run("a later, shorter crawl-delay does not speed the host up", func(t *testing.T) {
		const long, short = 50 * time.Millisecond, 5 * time.Millisecond
		h := open(t, b, frontier.Options{PerHostInFlight: 1})
		h.add(req("cd.test", "1", 0), req("cd.test", "2", 0), req("cd.test", "3", 0))
		h.complete(frontier.Outcome{Lease: h.leaseOne(), Status: frontier.Done, HostDelay: long})
		start2 := time.Now()
		h.complete(frontier.Outcome{Lease: h.leaseOne(), Status: frontier.Done, HostDelay: short})
		l3 := h.leaseOne()
		if gap := time.Since(start2); gap < long {
			t.Errorf("leases 2 and 3 were at most %v apart after a Crawl-delay of %v, then one of %v; want at least %v", gap, long, short, long)
		}
		h.complete(done(l3))
	})

	// Retry-After and Crawl-delay slow a host down whatever became of the
	// request that brought them (a final status: see above).
	for _, st := range []frontier.Status{frontier.Retry, frontier.Release} {
		t.Run("a "+statusName(st)+" outcome's RetryAt and host delay hold the host", func(t *testing.T) {
			const wait, delay = 40 * time.Millisecond, 60 * time.Millisecond
			h := open(t, b, frontier.Options{PerHostInFlight: -1})
			h.add(req("a.test", "1", 0))
			start := time.Now()
			l := h.leaseOne()
			h.add(req("a.test", "2", 0), req("b.test", "1", 0))
			retryAt := time.Now().Add(wait)
			h.complete(frontier.Outcome{Lease: l, Status: st, RetryAt: retryAt, HostDelay: delay})
			var onA []time.Time // when each a.test lease came, at the latest
			for {
				ls, err := h.leaseCtx(h.ctx(), 100)
				if errors.Is(err, frontier.ErrDrained) {
					break
				}
				if err != nil {
					t.Fatalf("Lease: %v", err)
				}
				end := time.Now()
				for _, got := range ls {
					if got.Request.Host() == "a.test" {
						if end.Before(retryAt) {
							t.Errorf("%s leased %v before the host's RetryAt", got.Request.URL, retryAt.Sub(end))
						}
						onA = append(onA, end)
					}
					h.complete(done(got))
				}
			}
			if len(onA) != 2 {
				t.Fatalf("a.test gave %d leases after the outcome; want 2", len(onA))
			}
			if gap := onA[0].Sub(start); gap < delay {
				t.Errorf("a.test leased again at most %v after the outcome's lease; want its host delay %v", gap, delay)
			}
		})
	}

	t.Run("retry waits for RetryAt", func(t *testing.T) {
		const wait = 40 * time.Millisecond
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		a1, a2, b1 := req("a.test", "1", 0), req("a.test", "2", 0), req("b.test", "1", 0)
		h.add(a1)
		l := h.leaseOne()
		h.add(a2, b1)
		for attempt := 1; attempt <= 2; attempt++ {
			retryAt := time.Now().Add(wait)
			h.complete(retry(l, retryAt))
			// Lease until a1 comes back. Nothing on a.test may be leased
			// before retryAt: the host as a whole waits. b.test does not.
			var again *frontier.Lease
			for again == nil {
				ls := h.lease(100)
				end := time.Now()
				for _, got := range ls {
					if got.Request.Host() == "a.test" && end.Before(retryAt) {
						t.Errorf("attempt %d: %s leased %v before RetryAt", attempt, got.Request.URL, retryAt.Sub(end))
					}
					if got.Request.URL == a1.URL {
						again = &got
					} else {
						h.complete(done(got))
					}
				}
			}
			if again.Request.Attempts != attempt {
				t.Errorf("after retry %d: Attempts = %d; want %d", attempt, again.Request.Attempts, attempt)
			}
			if again.Request.Depth != a1.Depth || again.Request.Parent != a1.Parent {
				t.Errorf("retried request = %+v; want %+v with Attempts %d", again.Request, a1, attempt)
			}
			l = *again
		}
		h.complete(done(l))
		h.wantDrained("after completing the retried request")
		h.wantStats("at the end", frontier.Stats{Done: 3, Seen: 3})
	})
}
