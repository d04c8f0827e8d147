package frontier

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/frontier/internal/sched"
)

// Memory is the in-memory backend: per-host queues ordered by the
// scheduler's priority, and a seen set of fingerprints, under the shared
// scheduling core (frontier/internal/sched: the ready-host heap, leases,
// politeness, Strict). It is safe for concurrent use. Nothing survives the
// process.
type Memory struct {
	opts Options

	mu    sync.Mutex
	core  *sched.Core[Request, Lease]
	seen  seenSet
	hosts map[string]*sched.Host[Request]
	// hostCount, seenCount and duplicates are the Stats the core does not
	// keep.
	hostCount, seenCount, duplicates int64
}

var _ Frontier = (*Memory)(nil)

// NewMemory returns an empty in-memory frontier.
func NewMemory(opts Options) *Memory {
	m := &Memory{
		opts:  opts.WithDefaults(),
		hosts: make(map[string]*sched.Host[Request]),
	}
	m.core = sched.New(coreConfig(&m.mu, m.opts))
	return m
}

// coreConfig returns the configuration of the memory backend's scheduling
// core: opts, and lock mu. Memory needs none of the core's hooks (the disk
// backend's own version adds them, to log what the core changes).
func coreConfig(mu *sync.Mutex, opts Options) sched.Config[Request, Lease] {
	return sched.Config[Request, Lease]{
		Mu:              mu,
		PerHostInFlight: opts.PerHostInFlight,
		LeaseTTL:        opts.LeaseTTL,
		Strict:          opts.Strict,
		StrictStall:     StrictStall,
		HostDelay:       opts.Scheduler.HostDelay,
		NewLease: func(l *sched.Lease[Request]) Lease {
			return Lease{ID: l.ID, Request: l.Req, Expires: l.Expires}
		},
		Retried: func(r Request) Request {
			r.Attempts++
			return r
		},
		Drained: ErrDrained,
		Closed:  ErrClosed,
	}
}

// Add implements Frontier.
func (m *Memory) Add(ctx context.Context, reqs []Request) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.core.Closed() {
		return 0, ErrClosed
	}
	n := m.addLocked(reqs)
	if n > 0 {
		m.core.Notify()
	}
	return n, nil
}

func (m *Memory) addLocked(reqs []Request) int {
	added := 0
	for _, r := range reqs {
		if !m.seen.add(Fingerprint(r.URL)) {
			m.duplicates++
			continue
		}
		m.seenCount++
		name := HostOf(r.URL)
		h := m.hosts[name]
		if h == nil {
			h = sched.NewHost[Request](name, &itemHeap{})
			m.hosts[name] = h
		}
		if h.Idle() {
			m.hostCount++
		}
		m.core.Add(h, sched.EncodePriority(m.opts.Scheduler.Priority(r)), r)
		added++
	}
	return added
}

// Lease implements Frontier.
func (m *Memory) Lease(ctx context.Context, maxN int) ([]Lease, error) {
	return m.core.Lease(ctx, maxN)
}

// Complete implements Frontier.
func (m *Memory) Complete(ctx context.Context, outcomes []Outcome) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.core.Closed() {
		return ErrClosed
	}
	m.core.Reap(time.Now())
	var expired []uint64
	for i := range outcomes {
		o := &outcomes[i]
		h := m.core.Complete(o.Lease.ID, sched.Outcome{Status: sched.Status(o.Status), RetryAt: o.RetryAt, HostDelay: o.HostDelay})
		if h == nil {
			expired = append(expired, o.Lease.ID)
			continue
		}
		if h.Idle() {
			m.hostCount--
		}
		// Seen first: the page's canonical URL, fetched now, is no new link.
		for _, u := range o.Seen {
			if m.seen.add(Fingerprint(u)) {
				m.seenCount++
			}
		}
		m.addLocked(o.Links)
	}
	m.core.Notify()
	if len(expired) > 0 {
		return fmt.Errorf("frontier: complete %d of %d outcomes (first lease %d): %w",
			len(expired), len(outcomes), expired[0], ErrLeaseExpired)
	}
	return nil
}

// Stats implements Frontier.
func (m *Memory) Stats(ctx context.Context) (Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.core.Closed() {
		return Stats{}, ErrClosed
	}
	c := m.core.Counts
	return Stats{
		Queued: c.Queued, Leased: c.Leased, Done: c.Done, Failed: c.Failed,
		Hosts: m.hostCount, Seen: m.seenCount, Duplicates: m.duplicates,
	}, nil
}

// Close implements Frontier. Blocked Lease calls return ErrClosed.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.core.Close()
	return nil
}

// item is a queued request with its position.
type item struct {
	req Request
	pos sched.Pos
}

// itemHeap is a host's queue, ordered by position (priority, arrival). It
// has its own push and pop rather than container/heap's, whose interface{}
// arguments cost an allocation per queued request.
type itemHeap []item

var _ sched.Queue[Request] = (*itemHeap)(nil)

// Head implements sched.Queue.
func (h *itemHeap) Head() (sched.Pos, bool) {
	if len(*h) == 0 {
		return sched.Pos{}, false
	}
	return (*h)[0].pos, true
}

// Push implements sched.Queue.
func (h *itemHeap) Push(p sched.Pos, r Request, _ bool) {
	*h = append(*h, item{req: r, pos: p})
	q := *h
	for i := len(q) - 1; i > 0; {
		parent := (i - 1) / 2
		if !q[i].pos.Less(q[parent].pos) {
			break
		}
		q[i], q[parent] = q[parent], q[i]
		i = parent
	}
}

// Pop implements sched.Queue.
func (h *itemHeap) Pop() (sched.Pos, Request, error) {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = item{}
	q = q[:last]
	for i := 0; ; {
		small, l, r := i, 2*i+1, 2*i+2
		if l < len(q) && q[l].pos.Less(q[small].pos) {
			small = l
		}
		if r < len(q) && q[r].pos.Less(q[small].pos) {
			small = r
		}
		if small == i {
			break
		}
		q[i], q[small] = q[small], q[i]
		i = small
	}
	*h = q
	return top.pos, top.req, nil
}

// Renew implements Frontier: each lease still held expires a full LeaseTTL
// from now.
func (m *Memory) Renew(ctx context.Context, leases []Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.core.Closed() {
		return ErrClosed
	}
	expired, first := m.core.RenewAll(len(leases), func(i int) uint64 { return leases[i].ID }, time.Now())
	m.core.Notify() // the reaping may have queued requests again
	if expired > 0 {
		return fmt.Errorf("frontier: renew %d of %d leases (first lease %d): %w",
			expired, len(leases), first, ErrLeaseExpired)
	}
	return nil
}
