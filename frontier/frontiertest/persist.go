package frontiertest

import (
	"errors"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// testPersistence checks that a persistent backend keeps its queue, seen set
// and counters across Reopen, hands out again what was leased and not
// completed, and fences leases from before the restart.
func testPersistence(t *testing.T, b Backend) {
	if b.Reopen == nil {
		t.Skip("backend does not persist (Backend.Reopen is nil)")
	}
	h := open(t, b, frontier.Options{PerHostInFlight: -1})
	p := []frontier.Request{
		req("p.test", "1", 0), req("p.test", "2", 0), req("p.test", "3", 0),
		req("q.test", "1", 0), req("q.test", "2", 0), req("q.test", "3", 0),
	}
	link := frontier.Request{URL: "http://r.test/1", Depth: 1, Parent: p[3].URL}
	h.add(p...)
	held := byURL(h.leaseN(len(p)))
	oldIDs := map[uint64]bool{}
	for _, l := range held {
		oldIDs[l.ID] = true
	}
	withLink := done(held[p[3].URL])
	withLink.Links = []frontier.Request{link}
	h.complete(
		done(held[p[0].URL]),
		failed(held[p[1].URL]),
		retry(held[p[2].URL], time.Now()),
		withLink,
	)
	// p[4] and p[5] stay leased across the restart.
	before := frontier.Stats{Queued: 2, Leased: 2, Done: 2, Failed: 1, Hosts: 3, Seen: 7}
	h.wantStats("before Reopen", before)

	h.reopen()
	// Unexpired leases are re-queued on open.
	after := frontier.Stats{Queued: 4, Done: 2, Failed: 1, Hosts: 3, Seen: 7}
	h.wantStats("after Reopen", after)
	if got := h.add(append(p, link)...); got != 0 {
		t.Errorf("Add(everything seen before Reopen) added %d; want 0", got)
	}
	after.Duplicates += int64(len(p) + 1)
	if err := h.completeErr(done(held[p[4].URL])); !errors.Is(err, frontier.ErrLeaseExpired) {
		t.Errorf("Complete(lease from before Reopen) = %v; want an error wrapping ErrLeaseExpired", err)
	}
	h.wantStats("after the stale completion", after)

	want := map[string]frontier.Request{
		p[2].URL: {URL: p[2].URL, Attempts: 1},
		p[4].URL: p[4],
		p[5].URL: p[5],
		link.URL: link,
	}
	got := h.leaseN(len(want))
	for _, l := range got {
		w, ok := want[l.Request.URL]
		switch {
		case !ok:
			t.Errorf("leased %s after Reopen; want only %d requests", l.Request.URL, len(want))
		case l.Request.Attempts < w.Attempts || l.Request.URL != w.URL || l.Request.Depth != w.Depth || l.Request.Parent != w.Parent:
			// Attempts may have grown if the backend counts re-queued
			// leases as attempts; it must not shrink.
			t.Errorf("leased %+v after Reopen; want %+v", l.Request, w)
		}
		if oldIDs[l.ID] {
			t.Errorf("lease ID %d after Reopen was already used before; IDs are unique across restarts", l.ID)
		}
		delete(want, l.Request.URL)
	}
	for u := range want {
		t.Errorf("%s was not handed out after Reopen", u)
	}
	outs := make([]frontier.Outcome, len(got))
	for i, l := range got {
		outs[i] = done(l)
	}
	h.complete(outs...)

	h.reopen()
	h.wantStats("after the second Reopen", frontier.Stats{Done: 6, Failed: 1, Seen: 7, Duplicates: int64(len(p) + 1)})
	h.wantDrained("after the second Reopen")
}
