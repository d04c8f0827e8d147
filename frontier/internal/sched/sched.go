// Package sched is the scheduling core that the memory and disk frontier
// backends share: the ready-host heap ordered by next-allowed time, the
// per-host in-flight cap and host delay, Strict's level stall and
// hold-back, the lease table with its expiry heap and reaping, renewal,
// completion, and the blocking Lease loop. A backend writes only storage:
// the per-host queue behind the Queue interface, its seen set, and (for
// disk) the log of changes it makes durable.
//
// # Host spacing
//
// One rule spaces a host's requests in both backends (and matches the
// Redis backend's Lua): a host is not leased before
//
//	max(NotBefore, NextAllowed)
//
// where NotBefore is the latest RetryAt of its completions, and
// NextAllowed is set at each lease to the later of the lease time plus
// the Crawl-delay, and the time the host's rate limiter (golang.org/x/time/
// rate, one token per Config.HostDelay(host), no burst, made at the
// host's first lease) has its next token, rounded up to the nanosecond. A
// Crawl-delay learned from a completion (Outcome.HostDelay) counts from
// the host's last lease and only ever moves NextAllowed later. With a
// backlog the leases of a host are exactly the delay apart, never closer:
// `--rate r` asks for a delay of 1s/r. The limiter lives in memory;
// NextAllowed, a time, is what a persistent backend stores, so a reopened
// store keeps the host's hold.
//
// Package sched imports nothing of the module but frontier/internal/pq; it
// is generic in the request type R and the lease type L the backend hands
// out, so that it need not import package frontier (which imports it).
package sched

import (
	"container/heap"
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hivecrawl/crawl/frontier/internal/pq"
)

// Pos is a request's place in its host's queue: its priority as encoded by
// EncodePriority (lower first), then its arrival sequence.
type Pos struct {
	Prio uint64
	Seq  uint64
}

// Less orders positions: by priority, then arrival.
func (a Pos) Less(b Pos) bool {
	if a.Prio != b.Prio {
		return a.Prio < b.Prio
	}
	return a.Seq < b.Seq
}

// EncodePriority maps a scheduler's float64 priority onto a uint64 whose
// unsigned order is the float's numeric order: negative numbers have all
// their bits flipped, others only the sign bit. -0 counts as 0 and NaN
// sorts last, with +Inf.
func EncodePriority(p float64) uint64 {
	switch {
	case p == 0:
		p = 0 // -0 and +0 tie
	case math.IsNaN(p):
		p = math.Inf(1)
	}
	b := math.Float64bits(p)
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}

// Queue is one host's queue of requests as a backend stores it, ordered by
// Pos. The core calls it under the backend's lock, and is the only caller
// that changes it (a backend that changes a queue on its own, as disk's
// refill after a restart does, calls Core.Update after).
type Queue[R any] interface {
	// Head returns the position of the first queued request; ok is false
	// when nothing is queued.
	Head() (p Pos, ok bool)
	// Pop removes and returns the first request; the queue is not empty.
	// A non-nil error reports a storage failure after the request was
	// taken: the core gives it back (Push with fresh false) and fails the
	// Lease call.
	Pop() (Pos, R, error)
	// Push queues r at p. fresh says p is a new position (an Add or a
	// retry), not the old one of a request given back (an expired or
	// released lease).
	Push(p Pos, r R, fresh bool)
}

// Host is the scheduling state of one host with its queue. Backends keep
// their hosts (a map by name) and may embed Host in their own host type.
// The exported politeness fields are for backends that persist them; only
// the core changes them once the host is in use.
type Host[R any] struct {
	Name  string
	Queue Queue[R]

	// NotBefore holds the host back after a RetryAt (Retry-After, server
	// errors), whatever the status of the completion.
	NotBefore time.Time
	// NextAllowed is the host delay's hold: the last lease plus the delay.
	NextAllowed time.Time
	// LastLease is when the host was last leased.
	LastLease time.Time
	// CrawlDelay is the longest Outcome.HostDelay seen.
	CrawlDelay time.Duration

	// limiter holds the host to the scheduler's rate (1/HostDelay), made
	// at the host's first lease; it is not persisted: NextAllowed, which
	// take sets from it, is.
	limiter  *rate.Limiter
	inflight int
	head     Pos  // cached Queue.Head, refreshed by update
	queued   bool // the queue is not empty
	readyAt  time.Time
	index    int // in Core.ready; -1 when absent
}

// NewHost returns the state of a host named name whose queue is q.
func NewHost[R any](name string, q Queue[R]) *Host[R] {
	h := &Host[R]{}
	h.Init(name, q)
	return h
}

// Init sets up h, the zero Host embedded in a backend's host type, for a
// host named name whose queue is q.
func (h *Host[R]) Init(name string, q Queue[R]) {
	*h = Host[R]{Name: name, Queue: q, index: -1}
}

// InFlight returns the number of the host's leases outstanding.
func (h *Host[R]) InFlight() int { return h.inflight }

// Idle reports whether the host has nothing queued and nothing leased, as of
// the core's last look at its queue.
func (h *Host[R]) Idle() bool { return !h.queued && h.inflight == 0 }

// Lease is an outstanding lease in the core's table.
type Lease[R any] struct {
	ID      uint64
	Pos     Pos // where the request was in its host's queue
	Req     R
	Host    *Host[R]
	Expires time.Time
	index   int // in Core.leases
}

// Status says how a lease ended; the values are frontier.Status's.
type Status uint8

// Statuses, in frontier.Status's order.
const (
	Done Status = iota
	Failed
	Retry
	Release
)

// Outcome is what the core needs of a completion.
type Outcome struct {
	Status    Status
	RetryAt   time.Time
	HostDelay time.Duration
}

// Counts are the counters the core keeps.
type Counts struct {
	Queued, Leased, Done, Failed int64
}

// Config configures a Core. Mu, NewLease, Retried, Drained and Closed are
// required; the hooks may be nil.
type Config[R, L any] struct {
	// Mu is the backend's lock; it guards the core and the backend's
	// storage, and Lease takes it.
	Mu *sync.Mutex
	// PerHostInFlight caps the leases outstanding on one host; negative
	// means no cap.
	PerHostInFlight int
	// LeaseTTL is the lease time.
	LeaseTTL time.Duration
	// Strict makes the order global (see frontier.Options.Strict).
	Strict bool
	// StrictStall is how long Strict's lowest level must wait on its hosts
	// before other requests go ahead.
	StrictStall time.Duration
	// HostDelay is the scheduler's minimum delay between leases of a host;
	// nil means none.
	HostDelay func(host string) time.Duration
	// NewLease converts a lease for the caller of Lease.
	NewLease func(l *Lease[R]) L
	// Retried returns r with one more attempt.
	Retried func(r R) R
	// Drained and Closed are the errors Lease returns when nothing is
	// queued or leased, and when the core is closed.
	Drained, Closed error

	// NewLeaseID returns a lease ID never handed out before; nil means a
	// counter from 1.
	NewLeaseID func() (uint64, error)
	// Leased, Unleased and Renewed tell the backend that a lease was
	// handed out, ended (completed, expired, given back), or renewed.
	Leased, Unleased, Renewed func(l *Lease[R])
	// HostChanged tells the backend that a host's politeness fields changed.
	HostChanged func(h *Host[R])
	// PrioChanged tells a Strict backend that the count of requests
	// outstanding at priority p changed.
	PrioChanged func(p uint64)
	// EndOp runs at the end of each step of Lease, under Mu.
	EndOp func(now time.Time)
}

// Core is the scheduling state shared by a backend's operations. Every
// method but Lease must be called with Config.Mu held.
type Core[R, L any] struct {
	cfg Config[R, L]
	// Counts are the counters; a backend that persists them may set them
	// when it opens.
	Counts Counts
	// Seq is the last arrival sequence handed out; a backend that persists
	// it may set it when it opens.
	Seq uint64

	ready  pq.Indexed[*Host[R]]  // hosts with queued requests and room under their cap, by readyAt
	leases pq.Indexed[*Lease[R]] // outstanding leases by expiry
	byID   map[uint64]*Lease[R]
	nextID uint64
	// prios counts queued and leased requests by priority, for Strict;
	// leasedPrios the leased ones alone.
	prios, leasedPrios pq.Levels[uint64]

	// taken is leaseLocked's scratch: the leases of the current step.
	taken []*Lease[R]

	closed  bool
	waiters int
	changed chan struct{} // closed and replaced when waiters may proceed
	now     func() time.Time
}

// New returns an empty core.
func New[R, L any](cfg Config[R, L]) *Core[R, L] {
	return &Core[R, L]{
		cfg:     cfg,
		byID:    make(map[uint64]*Lease[R]),
		changed: make(chan struct{}),
		now:     time.Now,
		ready: pq.Indexed[*Host[R]]{
			LessFn:   func(a, b *Host[R]) bool { return a.readyAt.Before(b.readyAt) },
			SetIndex: func(h *Host[R], i int) { h.index = i },
		},
		leases: pq.Indexed[*Lease[R]]{
			LessFn:   func(a, b *Lease[R]) bool { return a.Expires.Before(b.Expires) },
			SetIndex: func(l *Lease[R], i int) { l.index = i },
		},
	}
}

// Closed reports whether Close was called.
func (c *Core[R, L]) Closed() bool { return c.closed }

// Close wakes blocked Lease calls, which return Config.Closed.
func (c *Core[R, L]) Close() {
	if !c.closed {
		c.closed = true
		close(c.changed)
		c.changed = make(chan struct{})
	}
}

// Notify wakes blocked Lease calls after a change.
func (c *Core[R, L]) Notify() {
	if c.waiters == 0 {
		return
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// Prios returns the Strict counts of requests outstanding by priority, for
// a backend that persists them (and loads them when it opens).
func (c *Core[R, L]) Prios() *pq.Levels[uint64] { return &c.prios }

func (c *Core[R, L]) countPrio(p uint64, delta int) {
	if !c.cfg.Strict {
		return
	}
	c.prios.Add(p, delta)
	if c.cfg.PrioChanged != nil {
		c.cfg.PrioChanged(p)
	}
}

// NextSeq returns a new arrival sequence.
func (c *Core[R, L]) NextSeq() uint64 {
	c.Seq++
	return c.Seq
}

// Add queues a new request r of priority prio on h, at a new position.
func (c *Core[R, L]) Add(h *Host[R], prio uint64, r R) {
	c.countPrio(prio, 1)
	c.push(h, Pos{prio, c.NextSeq()}, r, true)
}

// Restore queues r at its old position p without counting it as new (a
// persistent backend's lease found again when it opens).
func (c *Core[R, L]) Restore(h *Host[R], p Pos, r R) {
	c.push(h, p, r, false)
}

func (c *Core[R, L]) push(h *Host[R], p Pos, r R, fresh bool) {
	h.Queue.Push(p, r, fresh)
	c.Counts.Queued++
	c.Update(h)
}

// Update puts h in, moves it within, or removes it from the ready heap
// after its queue, in-flight count or timing changed.
func (c *Core[R, L]) Update(h *Host[R]) {
	h.head, h.queued = h.Queue.Head()
	if !h.queued || (c.cfg.PerHostInFlight >= 0 && h.inflight >= c.cfg.PerHostInFlight) {
		if h.index >= 0 {
			heap.Remove(&c.ready, h.index)
		}
		return
	}
	at := h.NotBefore
	if h.NextAllowed.After(at) {
		at = h.NextAllowed
	}
	if h.index >= 0 {
		if at.Equal(h.readyAt) {
			return // its place in the heap holds
		}
		h.readyAt = at
		heap.Fix(&c.ready, h.index)
		return
	}
	h.readyAt = at
	heap.Push(&c.ready, h)
}

// Forget removes h from the ready heap (a backend retiring an idle host).
func (c *Core[R, L]) Forget(h *Host[R]) {
	if h.index >= 0 {
		heap.Remove(&c.ready, h.index)
	}
}

// stalled reports whether Strict's lowest level is stalled: none of its
// requests is leased, and each waits on its host for StrictStall or longer
// (Retry-After, a Crawl-delay, a backoff). Then the other hosts go on
// instead of idling behind a host that asked for time.
func (c *Core[R, L]) stalled(now time.Time) bool {
	if !c.cfg.Strict {
		return false
	}
	lowest, ok := c.prios.Min()
	if !ok || c.leasedPrios.Count(lowest) > 0 {
		return false
	}
	for _, h := range c.ready.Items {
		if h.head.Prio == lowest && h.readyAt.Sub(now) < c.cfg.StrictStall {
			return false
		}
	}
	return true
}

// heldBack reports whether Strict keeps h's head request waiting for
// requests of lower priority. stalled is stalled's answer.
func (c *Core[R, L]) heldBack(h *Host[R], stalled bool) bool {
	if !c.cfg.Strict || stalled {
		return false
	}
	lowest, _ := c.prios.Min()
	return h.head.Prio > lowest
}

// Lease implements a frontier's Lease: up to maxN requests from ready
// hosts, blocking until one is ready, Config.Drained when nothing is
// queued or leased, ctx.Err() when ctx ends first. It takes Config.Mu.
// It returns leases or an error, never both.
func (c *Core[R, L]) Lease(ctx context.Context, maxN int) ([]L, error) {
	if maxN <= 0 {
		maxN = 1
	}
	mu := c.cfg.Mu
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
		mu.Lock()
		if c.closed {
			mu.Unlock()
			return nil, c.cfg.Closed
		}
		now := c.now()
		c.Reap(now)
		out, err := c.leaseLocked(now, maxN)
		if c.cfg.EndOp != nil {
			c.cfg.EndOp(now)
		}
		if err != nil {
			mu.Unlock()
			return nil, err
		}
		if len(out) > 0 {
			mu.Unlock()
			return out, nil
		}
		if c.Counts.Queued == 0 && c.Counts.Leased == 0 {
			mu.Unlock()
			return nil, c.cfg.Drained
		}
		wait := c.waitLocked(now)
		ch := c.changed
		c.waiters++
		mu.Unlock()

		pq.Wait(ctx, ch, wait, &timer)
		mu.Lock()
		c.waiters--
		mu.Unlock()
	}
}

// waitLocked returns how long a Lease call with nothing to hand out waits
// before it looks again: until the first host it may lease from is ready,
// or the first lease expires; -1 for no deadline.
func (c *Core[R, L]) waitLocked(now time.Time) time.Duration {
	wait := time.Duration(-1)
	stalled := c.stalled(now)
	for _, h := range c.ready.Items {
		if !c.heldBack(h, stalled) && (wait < 0 || h.readyAt.Sub(now) < wait) {
			wait = h.readyAt.Sub(now)
		}
		if !c.cfg.Strict {
			break // c.ready.Items[0] is the earliest
		}
	}
	if c.leases.Len() > 0 {
		if w := c.leases.Items[0].Expires.Sub(now); wait < 0 || w < wait {
			wait = w
		}
	}
	return wait
}

// leaseLocked hands out up to maxN requests from ready hosts. On an error
// it gives back what it had handed out and returns only the error.
func (c *Core[R, L]) leaseLocked(now time.Time, maxN int) ([]L, error) {
	var out []L
	taken := c.taken[:0]
	var held []*Host[R] // ready hosts that Strict holds back
	defer func() {
		for _, h := range held {
			heap.Push(&c.ready, h)
		}
		clear(taken)
		c.taken = taken[:0]
	}()
	stalled := c.stalled(now)
	for len(out) < maxN && c.ready.Len() > 0 {
		h := c.ready.Items[0]
		if h.readyAt.After(now) {
			break
		}
		if c.heldBack(h, stalled) {
			held = append(held, heap.Pop(&c.ready).(*Host[R]))
			continue
		}
		id, err := c.newLeaseID()
		if err != nil {
			c.giveBack(taken, now)
			return nil, err
		}
		p, r, err := h.Queue.Pop()
		c.Counts.Queued--
		l := &Lease[R]{ID: id, Pos: p, Req: r, Host: h, Expires: now.Add(c.cfg.LeaseTTL)}
		c.take(l, now)
		taken = append(taken, l)
		if err != nil {
			c.giveBack(taken, now)
			return nil, err
		}
		if out == nil {
			// Sized once: at most maxN, and no more than was queued.
			out = make([]L, 0, min(maxN, int(c.Counts.Queued)+1))
		}
		out = append(out, c.cfg.NewLease(l))
	}
	return out, nil
}

func (c *Core[R, L]) newLeaseID() (uint64, error) {
	if c.cfg.NewLeaseID != nil {
		return c.cfg.NewLeaseID()
	}
	c.nextID++
	return c.nextID, nil
}

// take records l, whose request was just popped from its host's queue, as
// handed out at now, and spaces the host's next lease.
func (c *Core[R, L]) take(l *Lease[R], now time.Time) {
	h := l.Host
	if c.cfg.Strict {
		c.leasedPrios.Add(l.Pos.Prio, 1)
	}
	heap.Push(&c.leases, l)
	c.byID[l.ID] = l
	h.inflight++
	c.Counts.Leased++
	if c.cfg.Leased != nil {
		c.cfg.Leased(l)
	}
	h.LastLease = now
	next := now.Add(h.CrawlDelay)
	if c.cfg.HostDelay != nil {
		if d := c.cfg.HostDelay(h.Name); d > 0 {
			next = later(next, now.Add(h.rateWait(now, d)))
		}
	}
	if next.After(now) {
		h.NextAllowed = next
		c.hostChanged(h)
	}
	c.Update(h)
}

// rateWait takes the host's token for a lease at now from its rate limiter
// (one request per d, no burst; made on first use) and returns how long
// the next lease must wait for the next token, rounded up to the
// nanosecond so that leases are never closer than d.
func (h *Host[R]) rateWait(now time.Time, d time.Duration) time.Duration {
	limit := rate.Every(d)
	if h.limiter == nil {
		h.limiter = rate.NewLimiter(limit, 1)
	} else if h.limiter.Limit() != limit {
		h.limiter.SetLimitAt(now, limit)
	}
	h.limiter.AllowN(now, 1) // the lease's token; a host leased early (a restart) owes none
	missing := 1 - h.limiter.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return max(time.Duration(math.Ceil(missing*float64(time.Second)/float64(limit))), d)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// giveBack undoes the leases of a failed Lease step: their requests go
// back to their old places.
func (c *Core[R, L]) giveBack(taken []*Lease[R], now time.Time) {
	for _, l := range taken {
		heap.Remove(&c.leases, l.index)
		c.release(l)
		c.push(l.Host, l.Pos, l.Req, false)
	}
}

func (c *Core[R, L]) hostChanged(h *Host[R]) {
	if c.cfg.HostChanged != nil {
		c.cfg.HostChanged(h)
	}
}

// Reap returns expired leases' requests to their old places in their
// hosts' queues.
func (c *Core[R, L]) Reap(now time.Time) {
	for c.leases.Len() > 0 && !c.leases.Items[0].Expires.After(now) {
		l := heap.Pop(&c.leases).(*Lease[R])
		c.release(l)
		c.push(l.Host, l.Pos, l.Req, false)
	}
}

// release forgets a lease that has left the lease heap.
func (c *Core[R, L]) release(l *Lease[R]) {
	if c.cfg.Strict {
		c.leasedPrios.Add(l.Pos.Prio, -1)
	}
	delete(c.byID, l.ID)
	l.Host.inflight--
	c.Counts.Leased--
	if c.cfg.Unleased != nil {
		c.cfg.Unleased(l)
	}
	c.Update(l.Host)
}

// RenewAll reaps the leases expired by now, then renews the n leases whose
// IDs id gives, and returns how many of them were no longer held and the
// first of those: what a backend's Renew reports as ErrLeaseExpired.
func (c *Core[R, L]) RenewAll(n int, id func(i int) uint64, now time.Time) (expired int, first uint64) {
	c.Reap(now)
	for i := range n {
		if !c.Renew(id(i), now) {
			if expired == 0 {
				first = id(i)
			}
			expired++
		}
	}
	return expired, first
}

// Renew extends lease id to a full LeaseTTL from now; it reports false when
// the lease is not held (expired, or unknown). Reap first.
func (c *Core[R, L]) Renew(id uint64, now time.Time) bool {
	l := c.byID[id]
	if l == nil {
		return false
	}
	l.Expires = now.Add(c.cfg.LeaseTTL)
	heap.Fix(&c.leases, l.index)
	if c.cfg.Renewed != nil {
		c.cfg.Renewed(l)
	}
	return true
}

// Complete ends lease id with o and returns the lease's host, or nil when
// the lease is not held (expired, or unknown). Reap first.
func (c *Core[R, L]) Complete(id uint64, o Outcome) *Host[R] {
	l := c.byID[id]
	if l == nil {
		return nil
	}
	heap.Remove(&c.leases, l.index)
	c.release(l)
	h := l.Host
	changed := false
	if o.HostDelay > 0 {
		// A Crawl-delay spaces requests from the host's last one on, and
		// only ever slows the host down.
		if o.HostDelay > h.CrawlDelay {
			h.CrawlDelay, changed = o.HostDelay, true
		}
		if t := h.LastLease.Add(o.HostDelay); t.After(h.NextAllowed) {
			h.NextAllowed, changed = t, true
		}
	}
	if o.RetryAt.After(h.NotBefore) {
		h.NotBefore, changed = o.RetryAt, true
	}
	if changed {
		c.hostChanged(h)
	}
	switch o.Status {
	case Retry:
		c.push(h, Pos{l.Pos.Prio, c.NextSeq()}, c.cfg.Retried(l.Req), true)
	case Release:
		c.push(h, l.Pos, l.Req, false) // its old position puts it back where it was
	case Failed:
		c.Counts.Failed++
		c.countPrio(l.Pos.Prio, -1)
		c.Update(h)
	default:
		c.Counts.Done++
		c.countPrio(l.Pos.Prio, -1)
		c.Update(h)
	}
	return h
}
