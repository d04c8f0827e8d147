package frontier

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hivecrawl/crawl/frontier/internal/pq"
)

// Memory is the in-memory backend: per-host queues ordered by the
// scheduler's priority, a min-heap of ready hosts by next-allowed time, a
// lease table with an expiry heap, and a seen set of fingerprints. It is safe
// for concurrent use. Nothing survives the process.
type Memory struct {
	opts Options

	mu      sync.Mutex
	seen    seenSet
	hosts   map[string]*hostState
	ready   pq.Indexed[*hostState] // hosts with queued requests and room under their cap, by next-allowed time
	leases  pq.Indexed[*lease]     // outstanding leases by expiry
	byID    map[uint64]*lease
	nextID  uint64
	seq     uint64
	stats   Stats
	closed  bool
	waiters int
	changed chan struct{} // closed and replaced when waiters may proceed
	// prios counts queued and leased requests by priority, for Strict;
	// leasedPrios the leased ones alone.
	prios, leasedPrios pq.Levels[float64]
}

var _ Frontier = (*Memory)(nil)

// item is a queued request with its ordering keys.
type item struct {
	req  Request
	prio float64
	seq  uint64
}

type lease struct {
	id      uint64
	it      item
	host    *hostState
	expires time.Time
	index   int // in Memory.leases
}

// hostState is the politeness state of one host.
type hostState struct {
	name     string
	queue    itemHeap
	inflight int
	// limiter spaces leases by the scheduler's host delay (or the host's
	// Crawl-delay, whichever is longer); nil when there is no delay.
	limiter    *rate.Limiter
	delay      time.Duration
	crawlDelay time.Duration
	// notBefore holds the host back after Retry-After or server errors.
	notBefore time.Time
	lastLease time.Time // when the host was last leased
	readyAt   time.Time // cached next-allowed time, the ready heap's key
	index     int       // in Memory.ready; -1 when absent
}

// NewMemory returns an empty in-memory frontier.
func NewMemory(opts Options) *Memory {
	return &Memory{
		opts:    opts.WithDefaults(),
		hosts:   make(map[string]*hostState),
		byID:    make(map[uint64]*lease),
		changed: make(chan struct{}),
		ready: pq.Indexed[*hostState]{
			LessFn:   func(a, b *hostState) bool { return a.readyAt.Before(b.readyAt) },
			SetIndex: func(h *hostState, i int) { h.index = i },
		},
		leases: pq.Indexed[*lease]{
			LessFn:   func(a, b *lease) bool { return a.expires.Before(b.expires) },
			SetIndex: func(l *lease, i int) { l.index = i },
		},
	}
}

// countPrioLocked tracks the requests outstanding at priority p (delta +1
// when one is added, -1 when one finishes), for Strict.
func (m *Memory) countPrioLocked(p float64, delta int) {
	if !m.opts.Strict {
		return
	}
	m.prios.Add(p, delta)
}

// countLeasedLocked tracks the requests leased at priority p, for Strict.
func (m *Memory) countLeasedLocked(p float64, delta int) {
	if m.opts.Strict {
		m.leasedPrios.Add(p, delta)
	}
}

// heldBackLocked reports whether Strict keeps h's head request waiting for
// requests of lower priority. stalled is stalledLocked's answer.
func (m *Memory) heldBackLocked(h *hostState, stalled bool) bool {
	if !m.opts.Strict || stalled {
		return false
	}
	lowest, _ := m.prios.Min()
	return h.queue[0].prio > lowest
}

// stalledLocked reports whether Strict's lowest level is stalled: none of
// its requests is leased, and each waits on its host for StrictStall or
// longer (Retry-After, a Crawl-delay, a backoff). Then the other hosts go
// on instead of idling behind a host that asked for time.
func (m *Memory) stalledLocked(now time.Time) bool {
	if !m.opts.Strict {
		return false
	}
	lowest, ok := m.prios.Min()
	if !ok || m.leasedPrios.Count(lowest) > 0 {
		return false
	}
	for _, h := range m.ready.Items {
		if h.queue[0].prio == lowest && h.readyAt.Sub(now) < StrictStall {
			return false
		}
	}
	return true
}

// Add implements Frontier.
func (m *Memory) Add(ctx context.Context, reqs []Request) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	n := m.addLocked(reqs, time.Now())
	if n > 0 {
		m.notifyLocked()
	}
	return n, nil
}

func (m *Memory) addLocked(reqs []Request, now time.Time) int {
	added := 0
	for _, r := range reqs {
		if !m.seen.add(Fingerprint(r.URL)) {
			m.stats.Duplicates++
			continue
		}
		m.stats.Seen++
		m.seq++
		prio := m.opts.Scheduler.Priority(r)
		m.countPrioLocked(prio, 1)
		m.enqueueLocked(item{req: r, prio: prio, seq: m.seq}, now)
		added++
	}
	return added
}

func (m *Memory) enqueueLocked(it item, now time.Time) {
	name := HostOf(it.req.URL)
	h := m.hosts[name]
	if h == nil {
		h = &hostState{name: name, index: -1}
		m.hosts[name] = h
	}
	if h.queue.Len() == 0 && h.inflight == 0 {
		m.stats.Hosts++
	}
	h.queue.push(it)
	m.stats.Queued++
	m.updateReadyLocked(h, now)
}

// updateReadyLocked puts h in, moves it within, or removes it from the
// ready heap after its queue, in-flight count or timing changed.
func (m *Memory) updateReadyLocked(h *hostState, now time.Time) {
	eligible := h.queue.Len() > 0 && (m.opts.PerHostInFlight < 0 || h.inflight < m.opts.PerHostInFlight)
	if !eligible {
		if h.index >= 0 {
			heap.Remove(&m.ready, h.index)
		}
		return
	}
	h.readyAt = h.notBefore
	if h.limiter != nil {
		if tokens := h.limiter.TokensAt(now); tokens < 1 {
			wait := time.Duration((1 - tokens) / float64(h.limiter.Limit()) * float64(time.Second))
			if t := now.Add(wait); t.After(h.readyAt) {
				h.readyAt = t
			}
		}
	}
	if h.index >= 0 {
		heap.Fix(&m.ready, h.index)
	} else {
		heap.Push(&m.ready, h)
	}
}

// setDelayLocked makes h's limiter space requests by the longer of the
// scheduler's delay and the host's Crawl-delay.
func (m *Memory) setDelayLocked(h *hostState, now time.Time) {
	d := max(m.opts.Scheduler.HostDelay(h.name), h.crawlDelay)
	if d == h.delay {
		return
	}
	h.delay = d
	if d <= 0 {
		h.limiter = nil
		return
	}
	// A new limiter starts with its token spent at the host's last lease,
	// so a longer delay (a Crawl-delay just learned) counts from that lease
	// rather than granting one request at once or keeping tokens earned at
	// the old rate.
	h.limiter = rate.NewLimiter(rate.Every(d), 1)
	h.limiter.AllowN(h.lastLease, 1)
}

// Lease implements Frontier.
func (m *Memory) Lease(ctx context.Context, maxN int) ([]Lease, error) {
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
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		now := time.Now()
		m.reapLocked(now)
		out := m.leaseLocked(now, maxN)
		if len(out) > 0 {
			m.mu.Unlock()
			return out, nil
		}
		if m.stats.Queued == 0 && m.stats.Leased == 0 {
			m.mu.Unlock()
			return nil, ErrDrained
		}
		wait := time.Duration(-1)
		stalled := m.stalledLocked(now)
		for _, h := range m.ready.Items {
			if !m.heldBackLocked(h, stalled) && (wait < 0 || h.readyAt.Sub(now) < wait) {
				wait = h.readyAt.Sub(now)
			}
			if !m.opts.Strict {
				break // m.ready.Items[0] is the earliest
			}
		}
		if m.leases.Len() > 0 {
			if w := m.leases.Items[0].expires.Sub(now); wait < 0 || w < wait {
				wait = w
			}
		}
		ch := m.changed
		m.waiters++
		m.mu.Unlock()

		pq.Wait(ctx, ch, wait, &timer)
		m.mu.Lock()
		m.waiters--
		m.mu.Unlock()
	}
}

func (m *Memory) leaseLocked(now time.Time, maxN int) []Lease {
	var out []Lease
	var held []*hostState // ready hosts that Strict holds back
	defer func() {
		for _, h := range held {
			heap.Push(&m.ready, h)
		}
	}()
	stalled := m.stalledLocked(now)
	for len(out) < maxN && m.ready.Len() > 0 {
		h := m.ready.Items[0]
		if h.readyAt.After(now) {
			break
		}
		if m.heldBackLocked(h, stalled) {
			held = append(held, heap.Pop(&m.ready).(*hostState))
			continue
		}
		m.setDelayLocked(h, now)
		if h.limiter != nil && !h.limiter.AllowN(now, 1) {
			m.updateReadyLocked(h, now)
			continue
		}
		it := h.queue.pop()
		m.countLeasedLocked(it.prio, 1)
		h.lastLease = now
		h.inflight++
		m.stats.Queued--
		m.stats.Leased++
		m.nextID++
		l := &lease{id: m.nextID, it: it, host: h, expires: now.Add(m.opts.LeaseTTL)}
		heap.Push(&m.leases, l)
		m.byID[l.id] = l
		out = append(out, Lease{ID: l.id, Request: it.req, Expires: l.expires})
		m.updateReadyLocked(h, now)
	}
	return out
}

// reapLocked returns expired leases' requests to the front of their queues.
func (m *Memory) reapLocked(now time.Time) {
	for m.leases.Len() > 0 && !m.leases.Items[0].expires.After(now) {
		l := heap.Pop(&m.leases).(*lease)
		m.releaseLocked(l)
		l.host.queue.push(l.it) // its original seq puts it back where it was
		m.stats.Queued++
		m.updateReadyLocked(l.host, now)
	}
}

// releaseLocked forgets a lease that has left the lease heap.
func (m *Memory) releaseLocked(l *lease) {
	m.countLeasedLocked(l.it.prio, -1)
	delete(m.byID, l.id)
	l.host.inflight--
	m.stats.Leased--
}

// Complete implements Frontier.
func (m *Memory) Complete(ctx context.Context, outcomes []Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	now := time.Now()
	m.reapLocked(now)
	var expired []uint64
	for i := range outcomes {
		o := &outcomes[i]
		l := m.byID[o.Lease.ID]
		if l == nil {
			expired = append(expired, o.Lease.ID)
			continue
		}
		heap.Remove(&m.leases, l.index)
		m.releaseLocked(l)
		h := l.host
		if o.HostDelay > h.crawlDelay {
			h.crawlDelay = o.HostDelay
			m.setDelayLocked(h, now)
		}
		if o.RetryAt.After(h.notBefore) {
			h.notBefore = o.RetryAt
		}
		switch o.Status {
		case Retry:
			it := l.it
			it.req.Attempts++
			m.seq++
			it.seq = m.seq
			h.queue.push(it)
			m.stats.Queued++
		case Release:
			h.queue.push(l.it) // its original seq puts it back where it was
			m.stats.Queued++
		case Failed:
			m.stats.Failed++
			m.countPrioLocked(l.it.prio, -1)
		default:
			m.stats.Done++
			m.countPrioLocked(l.it.prio, -1)
		}
		if h.queue.Len() == 0 && h.inflight == 0 {
			m.stats.Hosts--
		}
		m.updateReadyLocked(h, now)
		m.addLocked(o.Links, now)
		for _, u := range o.Seen {
			if m.seen.add(Fingerprint(u)) {
				m.stats.Seen++
			}
		}
	}
	m.notifyLocked()
	if len(expired) > 0 {
		return fmt.Errorf("frontier: complete %d of %d outcomes (first lease %d): %w",
			len(expired), len(outcomes), expired[0], ErrLeaseExpired)
	}
	return nil
}

// notifyLocked wakes blocked Lease calls.
func (m *Memory) notifyLocked() {
	if m.waiters == 0 {
		return
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

// Stats implements Frontier.
func (m *Memory) Stats(ctx context.Context) (Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Stats{}, ErrClosed
	}
	return m.stats, nil
}

// Close implements Frontier. Blocked Lease calls return ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.changed)
		m.changed = make(chan struct{})
	}
	return nil
}

// itemHeap orders a host's queue by (priority, arrival). It has its own
// push and pop rather than container/heap's, whose interface{} arguments
// cost an allocation per queued request.
type itemHeap []item

func (h itemHeap) Len() int { return len(h) }

func (h itemHeap) less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio < h[j].prio
	}
	return h[i].seq < h[j].seq
}

func (h *itemHeap) push(it item) {
	*h = append(*h, it)
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q.less(i, parent) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

func (h *itemHeap) pop() item {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = item{}
	q = q[:last]
	for i := 0; ; {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(q) && q.less(l, small) {
			small = l
		}
		if r < len(q) && q.less(r, small) {
			small = r
		}
		if small == i {
			break
		}
		q[i], q[small] = q[small], q[i]
		i = small
	}
	*h = q
	return top
}

// Renew implements Frontier: each lease still held expires a full LeaseTTL
// from now.
func (m *Memory) Renew(ctx context.Context, leases []Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	now := time.Now()
	m.reapLocked(now)
	var expired []uint64
	for _, rl := range leases {
		l := m.byID[rl.ID]
		if l == nil {
			expired = append(expired, rl.ID)
			continue
		}
		l.expires = now.Add(m.opts.LeaseTTL)
		heap.Fix(&m.leases, l.index)
	}
	m.notifyLocked() // the reaping may have queued requests again
	if len(expired) > 0 {
		return fmt.Errorf("frontier: renew %d of %d leases (first lease %d): %w",
			len(expired), len(leases), expired[0], ErrLeaseExpired)
	}
	return nil
}
