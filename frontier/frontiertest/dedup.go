package frontiertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// testAddDedup checks that Add drops what was seen before, within a batch,
// across batches and after the request was leased or completed, and that
// the first copy of a request is the one kept, field for field.
func testAddDedup(t *testing.T, b Backend) {
	a1 := req("a.test", "1", 0)
	a2 := req("a.test", "2", 1)
	b1 := req("b.test", "1", 0)
	c1 := frontier.Request{URL: "http://c.test/1", Depth: 4, Parent: "http://a.test/1", Attempts: 2}

	tests := []struct {
		name      string
		batches   [][]frontier.Request
		wantAdded []int
		// wantQueued are the requests queued afterwards, exactly as a lease
		// should return them.
		wantQueued []frontier.Request
		wantHosts  int64
		wantDups   int64
	}{
		{
			name:       "duplicates in one batch",
			batches:    [][]frontier.Request{{a1, a1, b1, a1}},
			wantAdded:  []int{2},
			wantQueued: []frontier.Request{a1, b1},
			wantHosts:  2,
			wantDups:   2,
		},
		{
			name:       "duplicates across batches",
			batches:    [][]frontier.Request{{a1, b1}, {b1, a2}, {a1}, {a2, b1}},
			wantAdded:  []int{2, 1, 0, 0},
			wantQueued: []frontier.Request{a1, a2, b1},
			wantHosts:  2,
			wantDups:   4,
		},
		{
			// The fingerprint is the URL's: depth and parent do not make
			// another request, and the first copy wins.
			name: "same URL with other fields",
			batches: [][]frontier.Request{
				{c1, {URL: c1.URL, Depth: 1}},
				{{URL: c1.URL, Parent: "http://b.test/1"}},
			},
			wantAdded:  []int{1, 0},
			wantQueued: []frontier.Request{c1},
			wantHosts:  1,
			wantDups:   2,
		},
		{
			name:      "empty batches",
			batches:   [][]frontier.Request{{}, nil},
			wantAdded: []int{0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := open(t, b, frontier.Options{PerHostInFlight: -1})
			for i, batch := range tt.batches {
				if got := h.add(batch...); got != tt.wantAdded[i] {
					t.Errorf("Add(batch %d) added %d; want %d", i, got, tt.wantAdded[i])
				}
			}
			n := int64(len(tt.wantQueued))
			h.wantStats("after adding", frontier.Stats{Queued: n, Seen: n, Hosts: tt.wantHosts, Duplicates: tt.wantDups})
			if n == 0 {
				h.wantDrained("nothing added")
				return
			}
			got := byURL(h.leaseN(len(tt.wantQueued)))
			for _, want := range tt.wantQueued {
				if l, ok := got[want.URL]; !ok {
					t.Errorf("%s was not leased", want.URL)
				} else if l.Request != want {
					t.Errorf("leased request = %+v; want %+v (the first copy added)", l.Request, want)
				}
			}
		})
	}

	// A URL stays seen whatever became of it.
	ends := []struct {
		name string
		end  func(frontier.Lease) *frontier.Outcome // nil: keep the lease
		want frontier.Stats
	}{
		{"leased", nil, frontier.Stats{Leased: 1, Hosts: 1, Seen: 1, Duplicates: 2}},
		{"done", func(l frontier.Lease) *frontier.Outcome { o := done(l); return &o },
			frontier.Stats{Done: 1, Seen: 1, Duplicates: 2}},
		{"failed", func(l frontier.Lease) *frontier.Outcome { o := failed(l); return &o },
			frontier.Stats{Failed: 1, Seen: 1, Duplicates: 2}},
		{"waiting to retry", func(l frontier.Lease) *frontier.Outcome {
			o := retry(l, time.Now().Add(time.Hour))
			return &o
		}, frontier.Stats{Queued: 1, Hosts: 1, Seen: 1, Duplicates: 2}},
	}
	for _, tt := range ends {
		t.Run("not re-added when "+tt.name, func(t *testing.T) {
			h := open(t, b, frontier.Options{})
			h.add(a1)
			l := h.leaseOne()
			if tt.end != nil {
				o := tt.end(l)
				h.complete(*o)
			}
			if got := h.add(a1, frontier.Request{URL: a1.URL, Depth: 3}); got != 0 {
				t.Errorf("Add(same URL again) added %d; want 0", got)
			}
			h.wantStats("after adding it again", tt.want)
			if tt.want.Queued+tt.want.Leased == 0 {
				h.wantDrained("after adding a completed URL again")
			}
		})
	}
}

// testConcurrentDedup checks that the seen check and mark are one step:
// many goroutines adding the same URLs at once add each exactly once.
func testConcurrentDedup(t *testing.T, b Backend) {
	const (
		goroutines = 32
		urls       = 1000
		hosts      = 8
		maxBatch   = 20
		rounds     = 3
		leasers    = 4
	)
	all := make([]frontier.Request, urls)
	for i := range all {
		all[i] = req(fmt.Sprintf("h%d.test", i%hosts), fmt.Sprintf("p%d", i), i%3)
	}

	// A check-then-mark race shows only when two Adds interleave just so;
	// a few rounds on fresh frontiers make that likely.
	var h *harness
	for round := range rounds {
		h = open(t, b, frontier.Options{PerHostInFlight: -1})
		added := addConcurrently(t, h, all, goroutines, maxBatch, uint64(round))
		if t.Failed() {
			return
		}
		if added != urls {
			t.Errorf("round %d: %d goroutines adding the same %d URLs added %d in total; want %d",
				round, goroutines, urls, added, urls)
		}
		h.wantStats(fmt.Sprintf("round %d, after adding", round),
			frontier.Stats{Queued: urls, Seen: urls, Hosts: hosts, Duplicates: (goroutines - 1) * urls})
	}

	ctx := h.ctxFor(phaseGuard)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	leased := make(map[string]int, urls)
	for w := range leasers {
		wg.Go(func() {
			for {
				ls, err := h.f.Lease(ctx, 37)
				if errors.Is(err, frontier.ErrDrained) {
					return
				}
				if err != nil {
					t.Errorf("leaser %d: Lease: %v", w, err)
					return
				}
				outs := make([]frontier.Outcome, len(ls))
				mu.Lock()
				for i, l := range ls {
					leased[l.Request.URL]++
					outs[i] = done(l)
				}
				mu.Unlock()
				if err := h.f.Complete(ctx, outs); err != nil {
					t.Errorf("leaser %d: Complete: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, r := range all {
		if n := leased[r.URL]; n != 1 {
			t.Errorf("%s leased %d times; want once", r.URL, n)
		}
	}
	if len(leased) != urls {
		t.Errorf("leased %d distinct URLs; want %d", len(leased), urls)
	}
	h.wantStats("after completing everything", frontier.Stats{Done: urls, Seen: urls, Duplicates: (goroutines - 1) * urls})
}

// addConcurrently has each of n goroutines Add every request in reqs, in
// batches of 1 to maxBatch, all starting at once, and returns the total
// they added. Half the goroutines go in one shared order, so that several
// race for the same batch; the others in orders of their own.
func addConcurrently(t *testing.T, h *harness, reqs []frontier.Request, n, maxBatch int, seed uint64) int {
	ctx := h.ctxFor(phaseGuard)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added int
	)
	startLine := make(chan struct{})
	for g := range n {
		wg.Go(func() {
			stream := uint64(g)
			if g%2 == 0 {
				stream = 0
			}
			perm := rand.New(rand.NewPCG(seed, stream)).Perm(len(reqs))
			rng := rand.New(rand.NewPCG(seed, uint64(n+g)))
			<-startLine
			for start := 0; start < len(reqs); {
				end := min(start+1+rng.IntN(maxBatch), len(reqs))
				batch := make([]frontier.Request, 0, end-start)
				for _, i := range perm[start:end] {
					batch = append(batch, reqs[i])
				}
				start = end
				k, err := h.f.Add(ctx, batch)
				if err != nil {
					t.Errorf("goroutine %d: Add: %v", g, err)
					return
				}
				mu.Lock()
				added += k
				mu.Unlock()
			}
		})
	}
	close(startLine)
	wg.Wait()
	return added
}
