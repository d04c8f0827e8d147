package disk

import (
	"math"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/internal/sched"
)

// The host queues: a window in memory, the rest in the store, and for
// writes not yet applied, an overlay (see host.spill).

// emptyHead marks the head of a host whose queue is empty: the next request
// queued becomes the head.
var emptyHead = itemKey{math.MaxUint64, math.MaxUint64}

var _ sched.Queue[frontier.Request] = (*host)(nil)

// Head implements sched.Queue: the window's first request is the queue's.
func (h *host) Head() (sched.Pos, bool) {
	if len(h.window) == 0 {
		return sched.Pos{}, false
	}
	return h.window[0].key.pos(), true
}

// Push implements sched.Queue, under d.mu.
func (h *host) Push(p sched.Pos, r frontier.Request, fresh bool) {
	h.d.enqueueLocked(h, item{key: keyOf(p), req: r}, fresh)
}

// Pop implements sched.Queue, under d.mu: it takes the window's first
// request, logs its removal, and refills the window from the store when it
// runs out (the error of a failed refill is the error returned).
func (h *host) Pop() (sched.Pos, frontier.Request, error) {
	d := h.d
	it := h.pop()
	d.keyBuf = queueKey(d.keyBuf, h.prefix, it.key)
	d.pending.del(d.keyBuf)
	d.popLocked(h, it.key)
	d.touchLocked(h)
	var err error
	switch {
	case len(h.window) == 0 && !h.complete:
		err = d.refillLocked(h)
	case len(h.window) == 0:
		h.head = emptyHead
	default:
		// Advance the persisted head now and then, so that a scan after
		// a restart skips at most a window's worth of tombstones.
		if h.pops++; h.pops >= d.opts.WindowPerHost {
			h.head, h.dirty, h.pops = h.window[0].key, true, 0
		}
	}
	return it.key.pos(), it.req, err
}

// enqueueLocked queues it on h: in the store always, in the window when it
// is among the host's first requests. fresh says that it has a new position
// (an Add or a retry), not its old one (a lease given back). The core
// counts it and places the host.
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
	d.touchLocked(h)
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
// host's overlay of writes not yet applied. The caller updates the host's
// place in the core (Pop's caller does).
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
