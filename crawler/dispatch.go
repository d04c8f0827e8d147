package crawler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/frontier"
)

// maxBatch bounds the leases asked for, and the outcomes completed, in one
// frontier call.
const maxBatch = 256

// dispatch moves work between the frontier and the workers in batches, so
// that a remote or durable frontier costs a round trip (or a commit) per
// batch, not two per URL. One leaser asks the frontier for as many leases
// as there are idle workers and hands them out; one completer gathers the
// outcomes that arrive while its previous Complete call is under way and
// completes them together, as a group commit does.
//
// A worker is idle again only once its outcome has landed: the completer,
// not the worker, gives the leaser the worker's token back. So at most
// Concurrency URLs are in a worker's hands or on their way back at any
// time, which bounds what a crash can cost; and a request is always in one
// place: queued in the frontier, leased to a worker, or in the completer's
// channel, which run drains before it returns, whatever stopped the crawl.
type dispatch struct {
	r *run
	// want carries one token per idle worker; its capacity is the number of
	// workers, so sending never blocks. Each worker sends one at its start,
	// the completer one for each of the worker's outcomes it completed.
	want chan struct{}
	// leases hands a lease to a worker that sent a token; closed when no
	// more will come.
	leases chan frontier.Lease
	// done carries finished work to the completer.
	done chan finished
	// linkBufs recycles the workers' link slices once completed.
	linkBufs sync.Pool
	// held renews the leases from their Lease call until their Complete
	// call has returned.
	held *renewer

	errOnce sync.Once
	err     error
	stop    context.CancelFunc // ends leasing on a fatal error
}

// finished is one outcome on its way to the frontier, with the slice its
// links live in, to recycle once they are completed.
type finished struct {
	out   frontier.Outcome
	links *[]frontier.Request
	// fromWorker is false for a lease the leaser could not hand out, which
	// frees no worker.
	fromWorker bool
}

func newDispatch(r *run, stop context.CancelFunc) *dispatch {
	n := r.c.cfg.Concurrency
	d := &dispatch{
		r:      r,
		want:   make(chan struct{}, n),
		leases: make(chan frontier.Lease),
		done:   make(chan finished, n),
		stop:   stop,
		held:   newRenewer(r.c.cfg.Frontier),
	}
	d.linkBufs.New = func() any { return new([]frontier.Request) }
	return d
}

// fail records the first fatal error and stops leasing.
func (d *dispatch) fail(err error) {
	d.errOnce.Do(func() {
		d.err = err
		d.stop()
	})
}

// lease runs the leaser until the frontier is drained, ctx ends, the
// MaxPages budget is spent with every worker idle, or a fatal error; then
// it closes d.leases. It owns the MaxPages slots of the URLs it leases:
// it takes a slot per lease before asking, and gives back those the
// frontier did not fill.
func (d *dispatch) lease(ctx context.Context) {
	defer close(d.leases)
	r, c := d.r, d.r.c
	idle := 0 // workers waiting for a lease
	for {
		if idle == 0 {
			select {
			case <-d.want:
				idle++
			case <-ctx.Done():
				return
			}
		}
		for more := true; more; {
			select {
			case <-d.want:
				idle++
			default:
				more = false
			}
		}
		n := r.budget.take(min(idle, maxBatch))
		if n == 0 {
			if idle == c.cfg.Concurrency {
				return // budget spent, and no URL in process can give a slot back
			}
			// A worker still at work may give its slot back (a retry, an
			// asset, a host over its budget): wait for it to finish.
			select {
			case <-d.want:
				idle++
			case <-ctx.Done():
				return
			}
			continue
		}
		ls, err := c.cfg.Frontier.Lease(ctx, n)
		d.held.hold(ls)
		r.budget.give(n - len(ls))
		if err != nil {
			if !errors.Is(err, frontier.ErrDrained) && ctx.Err() == nil {
				d.fail(fmt.Errorf("crawler: lease: %w", err))
			}
			return
		}
		for i, l := range ls {
			select {
			case d.leases <- l: // a worker is waiting: it sent a token
				idle--
			case <-ctx.Done():
				// The crawl stopped between the lease and its hand-over: give
				// back what no worker took.
				for _, l := range ls[i:] {
					d.done <- finished{out: frontier.Outcome{Lease: l, Status: frontier.Release}}
				}
				r.budget.give(len(ls) - i)
				return
			}
		}
	}
}

// complete runs the completer until d.done is closed and empty: it
// completes outcomes in batches, under ctx, which run lets outlive the
// crawl's context by the grace period and completeSlack: a completion
// that does not land is work lost, but a frontier that cannot be reached
// (a Redis server down) must not keep the process from stopping. Once ctx
// ends, what is left is not completed: its leases expire.
func (d *dispatch) complete(ctx context.Context) {
	defer d.held.start(ctx)()
	batch := make([]frontier.Outcome, 0, maxBatch)
	items := make([]finished, 0, maxBatch)
	for f := range d.done {
		items = append(items[:0], f)
		for more := true; more && len(items) < maxBatch; {
			select {
			case f, ok := <-d.done:
				if !ok {
					more = false
					break
				}
				items = append(items, f)
			default:
				more = false
			}
		}
		batch = batch[:0]
		for _, f := range items {
			batch = append(batch, f.out)
		}
		err := d.r.c.cfg.Frontier.Complete(ctx, batch)
		d.held.drop(batch)
		if err != nil && !errors.Is(err, frontier.ErrLeaseExpired) && ctx.Err() == nil {
			d.fail(fmt.Errorf("crawler: complete: %w", err))
		}
		for _, f := range items {
			if b := f.links; b != nil {
				clear(*b) // drop the references to the requests' strings
				*b = (*b)[:0]
				d.linkBufs.Put(b)
			}
			if f.fromWorker {
				d.want <- struct{}{}
			}
		}
		clear(items)
		clear(batch)
	}
}

// work is one worker's loop: take a lease, process it, hand the outcome to
// the completer, which makes the worker idle again once it has landed. It
// returns when the leaser stops handing out leases.
func (d *dispatch) work(fetchCtx context.Context) {
	r, c := d.r, d.r.c
	w := &worker{c: c, r: r, d: d}
	d.want <- struct{}{}
	for {
		waitStart := time.Now()
		l, ok := <-d.leases
		c.cfg.Observer.Waited(time.Since(waitStart))
		if !ok {
			return
		}
		if r.handlerErr.Load() != nil {
			// The crawl is failing: hand the lease back untouched.
			d.done <- finished{out: frontier.Outcome{Lease: l, Status: frontier.Release}, fromWorker: true}
			r.budget.give(1)
			continue
		}
		w.counted = false
		o := w.process(fetchCtx, l)
		if !w.counted {
			r.budget.give(1) // only a recorded page keeps its slot
		}
		d.done <- finished{out: o, links: w.linkBuf, fromWorker: true}
		w.linkBuf = nil
		if p := r.handlerErr.Load(); p != nil {
			// A sink that cannot write would lose records: stop leasing.
			d.fail(fmt.Errorf("crawler: write result: %w", *p))
		}
	}
}
