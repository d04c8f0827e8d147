package frontiertest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// kinds are the request kinds the Kind tests store and read back.
var kinds = []frontier.Kind{frontier.KindPage, frontier.KindAsset, frontier.KindSitemap}

// kindReq returns a request of kind k for http://host/path.
func kindReq(host, path string, depth int, k frontier.Kind) frontier.Request {
	r := req(host, path, depth)
	r.Kind = k
	return r
}

// testKind checks that Request.Kind is stored with the request and handed
// back unchanged: through Add, Complete's links, a retry, a release, and a
// reopen for persistent backends.
func testKind(t *testing.T, b Backend) {
	// wantLeased leases exactly the requests in want, and checks each one
	// field for field.
	wantLeased := func(t *testing.T, h *harness, when string, want []frontier.Request) []frontier.Lease {
		t.Helper()
		ls := h.leaseN(len(want))
		got := byURL(ls)
		for _, w := range want {
			if l, ok := got[w.URL]; !ok {
				t.Errorf("%s: %s was not leased", when, w.URL)
			} else if l.Request != w {
				t.Errorf("%s: leased %+v; want %+v", when, l.Request, w)
			}
		}
		return ls
	}

	t.Run("through Add", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		var want []frontier.Request
		for i, k := range kinds {
			want = append(want, kindReq("k.test", string(rune('a'+i)), i, k))
		}
		h.add(want...)
		wantLeased(t, h, "after Add", want)
	})

	t.Run("through Complete's links", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		h.add(req("k.test", "seed", 0))
		o := done(h.leaseOne())
		for i, k := range kinds {
			l := kindReq("l.test", string(rune('a'+i)), 1, k)
			l.Parent = "http://k.test/seed"
			o.Links = append(o.Links, l)
		}
		want := slices.Clone(o.Links)
		h.complete(o)
		wantLeased(t, h, "after Complete", want)
	})

	t.Run("through retry and release", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		a, s := kindReq("k.test", "asset", 0, frontier.KindAsset), kindReq("k.test", "sitemap", 0, frontier.KindSitemap)
		h.add(a, s)
		ls := byURL(h.leaseN(2))
		h.complete(retry(ls[a.URL], time.Now()), frontier.Outcome{Lease: ls[s.URL], Status: frontier.Release})
		a.Attempts++
		wantLeased(t, h, "after a retry and a release", []frontier.Request{a, s})
	})

	t.Run("across a reopen", func(t *testing.T) {
		if b.Reopen == nil {
			t.Skip("backend does not persist (Backend.Reopen is nil)")
		}
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		var want []frontier.Request
		for i, k := range kinds {
			want = append(want, kindReq("k.test", string(rune('a'+i)), 0, k))
		}
		h.add(want...)
		// One of each is queued, and one of each is leased (re-queued by
		// the reopen).
		o := done(wantLeased(t, h, "before the reopen", want)[0])
		for i, k := range kinds {
			l := kindReq("l.test", string(rune('a'+i)), 1, k)
			o.Links = append(o.Links, l)
		}
		h.complete(o)
		h.reopen()
		var rest []frontier.Request
		for _, r := range append(want, o.Links...) {
			if r.URL != o.Lease.Request.URL {
				rest = append(rest, r)
			}
		}
		ls := h.leaseN(len(rest))
		got := byURL(ls)
		for _, w := range rest {
			l, ok := got[w.URL]
			switch {
			case !ok:
				t.Errorf("after the reopen: %s was not leased", w.URL)
			case l.Request.Kind != w.Kind || l.Request.Depth != w.Depth || l.Request.Parent != w.Parent:
				// Attempts may have grown if the backend counts re-queued
				// leases as attempts.
				t.Errorf("after the reopen: leased %+v; want %+v", l.Request, w)
			}
		}
	})

	// Every kind counts against its host's cap alike.
	t.Run("every kind counts against the host's cap", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: len(kinds)})
		var reqs []frontier.Request
		for i := range 2 * len(kinds) {
			reqs = append(reqs, kindReq("c.test", string(rune('a'+i)), 0, kinds[i%len(kinds)]))
		}
		h.add(reqs...)
		held := h.leaseReady(len(kinds), "the host at its cap")
		h.complete(done(held[0]))
		h.leaseReady(1, "one slot freed")
	})
}

// testSeen checks Outcome.Seen: the URLs a completion marks seen are not
// queued, are then dropped by Add and by later links, and are never
// leased; URLs seen before are left as they are.
func testSeen(t *testing.T, b Backend) {
	t.Run("marked URLs are dropped and never leased", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		page, queued := req("s.test", "page", 0), req("s.test", "queued", 0)
		canon, other := req("s.test", "canonical", 0), req("t.test", "1", 0)
		h.add(page, queued)
		ls := byURL(h.leaseN(2))
		o := done(ls[page.URL])
		o.Seen = []string{canon.URL, queued.URL, canon.URL}
		h.complete(o)
		// canon is seen (counted once); queued was seen already, and stays
		// leased as it was.
		h.wantStats("after the completion", frontier.Stats{Leased: 1, Done: 1, Hosts: 1, Seen: 3})
		if got := h.add(canon, other); got != 1 {
			t.Errorf("Add(a URL marked seen, a new one) added %d; want 1", got)
		}
		h.wantStats("after adding it", frontier.Stats{Queued: 1, Leased: 1, Done: 1, Hosts: 2, Seen: 4, Duplicates: 1})
		h.complete(done(ls[queued.URL]))
		if got := h.drain(10); !slices.Equal(got, []string{other.URL}) {
			t.Errorf("then leased %v; want [%s]", got, other.URL)
		}
	})

	t.Run("marked before the same completion's links", func(t *testing.T) {
		// A page whose canonical URL it also links to: its fetch covered
		// that URL, which is not fetched again.
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		page := req("s.test", "page", 0)
		canon, link := req("s.test", "canonical", 1), req("s.test", "link", 1)
		h.add(page)
		o := done(h.leaseOne())
		o.Seen = []string{canon.URL}
		o.Links = []frontier.Request{canon, link}
		h.complete(o)
		h.wantStats("after the completion", frontier.Stats{Queued: 1, Done: 1, Hosts: 1, Seen: 3, Duplicates: 1})
		if got := h.drain(10); !slices.Equal(got, []string{link.URL}) {
			t.Errorf("then leased %v; want [%s]", got, link.URL)
		}
	})

	t.Run("later links to a marked URL are dropped", func(t *testing.T) {
		h := open(t, b, frontier.Options{PerHostInFlight: -1})
		a, bb := req("s.test", "a", 0), req("s.test", "b", 0)
		canon := req("s.test", "canonical", 1)
		h.add(a, bb)
		ls := byURL(h.leaseN(2))
		oa := done(ls[a.URL])
		oa.Seen = []string{canon.URL}
		h.complete(oa)
		ob := done(ls[bb.URL])
		ob.Links = []frontier.Request{canon}
		h.complete(ob)
		h.wantStats("after the completions", frontier.Stats{Done: 2, Seen: 3, Duplicates: 1})
		h.wantDrained("after the link to the marked URL")
	})

	t.Run("an expired lease's completion marks nothing", func(t *testing.T) {
		h := open(t, b, frontier.Options{LeaseTTL: leaseTTL, PerHostInFlight: 1})
		x, canon := req("x.test", "1", 0), req("x.test", "canonical", 0)
		h.add(x)
		old := h.leaseOne()
		again := h.leaseOne() // after old expired
		stale := done(old)
		stale.Seen = []string{canon.URL}
		if err := h.completeErr(stale); !errors.Is(err, frontier.ErrLeaseExpired) {
			t.Errorf("Complete(expired lease) = %v; want an error wrapping ErrLeaseExpired", err)
		}
		h.complete(done(again))
		if got := h.add(canon); got != 1 {
			t.Errorf("Add(URL marked by an expired lease's completion) added %d; want 1", got)
		}
	})
}
