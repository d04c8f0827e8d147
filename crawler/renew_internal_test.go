package crawler

import (
	"slices"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// TestRenewerDue checks which held leases the renewer renews at a given
// moment: none before the first is a third of its lease time old; then
// all those at least half as old, in one batch; none once dropped.
func TestRenewerDue(t *testing.T) {
	const ttl = 300 * time.Millisecond
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	held := func(id uint64, since time.Time) heldLease {
		return heldLease{lease: frontier.Lease{ID: id}, every: ttl / 3, since: since}
	}
	tests := []struct {
		name     string
		held     []heldLease
		at       time.Duration // after t0
		want     []uint64
		wantWait time.Duration
	}{
		{"none held", nil, 0, nil, -1},
		{"not yet due", []heldLease{held(1, t0)}, 40 * time.Millisecond, nil, 60 * time.Millisecond},
		{"due", []heldLease{held(1, t0)}, ttl / 3, []uint64{1}, 0},
		{"overdue", []heldLease{held(1, t0)}, ttl, []uint64{1}, 0},
		{"the earliest decides", []heldLease{held(1, t0.Add(30*time.Millisecond)), held(2, t0)}, 50 * time.Millisecond, nil, 50 * time.Millisecond},
		{"those half due come along", []heldLease{held(1, t0), held(2, t0.Add(40*time.Millisecond)), held(3, t0.Add(60*time.Millisecond))},
			ttl / 3, []uint64{1, 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRenewer(nil)
			for _, h := range tt.held {
				r.held[h.lease.ID] = h
			}
			batch, wait := r.due(t0.Add(tt.at), nil)
			var ids []uint64
			for _, l := range batch {
				ids = append(ids, l.ID)
			}
			slices.Sort(ids)
			if !slices.Equal(ids, tt.want) || wait != tt.wantWait {
				t.Errorf("due = %v, wait %v; want %v, wait %v", ids, wait, tt.want, tt.wantWait)
			}
		})
	}

	t.Run("dropped, renewed and expiry-less leases", func(t *testing.T) {
		r := newRenewer(nil)
		now := time.Now()
		r.hold([]frontier.Lease{{ID: 1, Expires: now.Add(time.Hour)}, {ID: 2, Expires: now.Add(time.Hour)}, {ID: 3}})
		if len(r.held) != 2 {
			t.Fatalf("holding %d leases; want 2 (a lease without an expiry is not renewed)", len(r.held))
		}
		r.drop([]frontier.Outcome{{Lease: frontier.Lease{ID: 1}}})
		later := now.Add(30 * time.Minute)
		batch, _ := r.due(later, nil)
		if len(batch) != 1 || batch[0].ID != 2 {
			t.Fatalf("due after a drop = %v; want lease 2 only", batch)
		}
		r.renewed(batch, later)
		if batch, wait := r.due(later, nil); len(batch) != 0 || wait <= 0 {
			t.Errorf("due right after the renewal = %v, wait %v; want nothing until later", batch, wait)
		}
	})
}
