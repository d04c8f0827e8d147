package disk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/internal/sched"
)

// Every operation runs under d.mu: it changes the in-memory state and
// logs the same changes in the pending log, which the committer applies and
// syncs (see commit.go). Add and Complete then wait for that commit. The
// scheduling (ready hosts, leases, politeness, Strict) is the shared core's
// (frontier/internal/sched); its hooks below log what it changes.

// Add implements frontier.Frontier. It returns once the requests it added
// are durable (see the package documentation), or when ctx ends first.
func (d *Disk) Add(ctx context.Context, reqs []frontier.Request) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	d.mu.Lock()
	if d.core.Closed() {
		d.mu.Unlock()
		return 0, frontier.ErrClosed
	}
	now := time.Now()
	n, err := d.addLocked(reqs, now)
	d.endOpLocked(now)
	gen := d.pendingGen
	if n > 0 {
		d.core.Notify()
	}
	d.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("disk: add: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	return n, d.waitDurable(ctx, gen)
}

// addLocked queues the requests not seen before. The seen check and mark are
// one step under d.mu.
func (d *Disk) addLocked(reqs []frontier.Request, now time.Time) (int, error) {
	added := 0
	for _, r := range reqs {
		fp := frontier.Fingerprint(r.URL)
		if seen, err := d.seenLocked(fp); err != nil {
			return added, err
		} else if seen {
			d.stats.Duplicates++
			continue
		}
		h, err := d.hostLocked(frontier.HostOf(r.URL), now)
		if err != nil {
			return added, err
		}
		d.markSeenLocked(fp)
		d.core.Add(&h.Host, sched.EncodePriority(d.opts.Scheduler.Priority(r)), r)
		added++
	}
	return added, nil
}

// seenLocked reports whether fp is in the seen set: the in-memory filter
// rules most new fingerprints out; for the rest the marks of the batches
// not yet applied, then the store, decide.
func (d *Disk) seenLocked(fp uint64) (bool, error) {
	if !d.seen.mayContain(fp) {
		return false, nil
	}
	if _, ok := d.pendingFP[fp]; ok {
		return true, nil
	}
	if _, ok := d.flightFP[fp]; ok {
		return true, nil
	}
	return d.hasLocked(seenKey(d.keyBuf, fp))
}

// markSeenLocked adds fp, which seenLocked reported absent, to the seen set.
func (d *Disk) markSeenLocked(fp uint64) {
	d.seen.add(fp)
	d.pendingFP[fp] = struct{}{}
	d.keyBuf = seenKey(d.keyBuf, fp)
	d.pending.set(d.keyBuf, nil)
	d.stats.Seen++
}

func (d *Disk) hasLocked(key []byte) (bool, error) {
	_, closer, err := d.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

// hostLocked returns the state of host name, loading what the store keeps
// of an idle host.
func (d *Disk) hostLocked(name string, now time.Time) (*host, error) {
	if h := d.hosts[name]; h != nil {
		return h, nil
	}
	if h := d.recent[name]; h != nil {
		// Retired in a batch not yet applied: the store is behind.
		delete(d.recent, name)
		d.hosts[name] = h
		d.touchLocked(h)
		return h, nil
	}
	h := newHost(d, name)
	v, closer, err := d.db.Get(hostKey(name))
	switch {
	case err == nil:
		r, derr := decodeHost(v)
		closer.Close()
		if derr != nil {
			return nil, fmt.Errorf("host %q: %w", name, derr)
		}
		if r.active {
			return nil, fmt.Errorf("host %q is active on disk but not in memory: %w", name, errCorrupt)
		}
		h.load(r)
	case !errors.Is(err, pebble.ErrNotFound):
		return nil, err
	}
	d.hosts[name] = h
	d.touchLocked(h)
	return h, nil
}

// touchLocked notes that h changed in this operation.
func (d *Disk) touchLocked(h *host) {
	if !h.touched {
		h.touched = true
		d.touched = append(d.touched, h)
	}
}

// endOpLocked retires the hosts the operation left idle and writes the
// changed host records into the pending log.
func (d *Disk) endOpLocked(now time.Time) {
	for _, h := range d.touched {
		h.touched = false
		if h.empty() && h.InFlight() == 0 {
			if h.active {
				h.active = false
				d.stats.Hosts--
			}
			d.core.Forget(&h.Host)
			delete(d.hosts, h.Name)
			h.retiredGen = d.pendingGen
			d.recent[h.Name] = h
			switch {
			case h.keepsState(now):
				h.dirty = true
			case h.persisted:
				d.pending.del(hostKey(h.Name))
				h.persisted, h.dirty = false, false
			default:
				h.dirty = false
			}
		}
		if h.dirty {
			d.valBuf = appendHost(d.valBuf[:0], h.record())
			d.pending.set(hostKey(h.Name), d.valBuf)
			h.dirty, h.persisted = false, true
		}
	}
	clear(d.touched)
	d.touched = d.touched[:0]
	if !d.pending.empty() {
		d.kickLocked()
	}
}

// Lease implements frontier.Frontier. Leases are recorded in the store but
// not waited for: a lease lost in a crash leaves its request queued. It
// returns leases or an error, never both: when the store fails in the
// middle of a call, the requests it had leased go back where they were.
func (d *Disk) Lease(ctx context.Context, maxN int) ([]frontier.Lease, error) {
	return d.core.Lease(ctx, maxN)
}

// coreConfig returns the configuration of d's scheduling core: the
// frontier's options, and hooks that log what the core changes.
func (d *Disk) coreConfig() sched.Config[frontier.Request, frontier.Lease] {
	o := d.opts
	return sched.Config[frontier.Request, frontier.Lease]{
		Mu:              &d.mu,
		PerHostInFlight: o.PerHostInFlight,
		LeaseTTL:        o.LeaseTTL,
		Strict:          o.Strict,
		StrictStall:     frontier.StrictStall,
		HostDelay:       o.Scheduler.HostDelay,
		NewLease: func(l *sched.Lease[frontier.Request]) frontier.Lease {
			return frontier.Lease{ID: l.ID, Request: l.Req, Expires: l.Expires}
		},
		Retried: func(r frontier.Request) frontier.Request {
			r.Attempts++
			return r
		},
		Drained: frontier.ErrDrained,
		Closed:  frontier.ErrClosed,
		NewLeaseID: func() (uint64, error) {
			id, err := d.newLeaseIDLocked()
			if err != nil {
				return 0, fmt.Errorf("disk: lease: %w", err)
			}
			return id, nil
		},
		Leased:  func(l *sched.Lease[frontier.Request]) { d.logLeaseLocked(l, true) },
		Renewed: func(l *sched.Lease[frontier.Request]) { d.logLeaseLocked(l, false) },
		Unleased: func(l *sched.Lease[frontier.Request]) {
			d.touchLocked(hostOf(l.Host))
			d.pending.del(leaseKey(d.keyBuf, l.ID))
		},
		HostChanged: func(h *sched.Host[frontier.Request]) {
			dh := hostOf(h)
			dh.dirty = true
			d.touchLocked(dh)
		},
		PrioChanged: func(p uint64) { d.prioDirty[p] = struct{}{} },
		EndOp:       d.endOpLocked,
	}
}

// logLeaseLocked logs the record of a lease handed out (fresh: a key the
// store does not hold) or renewed: its expiry, and enough to put its
// request back where it was.
func (d *Disk) logLeaseLocked(l *sched.Lease[frontier.Request], fresh bool) {
	d.valBuf = appendLease(d.valBuf[:0], leaseRecord{expires: l.Expires, key: keyOf(l.Pos), req: l.Req})
	d.keyBuf = leaseKey(d.keyBuf, l.ID)
	if fresh {
		d.pending.setFresh(d.keyBuf, d.valBuf)
	} else {
		d.pending.set(d.keyBuf, d.valBuf)
	}
}

// newLeaseIDLocked returns the next lease ID, first reserving (and syncing)
// another block of IDs when the reserved ones are used up, so that no ID is
// handed out twice across restarts.
func (d *Disk) newLeaseIDLocked() (uint64, error) {
	if d.nextID >= d.idLimit {
		limit := d.idLimit + leaseIDBlock
		if err := d.reserveIDs(limit); err != nil {
			return 0, err
		}
		d.idLimit = limit
	}
	id := d.nextID
	d.nextID++
	return id, nil
}

// Complete implements frontier.Frontier. It returns once the outcomes are
// durable (an acknowledged completion is never lost), or when ctx ends
// first: then the outcomes are applied but may be lost in a crash, and
// their leases expire again.
func (d *Disk) Complete(ctx context.Context, outcomes []frontier.Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	if d.core.Closed() {
		d.mu.Unlock()
		return frontier.ErrClosed
	}
	now := time.Now()
	expired, err := d.completeLocked(outcomes, now)
	d.endOpLocked(now)
	gen := d.pendingGen
	d.core.Notify()
	d.mu.Unlock()
	if err != nil {
		return fmt.Errorf("disk: complete: %w", err)
	}
	if len(expired) < len(outcomes) {
		if err := d.waitDurable(ctx, gen); err != nil {
			return err
		}
	}
	if len(expired) > 0 {
		return fmt.Errorf("disk: complete %d of %d outcomes (first lease %d): %w",
			len(expired), len(outcomes), expired[0], frontier.ErrLeaseExpired)
	}
	return nil
}

func (d *Disk) completeLocked(outcomes []frontier.Outcome, now time.Time) (expired []uint64, err error) {
	d.core.Reap(now)
	for i := range outcomes {
		o := &outcomes[i]
		h := d.core.Complete(o.Lease.ID, sched.Outcome{Status: sched.Status(o.Status), RetryAt: o.RetryAt, HostDelay: o.HostDelay})
		if h == nil {
			expired = append(expired, o.Lease.ID)
			continue
		}
		// Seen first: the page's canonical URL, fetched now, is no new link.
		for _, u := range o.Seen {
			fp := frontier.Fingerprint(u)
			seen, err := d.seenLocked(fp)
			if err != nil {
				return expired, err
			}
			if !seen {
				d.markSeenLocked(fp)
			}
		}
		if _, err := d.addLocked(o.Links, now); err != nil {
			return expired, err
		}
	}
	return expired, nil
}

// Stats implements frontier.Frontier: the counters as of the last
// operation, which may not be durable yet.
func (d *Disk) Stats(ctx context.Context) (frontier.Stats, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.core.Closed() {
		return frontier.Stats{}, frontier.ErrClosed
	}
	return d.statsLocked(), nil
}

// statsLocked returns the counters: the core's and d.stats's.
func (d *Disk) statsLocked() frontier.Stats {
	s, c := d.stats, d.core.Counts
	s.Queued, s.Leased, s.Done, s.Failed = c.Queued, c.Leased, c.Done, c.Failed
	return s
}

// Renew implements frontier.Frontier: each lease still held expires a full
// LeaseTTL from now. Like Lease it does not wait for the commit: the new
// expiry reaches the store with the next one, and a crash queues every
// leased request again whatever its expiry (see the package documentation).
func (d *Disk) Renew(ctx context.Context, leases []frontier.Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.core.Closed() {
		return frontier.ErrClosed
	}
	now := time.Now()
	expired, first := d.core.RenewAll(len(leases), func(i int) uint64 { return leases[i].ID }, now)
	d.endOpLocked(now)
	d.core.Notify() // the reaping may have queued requests again
	if expired > 0 {
		return fmt.Errorf("disk: renew %d of %d leases (first lease %d): %w",
			expired, len(leases), first, frontier.ErrLeaseExpired)
	}
	return nil
}
