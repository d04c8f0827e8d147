package disk

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/internal/pq"
)

// Every operation runs under d.mu: it changes the in-memory state and
// logs the same changes in the pending log, which the committer applies and
// syncs (see commit.go). Add and Complete then wait for that commit.

// Add implements frontier.Frontier. It returns once the requests it added
// are durable (see the package documentation).
func (d *Disk) Add(ctx context.Context, reqs []frontier.Request) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return 0, frontier.ErrClosed
	}
	now := time.Now()
	n, err := d.addLocked(reqs, now)
	d.endOpLocked(now)
	gen := d.pendingGen
	if n > 0 {
		d.notifyLocked()
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
// one step under d.mu: the in-memory filter rules most new URLs out, and for
// the rest the marks of the batches not yet applied, then the store, decide.
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
		d.seq++
		d.seqDirty = true
		prio := encodePriority(d.opts.Scheduler.Priority(r))
		d.countPrioLocked(prio, 1)
		d.enqueueLocked(h, item{key: itemKey{prio, d.seq}, req: r}, true)
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
	h := newHost(name)
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
		if h.empty() && h.inflight == 0 {
			if h.active {
				h.active = false
				d.stats.Hosts--
			}
			if h.index >= 0 {
				heap.Remove(&d.ready, h.index)
			}
			delete(d.hosts, h.name)
			h.retiredGen = d.pendingGen
			d.recent[h.name] = h
			switch {
			case h.keepsState(now):
				h.dirty = true
			case h.persisted:
				d.pending.del(hostKey(h.name))
				h.persisted, h.dirty = false, false
			default:
				h.dirty = false
			}
		}
		if h.dirty {
			d.valBuf = appendHost(d.valBuf[:0], h.record())
			d.pending.set(hostKey(h.name), d.valBuf)
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
// not waited for: a lease lost in a crash leaves its request queued.
func (d *Disk) Lease(ctx context.Context, maxN int) ([]frontier.Lease, error) {
	if maxN <= 0 {
		maxN = 1
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return nil, frontier.ErrClosed
		}
		now := time.Now()
		d.reapLocked(now)
		out, err := d.leaseLocked(now, maxN)
		if err != nil {
			// Leases or an error, never both: the requests leased before
			// the failure go back where they were.
			d.unleaseLocked(out)
		}
		d.endOpLocked(now)
		if err != nil {
			d.mu.Unlock()
			return nil, fmt.Errorf("disk: lease: %w", err)
		}
		if len(out) > 0 {
			d.mu.Unlock()
			return out, nil
		}
		if d.stats.Queued == 0 && d.stats.Leased == 0 {
			d.mu.Unlock()
			return nil, frontier.ErrDrained
		}
		wait := time.Duration(-1)
		stalled := d.stalledLocked(now)
		for _, h := range d.ready.Items {
			if !d.heldBackLocked(h, stalled) && (wait < 0 || h.readyAt.Sub(now) < wait) {
				wait = h.readyAt.Sub(now)
			}
			if !d.opts.Strict {
				break // d.ready.Items[0] is the earliest
			}
		}
		if d.leases.Len() > 0 {
			if w := d.leases.Items[0].expires.Sub(now); wait < 0 || w < wait {
				wait = w
			}
		}
		ch := d.changed
		d.waiters++
		d.mu.Unlock()

		pq.Wait(ctx, ch, wait, &timer)
		d.mu.Lock()
		d.waiters--
		d.mu.Unlock()
	}
}

func (d *Disk) leaseLocked(now time.Time, maxN int) ([]frontier.Lease, error) {
	var out []frontier.Lease
	var held []*host // ready hosts that Strict holds back
	defer func() {
		for _, h := range held {
			heap.Push(&d.ready, h)
		}
	}()
	stalled := d.stalledLocked(now)
	for len(out) < maxN && d.ready.Len() > 0 {
		h := d.ready.Items[0]
		if h.readyAt.After(now) {
			break
		}
		if d.heldBackLocked(h, stalled) {
			held = append(held, heap.Pop(&d.ready).(*host))
			continue
		}
		id, err := d.newLeaseIDLocked()
		if err != nil {
			return out, err
		}
		it := h.pop()
		d.countLeasedLocked(it.key.prio, 1)
		d.keyBuf = queueKey(d.keyBuf, h.prefix, it.key)
		d.pending.del(d.keyBuf)
		d.popLocked(h, it.key)
		l := &lease{id: id, it: it, host: h, expires: now.Add(d.opts.LeaseTTL)}
		d.valBuf = appendLease(d.valBuf[:0], leaseRecord{expires: l.expires, key: it.key, req: it.req})
		d.pending.setFresh(leaseKey(d.keyBuf, id), d.valBuf)
		heap.Push(&d.leases, l)
		d.byID[id] = l
		h.inflight++
		d.stats.Queued--
		d.stats.Leased++
		h.lastLease = now
		if delay := max(d.opts.Scheduler.HostDelay(h.name), h.crawlDelay); delay > 0 {
			h.nextAllowed = now.Add(delay)
			h.dirty = true
		}
		d.touchLocked(h)
		switch {
		case len(h.window) == 0 && !h.complete:
			if err := d.refillLocked(h); err != nil {
				return out, err
			}
		case len(h.window) == 0:
			h.head = emptyHead
		default:
			// Advance the persisted head now and then, so that a scan after
			// a restart skips at most a window's worth of tombstones.
			if h.pops++; h.pops >= d.opts.WindowPerHost {
				h.head, h.dirty, h.pops = h.window[0].key, true, 0
			}
		}
		d.updateReadyLocked(h)
		out = append(out, frontier.Lease{ID: id, Request: it.req, Expires: l.expires})
	}
	return out, nil
}

// unleaseLocked takes back leases just handed out by leaseLocked: their
// requests go back to their old places.
func (d *Disk) unleaseLocked(out []frontier.Lease) {
	for _, rl := range out {
		l := d.byID[rl.ID]
		heap.Remove(&d.leases, l.index)
		d.releaseLocked(l)
		d.enqueueLocked(l.host, l.it, false)
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

// reapLocked returns expired leases' requests to their old places in their
// hosts' queues.
func (d *Disk) reapLocked(now time.Time) {
	for d.leases.Len() > 0 && !d.leases.Items[0].expires.After(now) {
		l := heap.Pop(&d.leases).(*lease)
		d.releaseLocked(l)
		d.enqueueLocked(l.host, l.it, false)
	}
}

// releaseLocked forgets a lease that has left the lease heap.
func (d *Disk) releaseLocked(l *lease) {
	d.countLeasedLocked(l.it.key.prio, -1)
	delete(d.byID, l.id)
	l.host.inflight--
	d.stats.Leased--
	d.touchLocked(l.host)
	d.updateReadyLocked(l.host)
	d.pending.del(leaseKey(d.keyBuf, l.id))
}

// Complete implements frontier.Frontier. It returns once the outcomes are
// durable: an acknowledged completion is never lost.
func (d *Disk) Complete(ctx context.Context, outcomes []frontier.Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return frontier.ErrClosed
	}
	now := time.Now()
	expired, err := d.completeLocked(outcomes, now)
	d.endOpLocked(now)
	gen := d.pendingGen
	d.notifyLocked()
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
	d.reapLocked(now)
	for i := range outcomes {
		o := &outcomes[i]
		l := d.byID[o.Lease.ID]
		if l == nil {
			expired = append(expired, o.Lease.ID)
			continue
		}
		heap.Remove(&d.leases, l.index)
		d.releaseLocked(l)
		h := l.host
		if o.HostDelay > 0 {
			// A Crawl-delay spaces requests from the host's last one on, and
			// only ever slows the host down.
			if o.HostDelay > h.crawlDelay {
				h.crawlDelay, h.dirty = o.HostDelay, true
			}
			if t := h.lastLease.Add(o.HostDelay); t.After(h.nextAllowed) {
				h.nextAllowed, h.dirty = t, true
			}
		}
		if o.RetryAt.After(h.notBefore) {
			h.notBefore, h.dirty = o.RetryAt, true
		}
		switch o.Status {
		case frontier.Retry:
			it := l.it
			it.req.Attempts++
			d.seq++
			d.seqDirty = true
			it.key.seq = d.seq
			d.enqueueLocked(h, it, true)
		case frontier.Release:
			d.enqueueLocked(h, l.it, false) // its original key puts it back where it was
		case frontier.Failed:
			d.stats.Failed++
			d.countPrioLocked(l.it.key.prio, -1)
		default:
			d.stats.Done++
			d.countPrioLocked(l.it.key.prio, -1)
		}
		d.updateReadyLocked(h)
		if _, err := d.addLocked(o.Links, now); err != nil {
			return expired, err
		}
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
	}
	return expired, nil
}

// notifyLocked wakes blocked Lease calls.
func (d *Disk) notifyLocked() {
	if d.waiters == 0 {
		return
	}
	close(d.changed)
	d.changed = make(chan struct{})
}

// Stats implements frontier.Frontier: the counters as of the last
// operation, which may not be durable yet.
func (d *Disk) Stats(ctx context.Context) (frontier.Stats, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return frontier.Stats{}, frontier.ErrClosed
	}
	return d.stats, nil
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
	if d.closed {
		return frontier.ErrClosed
	}
	now := time.Now()
	d.reapLocked(now)
	var expired []uint64
	for _, rl := range leases {
		l := d.byID[rl.ID]
		if l == nil {
			expired = append(expired, rl.ID)
			continue
		}
		l.expires = now.Add(d.opts.LeaseTTL)
		heap.Fix(&d.leases, l.index)
		d.valBuf = appendLease(d.valBuf[:0], leaseRecord{expires: l.expires, key: l.it.key, req: l.it.req})
		d.pending.set(leaseKey(d.keyBuf, l.id), d.valBuf)
	}
	d.endOpLocked(now)
	d.notifyLocked() // the reaping may have queued requests again
	if len(expired) > 0 {
		return fmt.Errorf("disk: renew %d of %d leases (first lease %d): %w",
			len(expired), len(leases), expired[0], frontier.ErrLeaseExpired)
	}
	return nil
}
