package disk

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hivecrawl/crawl/frontier"
)

// Every operation runs under d.mu: it changes the in-memory state and
// writes the same changes into d.batch, which endOpLocked applies to the
// store as one batch (unsynced: the committer syncs). Add and Complete then
// wait for the sync. A batch boundary is always a consistent state: every
// request in exactly one place, the counters matching.

// emptyHead marks the head of a host whose queue is empty: the next request
// queued becomes the head.
var emptyHead = itemKey{math.MaxUint64, math.MaxUint64}

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
	err = errors.Join(err, d.endOpLocked(now))
	gen := d.written
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
	return n, d.waitDurable(gen)
}

// addLocked queues the requests not seen before. The seen check and mark are
// one step under d.mu: the in-memory filter rules most new URLs out, a
// lookup in the store settles the rest, and marks not yet applied to the
// store are in d.opSeen.
func (d *Disk) addLocked(reqs []frontier.Request, now time.Time) (int, error) {
	added := 0
	for _, r := range reqs {
		fp := frontier.Fingerprint(r.URL)
		if d.seen.mayContain(fp) {
			if _, ok := d.opSeen[fp]; ok {
				continue
			}
			found, err := d.hasLocked(seenKey(d.keyBuf, fp))
			if err != nil {
				return added, err
			}
			if found {
				continue
			}
		}
		h, err := d.hostLocked(frontier.HostOf(r.URL), now)
		if err != nil {
			return added, err
		}
		d.seen.add(fp)
		d.opSeen[fp] = struct{}{}
		d.keyBuf = seenKey(d.keyBuf, fp)
		if err := d.batch.Set(d.keyBuf, nil, nil); err != nil {
			return added, err
		}
		d.stats.Seen++
		d.seq++
		d.seqDirty = true
		if err := d.enqueueLocked(h, item{key: itemKey{encodePriority(d.opts.Scheduler.Priority(r)), d.seq}, req: r}); err != nil {
			return added, err
		}
		added++
	}
	return added, nil
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

// enqueueLocked queues it on h: in the store always, in the window when it
// is among the host's first requests.
func (d *Disk) enqueueLocked(h *host, it item) error {
	d.keyBuf = queueKey(d.keyBuf, h.prefix, it.key)
	d.valBuf = appendRequest(d.valBuf[:0], it.req)
	if err := d.batch.Set(d.keyBuf, d.valBuf, nil); err != nil {
		return err
	}
	if !h.active {
		// An idle host's queue is empty: the window holds all of it.
		h.active = true
		h.complete = true
		h.head = it.key
		h.dirty = true
		d.stats.Hosts++
	} else if it.key.less(h.head) {
		h.head = it.key
		h.dirty = true
	}
	if h.inWindow(it.key) {
		h.insert(it, d.opts.WindowPerHost)
	}
	d.stats.Queued++
	d.touchLocked(h)
	d.updateReadyLocked(h)
	return nil
}

// refillLocked loads the next requests of h's queue from the store into its
// window, scanning forward from the last position loaded.
func (d *Disk) refillLocked(h *host) error {
	if h.complete {
		return nil
	}
	// The scan must see this operation's writes.
	if err := d.flushLocked(); err != nil {
		return err
	}
	var lower []byte
	if h.hasHi {
		lower = append(queueKey(nil, h.prefix, h.hi), 0)
	} else {
		lower = queueKey(nil, h.prefix, h.head)
	}
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: queueUpper(h.prefix)})
	if err != nil {
		return err
	}
	if h.window == nil {
		h.window = make([]item, 0, d.opts.WindowPerHost)
	}
	valid := it.First()
	for ; valid && len(h.window) < d.opts.WindowPerHost; valid = it.Next() {
		k, err := decodeQueueKey(it.Key())
		if err != nil {
			it.Close()
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		r, err := decodeRequest(v)
		if err != nil {
			it.Close()
			return err
		}
		h.window = append(h.window, item{key: k, req: r})
	}
	if err := it.Close(); err != nil {
		return err
	}
	if valid {
		h.hi, h.hasHi = h.window[len(h.window)-1].key, true
	} else {
		h.complete = true
	}
	if len(h.window) > 0 {
		h.head = h.window[0].key
		h.dirty = true
		h.pops = 0
	} else {
		h.head = emptyHead
	}
	d.touchLocked(h)
	d.updateReadyLocked(h)
	return nil
}

// touchLocked notes that h changed in this operation.
func (d *Disk) touchLocked(h *host) {
	if !h.touched {
		h.touched = true
		d.touched = append(d.touched, h)
	}
}

// updateReadyLocked puts h in, moves it within, or removes it from the
// ready heap after its queue, in-flight count or timing changed.
func (d *Disk) updateReadyLocked(h *host) {
	capN := d.opts.PerHostInFlight
	if len(h.window) == 0 || (capN >= 0 && h.inflight >= capN) {
		if h.index >= 0 {
			heap.Remove(&d.ready, h.index)
		}
		return
	}
	h.readyAt = h.notBefore
	if h.nextAllowed.After(h.readyAt) {
		h.readyAt = h.nextAllowed
	}
	if h.index >= 0 {
		heap.Fix(&d.ready, h.index)
	} else {
		heap.Push(&d.ready, h)
	}
}

// endOpLocked retires the hosts the operation left idle, writes the changed
// host records and applies the operation's batch.
func (d *Disk) endOpLocked(now time.Time) error {
	for _, h := range d.touched {
		if !h.empty() || h.inflight > 0 {
			continue
		}
		if h.active {
			h.active = false
			d.stats.Hosts--
		}
		if h.index >= 0 {
			heap.Remove(&d.ready, h.index)
		}
		delete(d.hosts, h.name)
		switch {
		case h.keepsState(now):
			h.dirty = true
		case h.persisted:
			if err := d.batch.Delete(hostKey(h.name), nil); err != nil {
				return err
			}
			h.persisted, h.dirty = false, false
		default:
			h.dirty = false
		}
	}
	err := d.flushLocked()
	for _, h := range d.touched {
		h.touched = false
	}
	d.touched = d.touched[:0]
	if len(d.opSeen) > 4096 {
		d.opSeen = make(map[uint64]struct{})
	} else {
		clear(d.opSeen)
	}
	return err
}

// flushLocked writes the changed host records and the counters into the
// batch and applies it to the store, unsynced.
func (d *Disk) flushLocked() error {
	for _, h := range d.touched {
		if !h.dirty {
			continue
		}
		d.valBuf = appendHost(d.valBuf[:0], h.record())
		if err := d.batch.Set(hostKey(h.name), d.valBuf, nil); err != nil {
			return err
		}
		h.dirty, h.persisted = false, true
	}
	if d.batch.Empty() {
		return nil
	}
	d.valBuf = appendStats(d.valBuf[:0], d.stats)
	if err := d.batch.Set(keyStats, d.valBuf, nil); err != nil {
		return err
	}
	if d.seqDirty {
		if err := d.batch.Set(keySeq, binary.AppendUvarint(d.valBuf[:0], d.seq), nil); err != nil {
			return err
		}
		d.seqDirty = false
	}
	if d.idDirty {
		if err := d.batch.Set(keyLeaseID, binary.AppendUvarint(d.valBuf[:0], d.idLimit), nil); err != nil {
			return err
		}
		d.idDirty = false
	}
	err := d.db.Apply(d.batch, pebble.NoSync)
	d.batch.Reset()
	if err != nil {
		return err
	}
	d.written++
	select {
	case d.kick <- struct{}{}:
	default:
	}
	return nil
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
		err := d.reapLocked(now)
		var out []frontier.Lease
		if err == nil {
			out, err = d.leaseLocked(now, maxN)
		}
		err = errors.Join(err, d.endOpLocked(now))
		if err != nil {
			d.mu.Unlock()
			return out, fmt.Errorf("disk: lease: %w", err)
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
		if d.ready.Len() > 0 {
			wait = d.ready[0].readyAt.Sub(now)
		}
		if d.leases.Len() > 0 {
			if w := d.leases[0].expires.Sub(now); wait < 0 || w < wait {
				wait = w
			}
		}
		ch := d.changed
		d.waiters++
		d.mu.Unlock()

		var tc <-chan time.Time
		if wait >= 0 {
			wait = max(wait, time.Millisecond)
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tc = timer.C
		}
		select {
		case <-ctx.Done():
		case <-ch:
		case <-tc:
		}
		d.mu.Lock()
		d.waiters--
		d.mu.Unlock()
	}
}

func (d *Disk) leaseLocked(now time.Time, maxN int) ([]frontier.Lease, error) {
	var out []frontier.Lease
	for len(out) < maxN && d.ready.Len() > 0 {
		h := d.ready[0]
		if h.readyAt.After(now) {
			break
		}
		id, err := d.newLeaseIDLocked()
		if err != nil {
			return out, err
		}
		it := h.pop()
		d.keyBuf = queueKey(d.keyBuf, h.prefix, it.key)
		if err := d.batch.Delete(d.keyBuf, nil); err != nil {
			return out, err
		}
		l := &lease{id: id, it: it, host: h, expires: now.Add(d.opts.LeaseTTL)}
		d.valBuf = appendLease(d.valBuf[:0], leaseRecord{expires: l.expires, key: it.key, req: it.req})
		if err := d.batch.Set(leaseKey(d.keyBuf, id), d.valBuf, nil); err != nil {
			return out, err
		}
		heap.Push(&d.leases, l)
		d.byID[id] = l
		h.inflight++
		d.stats.Queued--
		d.stats.Leased++
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

// newLeaseIDLocked returns the next lease ID, first reserving (and syncing)
// another block of IDs when the reserved ones are used up, so that no ID is
// handed out twice across restarts.
func (d *Disk) newLeaseIDLocked() (uint64, error) {
	if d.nextID >= d.idLimit {
		limit := d.idLimit + leaseIDBlock
		if err := d.db.Set(keyLeaseID, binary.AppendUvarint(nil, limit), pebble.Sync); err != nil {
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
func (d *Disk) reapLocked(now time.Time) error {
	for d.leases.Len() > 0 && !d.leases[0].expires.After(now) {
		l := heap.Pop(&d.leases).(*lease)
		if err := d.releaseLocked(l); err != nil {
			return err
		}
		if err := d.enqueueLocked(l.host, l.it); err != nil {
			return err
		}
	}
	return nil
}

// releaseLocked forgets a lease that has left the lease heap.
func (d *Disk) releaseLocked(l *lease) error {
	delete(d.byID, l.id)
	l.host.inflight--
	d.stats.Leased--
	d.touchLocked(l.host)
	d.updateReadyLocked(l.host)
	return d.batch.Delete(leaseKey(d.keyBuf, l.id), nil)
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
	err = errors.Join(err, d.endOpLocked(now))
	gen := d.written
	d.notifyLocked()
	d.mu.Unlock()
	if err != nil {
		return fmt.Errorf("disk: complete: %w", err)
	}
	if len(expired) < len(outcomes) {
		if err := d.waitDurable(gen); err != nil {
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
	if err := d.reapLocked(now); err != nil {
		return nil, err
	}
	for i := range outcomes {
		o := &outcomes[i]
		l := d.byID[o.Lease.ID]
		if l == nil {
			expired = append(expired, o.Lease.ID)
			continue
		}
		heap.Remove(&d.leases, l.index)
		if err := d.releaseLocked(l); err != nil {
			return expired, err
		}
		h := l.host
		if o.HostDelay > 0 {
			// A Crawl-delay holds from now on, and only ever slows the host.
			if o.HostDelay > h.crawlDelay {
				h.crawlDelay, h.dirty = o.HostDelay, true
			}
			if t := now.Add(o.HostDelay); t.After(h.nextAllowed) {
				h.nextAllowed, h.dirty = t, true
			}
		}
		switch o.Status {
		case frontier.Retry:
			it := l.it
			it.req.Attempts++
			d.seq++
			d.seqDirty = true
			it.key.seq = d.seq
			if o.RetryAt.After(h.notBefore) {
				h.notBefore, h.dirty = o.RetryAt, true
			}
			if err := d.enqueueLocked(h, it); err != nil {
				return expired, err
			}
		case frontier.Failed:
			d.stats.Failed++
		default:
			d.stats.Done++
		}
		d.updateReadyLocked(h)
		if _, err := d.addLocked(o.Links, now); err != nil {
			return expired, err
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
