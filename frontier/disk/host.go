package disk

import (
	"slices"
	"time"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/internal/sched"
)

// item is a queued request with its position in its host's queue.
type item struct {
	key itemKey
	req frontier.Request
}

// host is the in-memory state of a host with queued or leased requests
// (and, during one operation, of a host that just became idle).
//
// Its queue lives in the store; window holds its first requests in order.
// The invariant: window is exactly the host's queued requests at positions
// up to hi (all of them when complete). Everything else queued sits in the
// store past hi, so refilling scans forward from hi and never meets the
// tombstones of requests already consumed, which all lie at or before hi.
//
// The embedded sched.Host is its scheduling state (in-flight count,
// politeness, place in the ready heap); host itself is its sched.Queue.
type host struct {
	sched.Host[frontier.Request]
	d      *Disk
	prefix []byte // queuePrefix(Name)

	window   []item
	hi       itemKey
	hasHi    bool // false until the first refill after Open
	complete bool // the window holds the whole queue
	head     itemKey
	pops     int // requests popped since head was last persisted

	// active: the host has queued or leased requests and counts in
	// Stats.Hosts; its record says so.
	active bool

	persisted bool // the store holds a record for the host
	dirty     bool // the record must be rewritten
	touched   bool // in Disk.touched

	// The overlay: writes to the host's queue range in batches not yet
	// applied, which a scan of the store cannot see. spill holds requests
	// queued outside the window; popped the positions consumed. Where both
	// hold a position, the later entry (by ord) tells its state.
	spill      []overlayItem
	popped     []overlayKey
	overlaid   bool   // in Disk.overlaid
	retiredGen uint64 // the batch that retired the host, while in Disk.recent
}

type overlayItem struct {
	it       item
	gen, ord uint64
}

type overlayKey struct {
	key      itemKey
	gen, ord uint64
}

// dropOverlay forgets the overlay entries of batches up to gen.
func (h *host) dropOverlay(gen uint64) {
	spill := h.spill[:0]
	for _, o := range h.spill {
		if o.gen > gen {
			spill = append(spill, o)
		}
	}
	clear(h.spill[len(spill):])
	h.spill = spill
	popped := h.popped[:0]
	for _, o := range h.popped {
		if o.gen > gen {
			popped = append(popped, o)
		}
	}
	h.popped = popped
}

func newHost(d *Disk, name string) *host {
	h := &host{d: d, prefix: queuePrefix(name), complete: true}
	h.Init(name, h)
	return h
}

// hostOf returns the disk host of a core host.
func hostOf(h *sched.Host[frontier.Request]) *host { return h.Queue.(*host) }

func (h *host) record() hostRecord {
	return hostRecord{
		active:      h.active,
		notBefore:   h.NotBefore,
		nextAllowed: h.NextAllowed,
		crawlDelay:  h.CrawlDelay,
		head:        h.head,
	}
}

func (h *host) load(r hostRecord) {
	h.active = r.active
	h.NotBefore, h.NextAllowed, h.CrawlDelay = r.notBefore, r.nextAllowed, r.crawlDelay
	h.head = r.head
	h.persisted = true
}

// empty reports whether nothing of the host is queued.
func (h *host) empty() bool { return len(h.window) == 0 && h.complete }

// keepsState reports whether an idle host's record is worth keeping.
func (h *host) keepsState(now time.Time) bool {
	return h.CrawlDelay > 0 || h.NotBefore.After(now) || h.NextAllowed.After(now)
}

// inWindow reports whether a request at k belongs in the window.
func (h *host) inWindow(k itemKey) bool {
	return h.complete || (h.hasHi && !h.hi.less(k))
}

// insert puts it into the window in order and evicts the last request
// beyond limit, which it returns; evicted requests stay in the store only.
func (h *host) insert(it item, limit int) (evicted item, ok bool) {
	i, _ := slices.BinarySearchFunc(h.window, it.key, func(x item, k itemKey) int {
		switch {
		case x.key.less(k):
			return -1
		case k.less(x.key):
			return 1
		}
		return 0
	})
	h.window = slices.Insert(h.window, i, it)
	if n := len(h.window); n > limit {
		evicted = h.window[n-1]
		h.window[n-1] = item{}
		h.window = h.window[:n-1]
		h.hi = h.window[n-2].key
		h.hasHi = true
		h.complete = false
		return evicted, true
	}
	return item{}, false
}

// pop removes and returns the window's first request.
func (h *host) pop() item {
	it := h.window[0]
	h.window[0] = item{}
	h.window = h.window[1:]
	return it
}
