package frontiertest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// testCompleteLinks checks that Complete counts outcomes by status and
// queues their links, deduplicated against everything seen, with their
// fields intact.
func testCompleteLinks(t *testing.T, b Backend) {
	s1, s2, s3 := req("s1.test", "1", 0), req("s2.test", "1", 0), req("s3.test", "1", 0)
	n1 := frontier.Request{URL: "http://n.test/1", Depth: 1, Parent: s1.URL}
	n2 := frontier.Request{URL: "http://n.test/2", Depth: 1, Parent: s1.URL}
	n3 := frontier.Request{URL: "http://s2.test/3", Depth: 1, Parent: s3.URL}

	type spec struct {
		status frontier.Status
		links  []frontier.Request
	}
	tests := []struct {
		name     string
		seeds    []frontier.Request
		outcomes map[string]spec // by seed URL, all completed in one call
		want     frontier.Stats
		// wantQueued are the requests queued afterwards, as leases should
		// return them.
		wantQueued []frontier.Request
	}{
		{
			name:       "done queues new links",
			seeds:      []frontier.Request{s1},
			outcomes:   map[string]spec{s1.URL: {frontier.Done, []frontier.Request{n1, n2}}},
			want:       frontier.Stats{Queued: 2, Done: 1, Hosts: 1, Seen: 3},
			wantQueued: []frontier.Request{n1, n2},
		},
		{
			name:  "links deduplicated against the seen set and each other",
			seeds: []frontier.Request{s1, s2},
			outcomes: map[string]spec{
				s1.URL: {frontier.Done, []frontier.Request{s1, s2, n1, {URL: n1.URL, Depth: 7}, n1}},
			},
			want:       frontier.Stats{Queued: 1, Leased: 1, Done: 1, Hosts: 2, Seen: 3, Duplicates: 4},
			wantQueued: []frontier.Request{n1},
		},
		{
			name:       "failed counts separately",
			seeds:      []frontier.Request{s1},
			outcomes:   map[string]spec{s1.URL: {status: frontier.Failed}},
			want:       frontier.Stats{Failed: 1, Seen: 1},
			wantQueued: nil,
		},
		{
			name:       "retry counts as neither",
			seeds:      []frontier.Request{s1},
			outcomes:   map[string]spec{s1.URL: {status: frontier.Retry}},
			want:       frontier.Stats{Queued: 1, Hosts: 1, Seen: 1},
			wantQueued: []frontier.Request{{URL: s1.URL, Attempts: 1}},
		},
		{
			name:  "mixed batch",
			seeds: []frontier.Request{s1, s2, s3},
			outcomes: map[string]spec{
				s1.URL: {frontier.Done, []frontier.Request{n1, n2}},
				s2.URL: {status: frontier.Failed},
				s3.URL: {frontier.Done, []frontier.Request{n3, n1}},
			},
			want:       frontier.Stats{Queued: 3, Done: 2, Failed: 1, Hosts: 2, Seen: 6, Duplicates: 1},
			wantQueued: []frontier.Request{n1, n2, n3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := open(t, b, frontier.Options{PerHostInFlight: -1})
			h.add(tt.seeds...)
			var outs []frontier.Outcome
			for _, l := range h.leaseN(len(tt.seeds)) {
				sp, ok := tt.outcomes[l.Request.URL]
				if !ok {
					continue // stays leased
				}
				outs = append(outs, frontier.Outcome{Lease: l, Status: sp.status, Links: sp.links})
			}
			h.complete(outs...)
			h.wantStats("after Complete", tt.want)
			got := byURL(h.leaseN(len(tt.wantQueued)))
			for _, want := range tt.wantQueued {
				if l, ok := got[want.URL]; !ok {
					t.Errorf("%s was not leased", want.URL)
				} else if l.Request != want {
					t.Errorf("leased request = %+v; want %+v", l.Request, want)
				}
			}
			for u := range got {
				if !containsURL(tt.wantQueued, u) {
					t.Errorf("%s was leased; want only %d requests queued", u, len(tt.wantQueued))
				}
			}
		})
	}

	t.Run("stats never show a completion without its links", func(t *testing.T) {
		// A torn state shows only if a poller reads at just the wrong time;
		// a few rounds make that likely.
		const rounds, pollers = 10, 2
		before := frontier.Stats{Leased: 1, Hosts: 1, Seen: 1}
		after := frontier.Stats{Queued: 2, Done: 1, Hosts: 2, Seen: 3}
		for round := range rounds {
			h := open(t, b, frontier.Options{PerHostInFlight: -1})
			h.add(s1)
			l := h.leaseOne()
			h.wantStats("before", before)

			// Pollers must only ever see the state before or after.
			var (
				wg      sync.WaitGroup
				stop    = make(chan struct{})
				started = make(chan struct{}, pollers)
				mu      sync.Mutex
				torn    []frontier.Stats
			)
			ctx := h.ctx()
			for range pollers {
				wg.Go(func() {
					for i := 0; ; i++ {
						if i == 1 {
							started <- struct{}{}
						}
						select {
						case <-stop:
							return
						default:
						}
						s, err := h.f.Stats(ctx)
						if err != nil {
							t.Errorf("Stats: %v", err)
							return
						}
						if s != before && s != after {
							mu.Lock()
							torn = append(torn, s)
							mu.Unlock()
						}
					}
				})
			}
			for range pollers {
				<-started
			}
			o := done(l)
			o.Links = []frontier.Request{n1, n3}
			h.complete(o)
			close(stop)
			wg.Wait()
			if len(torn) > 0 {
				t.Fatalf("round %d: Stats during Complete saw %d in-between states, first %+v; want only %+v or %+v",
					round, len(torn), torn[0], before, after)
			}
		}
	})

	t.Run("waiters never see a drain between a completion and its links", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		h.add(s1)
		l := h.leaseOne()
		// Three waiters with max 1 each: two get the links, the third must
		// keep blocking, not report a drain.
		results := make(chan leaseResult, 3)
		ctx := h.ctx()
		for range cap(results) {
			go func() {
				ls, err := h.f.Lease(ctx, 1)
				results <- leaseResult{ls, err, time.Now()}
			}()
		}
		h.wantBlocked("waiters before the completion", results)
		o := done(l)
		o.Links = []frontier.Request{n1, n3}
		h.complete(o)

		var links []frontier.Lease
		for range 2 {
			r := h.await("waiter after the completion", results)
			if r.err != nil || len(r.leases) != 1 {
				t.Fatalf("waiter: Lease = %s, %v; want one of the new links", describeLeases(r.leases), r.err)
			}
			links = append(links, r.leases[0])
		}
		if got, want := sorted(urlsOf(links)), sorted([]string{n1.URL, n3.URL}); !slices.Equal(got, want) {
			t.Errorf("waiters got %v; want %v", got, want)
		}
		h.wantBlocked("third waiter while the links are leased", results)
		h.complete(done(links[0]), done(links[1]))
		if r := h.await("third waiter", results); !errors.Is(r.err, frontier.ErrDrained) {
			t.Errorf("third waiter: Lease = %s, %v; want ErrDrained", describeLeases(r.leases), r.err)
		}
	})
}

func containsURL(reqs []frontier.Request, u string) bool {
	for _, r := range reqs {
		if r.URL == u {
			return true
		}
	}
	return false
}

// testStats checks every counter at each step of a small scenario.
func testStats(t *testing.T, b Backend) {
	h := open(t, b, frontier.Options{PerHostInFlight: -1})
	held := map[string]frontier.Lease{}
	leaseAll := func(n int) func() {
		return func() {
			for _, l := range h.leaseN(n) {
				held[l.Request.URL] = l
			}
		}
	}
	complete := func(u string, st frontier.Status, links ...frontier.Request) func() {
		return func() {
			l, ok := held[u]
			if !ok {
				t.Fatalf("%s is not leased", u)
			}
			delete(held, u)
			h.complete(frontier.Outcome{Lease: l, Status: st, Links: links})
		}
	}
	a1, a2, b1, c1 := req("a.test", "1", 0), req("a.test", "2", 0), req("b.test", "1", 0), req("c.test", "1", 0)
	c2, d1 := req("c.test", "2", 1), req("d.test", "1", 1)

	steps := []struct {
		name string
		do   func()
		want frontier.Stats
	}{
		{"empty", func() {}, frontier.Stats{}},
		{"add three on two hosts", func() { h.add(a1, a2, b1) },
			frontier.Stats{Queued: 3, Hosts: 2, Seen: 3}},
		{"add two seen and one new", func() { h.add(a1, b1, c1) },
			frontier.Stats{Queued: 4, Hosts: 3, Seen: 4, Duplicates: 2}},
		{"lease all", leaseAll(4),
			frontier.Stats{Leased: 4, Hosts: 3, Seen: 4, Duplicates: 2}},
		{"complete a1 done", complete(a1.URL, frontier.Done),
			frontier.Stats{Leased: 3, Done: 1, Hosts: 3, Seen: 4, Duplicates: 2}},
		{"complete a2 failed", complete(a2.URL, frontier.Failed),
			frontier.Stats{Leased: 2, Done: 1, Failed: 1, Hosts: 2, Seen: 4, Duplicates: 2}},
		{"complete b1 retry", complete(b1.URL, frontier.Retry),
			frontier.Stats{Queued: 1, Leased: 1, Done: 1, Failed: 1, Hosts: 2, Seen: 4, Duplicates: 2}},
		{"complete c1 done with links", complete(c1.URL, frontier.Done, c2, a1, d1, c2),
			frontier.Stats{Queued: 3, Done: 2, Failed: 1, Hosts: 3, Seen: 6, Duplicates: 4}},
		{"lease all again", leaseAll(3),
			frontier.Stats{Leased: 3, Done: 2, Failed: 1, Hosts: 3, Seen: 6, Duplicates: 4}},
		{"complete b1 failed", complete(b1.URL, frontier.Failed),
			frontier.Stats{Leased: 2, Done: 2, Failed: 2, Hosts: 2, Seen: 6, Duplicates: 4}},
		{"complete c2 and d1 done", func() { complete(c2.URL, frontier.Done)(); complete(d1.URL, frontier.Done)() },
			frontier.Stats{Done: 4, Failed: 2, Seen: 6, Duplicates: 4}},
	}
	for _, st := range steps {
		st.do()
		h.wantStats(st.name, st.want)
	}
	h.wantDrained("at the end")
}

// testClose checks that calls on a closed frontier fail with ErrClosed.
func testClose(t *testing.T, b Backend) {
	h := open(t, b, frontier.Options{})
	h.add(req("a.test", "1", 0), req("a.test", "2", 0))
	l := h.leaseOne()
	if err := h.f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := h.ctx()
	if _, err := h.f.Add(ctx, []frontier.Request{req("a.test", "3", 0)}); !errors.Is(err, frontier.ErrClosed) {
		t.Errorf("Add after Close: %v; want ErrClosed", err)
	}
	if ls, err := h.leaseCtx(ctx, 1); !errors.Is(err, frontier.ErrClosed) {
		t.Errorf("Lease after Close = %s, %v; want ErrClosed", describeLeases(ls), err)
	}
	if err := h.f.Complete(ctx, []frontier.Outcome{done(l)}); !errors.Is(err, frontier.ErrClosed) {
		t.Errorf("Complete after Close: %v; want ErrClosed", err)
	}
	if err := h.f.Renew(ctx, []frontier.Lease{l}); !errors.Is(err, frontier.ErrClosed) {
		t.Errorf("Renew after Close: %v; want ErrClosed", err)
	}
	if _, err := h.f.Stats(ctx); !errors.Is(err, frontier.ErrClosed) {
		t.Errorf("Stats after Close: %v; want ErrClosed", err)
	}
}
