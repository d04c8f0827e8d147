package crawler

import (
	"context"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// minRenewEvery bounds how often a lease is renewed, whatever its lease
// time.
const minRenewEvery = time.Millisecond

// renewer keeps the leases a run holds from expiring while it holds them:
// a worker held up by a slow Handler or Pages loop, or a completion that
// waits its turn, keeps its URL instead of seeing it handed out again. A
// lease is held from the Lease call that returned it until the Complete
// call that finished it has returned; each is renewed once a third of its
// lease time has passed since it was taken or last renewed, in one Renew
// call for all the leases due then (and those due within half as long
// again, so that renewals come in batches).
//
// Its lease time is read off the lease's Expires when it comes: the
// renewer needs no option, and works with whatever time the frontier
// gives. Its methods are safe for
// concurrent use.
type renewer struct {
	f Frontier

	mu   sync.Mutex
	held map[uint64]heldLease
	// changed is signalled (without blocking) when a lease is held, so
	// that an idle renewer picks up its time.
	changed chan struct{}
}

// heldLease is a lease being renewed.
type heldLease struct {
	lease frontier.Lease
	// every is a third of the lease time, as seen when the lease came.
	every time.Duration
	// since is when the lease was taken or last renewed (the start of the
	// call: the frontier gives it a lease time from a later moment).
	since time.Time
}

func newRenewer(f Frontier) *renewer {
	return &renewer{f: f, held: map[uint64]heldLease{}, changed: make(chan struct{}, 1)}
}

// hold starts renewing ls, which a Lease call has just returned. Leases
// without an expiry (a Frontier that does not report one) are left alone.
func (r *renewer) hold(ls []frontier.Lease) {
	if len(ls) == 0 {
		return
	}
	// The lease time left now is at most the full one: renewing a third
	// of it from now is in time, however long the Lease call waited.
	now := time.Now()
	r.mu.Lock()
	for _, l := range ls {
		left := l.Expires.Sub(now)
		if l.Expires.IsZero() || left <= 0 {
			continue
		}
		r.held[l.ID] = heldLease{lease: l, every: max(left/3, minRenewEvery), since: now}
	}
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// drop stops renewing the leases of outs, whose completion has returned.
func (r *renewer) drop(outs []frontier.Outcome) {
	r.mu.Lock()
	for _, o := range outs {
		delete(r.held, o.Lease.ID)
	}
	r.mu.Unlock()
}

// due returns the leases to renew now, appended to batch, or else how
// long until one is due (negative: none is held). When one is due, those
// due within half their period are renewed with it, so that renewals come
// in batches.
func (r *renewer) due(now time.Time, batch []frontier.Lease) ([]frontier.Lease, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := time.Duration(-1)
	for _, h := range r.held {
		if wait := h.since.Add(h.every).Sub(now); first < 0 || wait < first {
			first = max(wait, 0)
		}
	}
	if first != 0 {
		return batch, first
	}
	for _, h := range r.held {
		if !h.since.Add(h.every / 2).After(now) {
			batch = append(batch, h.lease)
		}
	}
	return batch, 0
}

// renewed records that the leases of batch were renewed by a call that
// began at start.
func (r *renewer) renewed(batch []frontier.Lease, start time.Time) {
	r.mu.Lock()
	for _, l := range batch {
		if h, ok := r.held[l.ID]; ok {
			h.since = start
			r.held[l.ID] = h
		}
	}
	r.mu.Unlock()
}

// run renews the held leases until ctx ends. A failed renewal is not
// retried before the leases are due again: a lease that expired meanwhile
// is handed out again, and its completion is fenced off, as without
// renewals.
func (r *renewer) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var batch []frontier.Lease
	for {
		now := time.Now()
		var wait time.Duration
		batch, wait = r.due(now, batch[:0])
		if len(batch) > 0 {
			// Errors: ErrLeaseExpired for a lease already handed out again
			// (its completion will be fenced off), or a frontier failing,
			// which the workers' Lease and Complete calls report.
			r.f.Renew(ctx, batch)
			r.renewed(batch, now)
			clear(batch)
			continue
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-r.changed:
		case <-tick:
		}
		timer.Stop()
	}
}

// start runs the renewer on a goroutine of its own until the returned
// function is called, which returns once the goroutine has. The renewals
// ignore ctx's end: a run that stops still holds its leases until their
// outcomes land.
func (r *renewer) start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { r.run(ctx) })
	return func() {
		cancel()
		wg.Wait()
	}
}
