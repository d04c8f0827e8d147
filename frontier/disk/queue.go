package disk

import (
	"time"

	"container/heap"
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hivecrawl/crawl/frontier"
)

// The host queues: a window in memory, the rest in the store, and for
// writes not yet applied, an overlay (see host.spill).

// emptyHead marks the head of a host whose queue is empty: the next request
// queued becomes the head.
var emptyHead = itemKey{math.MaxUint64, math.MaxUint64}

// enqueueLocked queues it on h: in the store always, in the window when it
// is among the host's first requests. fresh says that it has a new position
// (an Add or a retry), not its old one (a lease given back).
func (d *Disk) enqueueLocked(h *host, it item, fresh bool) {
	d.keyBuf = queueKey(d.keyBuf, h.prefix, it.key)
	d.valBuf = appendRequest(d.valBuf[:0], it.req)
	if fresh {
		d.pending.setFresh(d.keyBuf, d.valBuf)
	} else {
		d.pending.set(d.keyBuf, d.valBuf)
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
	if !h.inWindow(it.key) {
		d.spillLocked(h, it)
	} else if evicted, ok := h.insert(it, d.opts.WindowPerHost); ok {
		d.spillLocked(h, evicted)
	}
	d.stats.Queued++
	d.touchLocked(h)
	d.updateReadyLocked(h)
}

// spillLocked notes that it is queued on h outside the window, in the
// pending log: until that is applied, a scan of the store may miss it.
func (d *Disk) spillLocked(h *host, it item) {
	d.overlayOrd++
	h.spill = append(h.spill, overlayItem{it: it, gen: d.pendingGen, ord: d.overlayOrd})
	d.overlayLocked(h)
}

// popLocked notes that the request at k was consumed in the pending log:
// until that is applied, a scan of the store may still show it.
func (d *Disk) popLocked(h *host, k itemKey) {
	d.overlayOrd++
	h.popped = append(h.popped, overlayKey{key: k, gen: d.pendingGen, ord: d.overlayOrd})
	d.overlayLocked(h)
}

func (d *Disk) overlayLocked(h *host) {
	if !h.overlaid {
		h.overlaid = true
		d.overlaid = append(d.overlaid, h)
	}
}

// refillLocked loads the next requests of h's queue into its window: it
// scans the store forward from the last position loaded, merged with the
// host's overlay of writes not yet applied.
func (d *Disk) refillLocked(h *host) error {
	if h.complete {
		return nil
	}
	var lower []byte
	after := func(k itemKey) bool { return !k.less(h.head) }
	if h.hasHi {
		lower = append(queueKey(nil, h.prefix, h.hi), 0)
		after = func(k itemKey) bool { return h.hi.less(k) }
	} else {
		lower = queueKey(nil, h.prefix, h.head)
	}
	// Positions consumed since the last commit, with when: the store may
	// still show them, and a spilled request there counts only if it was
	// queued (again) after.
	var poppedAt map[itemKey]uint64
	if len(h.popped) > 0 {
		poppedAt = make(map[itemKey]uint64, len(h.popped))
		for _, o := range h.popped {
			poppedAt[o.key] = max(poppedAt[o.key], o.ord)
		}
	}
	var spill []item
	for _, o := range h.spill {
		if after(o.it.key) && o.ord > poppedAt[o.it.key] {
			spill = append(spill, o.it)
		}
	}
	slices.SortFunc(spill, func(a, b item) int { return compareKeys(a.key, b.key) })
	spill = slices.CompactFunc(spill, func(a, b item) bool { return a.key == b.key })
	consumed := func(k itemKey) bool {
		_, ok := poppedAt[k]
		return ok
	}

	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: queueUpper(h.prefix)})
	if err != nil {
		return err
	}
	if h.window == nil {
		h.window = make([]item, 0, d.opts.WindowPerHost)
	}
	// next returns the store's next request not consumed since.
	valid := it.First()
	var stored item
	next := func() error {
		for ; valid; valid = it.Next() {
			k, err := decodeQueueKey(it.Key())
			if err != nil {
				return err
			}
			if consumed(k) {
				continue
			}
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			r, err := decodeRequest(v)
			if err != nil {
				return err
			}
			stored = item{key: k, req: r}
			return nil
		}
		return nil
	}
	err = next()
	for err == nil && len(h.window) < d.opts.WindowPerHost && (valid || len(spill) > 0) {
		switch {
		case valid && (len(spill) == 0 || !spill[0].key.less(stored.key)):
			if len(spill) > 0 && spill[0].key == stored.key {
				spill = spill[1:] // in the store already
			}
			h.window = append(h.window, stored)
			valid = it.Next()
			err = next()
		default:
			h.window = append(h.window, spill[0])
			spill = spill[1:]
		}
	}
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if valid || len(spill) > 0 {
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

func compareKeys(a, b itemKey) int {
	switch {
	case a.less(b):
		return -1
	case b.less(a):
		return 1
	}
	return 0
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

// countPrioLocked tracks the requests outstanding (queued or leased) at
// priority p, for Strict: delta is +1 when one is added, -1 when one
// finishes. The counts go into the store with the commit.
func (d *Disk) countPrioLocked(p uint64, delta int) {
	if !d.opts.Strict {
		return
	}
	d.prios.Add(p, delta)
	d.prioDirty[p] = struct{}{}
}

// countLeasedLocked tracks the requests leased at priority p, for Strict.
func (d *Disk) countLeasedLocked(p uint64, delta int) {
	if d.opts.Strict {
		d.leasedPrios.Add(p, delta)
	}
}

// stalledLocked reports whether Strict's lowest level is stalled: none of
// its requests is leased, and each waits on its host for
// frontier.StrictStall or longer. Then the other hosts go on.
func (d *Disk) stalledLocked(now time.Time) bool {
	if !d.opts.Strict {
		return false
	}
	lowest, ok := d.prios.Min()
	if !ok || d.leasedPrios.Count(lowest) > 0 {
		return false
	}
	for _, h := range d.ready.Items {
		if len(h.window) > 0 && h.window[0].key.prio == lowest && h.readyAt.Sub(now) < frontier.StrictStall {
			return false
		}
	}
	return true
}

// heldBackLocked reports whether Strict keeps h's first request waiting for
// requests of lower priority. stalled is stalledLocked's answer.
func (d *Disk) heldBackLocked(h *host, stalled bool) bool {
	if !d.opts.Strict || stalled || len(h.window) == 0 {
		return false
	}
	lowest, _ := d.prios.Min()
	return h.window[0].key.prio > lowest
}
