package frontiertest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// rankScheduler is a custom policy defined outside package frontier: each
// URL's priority is looked up in the map (absent URLs rank 0).
type rankScheduler map[string]float64

func (s rankScheduler) Priority(r frontier.Request) float64 { return s[r.URL] }
func (rankScheduler) HostDelay(string) time.Duration        { return 0 }

var _ frontier.Scheduler = rankScheduler(nil)

// testOrdering checks the order in which one host's queue is leased under
// each policy: by priority, then by arrival (Add calls in order, and slice
// order within a call).
func testOrdering(t *testing.T, b Backend) {
	const host = "o.test"
	// The same six requests, added in two batches, for the depth policies.
	depths := [][]frontier.Request{
		{req(host, "a", 2), req(host, "b", 0), req(host, "c", 1)},
		{req(host, "d", 0), req(host, "e", 1), req(host, "f", 2)},
	}
	// URLs of several lengths, with ties, for best-first.
	lengths := [][]frontier.Request{
		{req(host, "aaaa", 0), req(host, "b", 0), req(host, "cc", 0)},
		{req(host, "d", 0), req(host, "eeeeeeee", 0), req(host, "ff", 0)},
	}
	u := func(path string) string { return "http://" + host + "/" + path }
	shorterFirst := func(r frontier.Request) float64 { return -float64(len(r.URL)) }

	tests := []struct {
		name    string
		sched   frontier.Scheduler
		batches [][]frontier.Request
		// late is added after the first lease is completed.
		late []frontier.Request
		want []string
	}{
		{
			name:    "breadth first: by depth, then arrival",
			sched:   frontier.BreadthFirst{},
			batches: depths,
			want:    []string{u("b"), u("d"), u("c"), u("e"), u("a"), u("f")},
		},
		{
			name:    "nil scheduler is breadth first",
			sched:   nil,
			batches: depths,
			want:    []string{u("b"), u("d"), u("c"), u("e"), u("a"), u("f")},
		},
		{
			name:    "breadth first: a late shallow request goes ahead",
			sched:   frontier.BreadthFirst{},
			batches: depths,
			late:    []frontier.Request{req(host, "g", 1), req(host, "h", 0)},
			want:    []string{u("b"), u("d"), u("h"), u("c"), u("e"), u("g"), u("a"), u("f")},
		},
		{
			name:    "depth first: deepest first, then arrival",
			sched:   frontier.DepthFirst{},
			batches: depths,
			want:    []string{u("a"), u("f"), u("c"), u("e"), u("b"), u("d")},
		},
		{
			name:    "depth first: a late deep request goes ahead",
			sched:   frontier.DepthFirst{},
			batches: depths,
			late:    []frontier.Request{req(host, "g", 3), req(host, "h", 1)},
			want:    []string{u("a"), u("g"), u("f"), u("c"), u("e"), u("h"), u("b"), u("d")},
		},
		{
			name:    "best first: highest score first, ties in arrival order",
			sched:   frontier.BestFirst{Score: shorterFirst},
			batches: lengths,
			want:    []string{u("b"), u("d"), u("cc"), u("ff"), u("aaaa"), u("eeeeeeee")},
		},
		{
			name:    "best first with nil score: arrival order",
			sched:   frontier.BestFirst{},
			batches: lengths,
			want:    []string{u("aaaa"), u("b"), u("cc"), u("d"), u("eeeeeeee"), u("ff")},
		},
		{
			name: "custom scheduler",
			sched: rankScheduler{
				u("a"): 0.5, u("b"): -2, u("c"): 7, u("d"): 0.5, u("e"): -2.5, // f ranks 0
			},
			batches: depths,
			want:    []string{u("e"), u("b"), u("f"), u("a"), u("d"), u("c")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := open(t, b, frontier.Options{Scheduler: tt.sched, PerHostInFlight: 1})
			for _, batch := range tt.batches {
				h.add(batch...)
			}
			var got []string
			for i := range tt.want {
				// With one lease in flight per host, a greedy Lease still
				// hands out one request at a time.
				ls := h.lease(100)
				if len(ls) != 1 {
					t.Fatalf("lease %d with PerHostInFlight 1 returned %s; want 1 lease", i, describeLeases(ls))
				}
				got = append(got, ls[0].Request.URL)
				h.complete(done(ls[0]))
				if i == 0 && len(tt.late) > 0 {
					h.add(tt.late...)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("lease order:\n got %v\nwant %v", got, tt.want)
			}
			h.wantDrained("after leasing everything")
		})
	}
}

// testStrict checks Options.Strict: the order is global, so no request is
// handed out while one of lower priority is queued or leased on any host.
// Backends that cannot honour Strict skip it from Backend.New.
func testStrict(t *testing.T, b Backend) {
	// Each level is leased in full (greedy leasing blocks on the next), then
	// completed; links join the level their priority puts them in.
	type level struct {
		want  []frontier.Request // leased together, in any order
		links map[string][]frontier.Request
	}
	tests := []struct {
		name   string
		sched  frontier.Scheduler
		seeds  []frontier.Request
		levels []level
	}{
		{
			name:  "breadth first, level by level across hosts",
			sched: frontier.BreadthFirst{},
			seeds: []frontier.Request{req("a.test", "1", 1), req("b.test", "0", 0), req("c.test", "1", 1), req("a.test", "2", 2)},
			levels: []level{
				{
					want: []frontier.Request{req("b.test", "0", 0)},
					links: map[string][]frontier.Request{
						"http://b.test/0": {req("b.test", "1", 1), req("d.test", "2", 2)},
					},
				},
				{want: []frontier.Request{req("a.test", "1", 1), req("c.test", "1", 1), req("b.test", "1", 1)}},
				{want: []frontier.Request{req("a.test", "2", 2), req("d.test", "2", 2)}},
			},
		},
		{
			name:  "depth first, deepest first across hosts",
			sched: frontier.DepthFirst{},
			seeds: []frontier.Request{req("a.test", "0", 0), req("b.test", "2", 2), req("c.test", "1", 1)},
			levels: []level{
				{
					want: []frontier.Request{req("b.test", "2", 2)},
					links: map[string][]frontier.Request{
						"http://b.test/2": {req("a.test", "3", 3)},
					},
				},
				{want: []frontier.Request{req("a.test", "3", 3)}},
				{want: []frontier.Request{req("c.test", "1", 1)}},
				{want: []frontier.Request{req("a.test", "0", 0)}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := open(t, b, frontier.Options{Scheduler: tt.sched, PerHostInFlight: -1, Strict: true})
			h.add(tt.seeds...)
			for i, lv := range tt.levels {
				got := h.leaseReady(len(lv.want), fmt.Sprintf("level %d leased", i))
				want := make([]string, len(lv.want))
				for j, r := range lv.want {
					want[j] = r.URL
				}
				if !slices.Equal(sorted(urlsOf(got)), sorted(want)) {
					t.Fatalf("level %d: leased %v; want %v", i, urlsOf(got), want)
				}
				// Completing all but one still holds the next level back.
				for j, l := range got {
					if j == len(got)-1 && len(got) > 1 {
						h.wantLeaseBlocks("one request of the level still leased")
					}
					o := done(l)
					o.Links = lv.links[l.Request.URL]
					h.complete(o)
				}
			}
			h.wantDrained("after the last level")
		})
	}

	t.Run("a request waiting to retry holds back later levels", func(t *testing.T) {
		const wait = 30 * time.Millisecond
		h := open(t, b, frontier.Options{PerHostInFlight: -1, Strict: true})
		h.add(req("a.test", "0", 0), req("b.test", "1", 1))
		l := h.leaseOne()
		if l.Request.URL != "http://a.test/0" {
			t.Fatalf("leased %s; want http://a.test/0", l.Request.URL)
		}
		h.complete(retry(l, time.Now().Add(wait)))
		again := h.leaseOne()
		if again.Request.URL != "http://a.test/0" || again.Request.Attempts != 1 {
			t.Fatalf("leased %+v; want http://a.test/0 again with Attempts 1, ahead of the deeper http://b.test/1", again.Request)
		}
		h.wantLeaseBlocks("retried request leased")
		h.complete(done(again))
		if got := h.drain(100); !slices.Equal(got, []string{"http://b.test/1"}) {
			t.Errorf("then leased %v; want [http://b.test/1]", got)
		}
	})

	// A host that asks for StrictStall or more (a Retry-After, say) must not
	// stall every other host with it.
	t.Run("a host held for StrictStall or more does not hold back the others", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: -1, Strict: true})
		h.add(req("a.test", "0", 0), req("b.test", "1", 1))
		l := h.leaseOne()
		if l.Request.URL != "http://a.test/0" {
			t.Fatalf("leased %s; want http://a.test/0", l.Request.URL)
		}
		retryAt := time.Now().Add(frontier.StrictStall + 2*time.Second)
		h.complete(retry(l, retryAt))
		got := h.leaseOne()
		if got.Request.URL != "http://b.test/1" || !time.Now().Before(retryAt) {
			t.Fatalf("leased %s at %v before a.test's RetryAt; want http://b.test/1 at once",
				got.Request.URL, -time.Until(retryAt))
		}
		h.complete(done(got))
		h.wantLeaseBlocks("a.test/0 waits out its RetryAt")
	})
}
