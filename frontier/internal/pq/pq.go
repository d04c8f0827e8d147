// Package pq holds what the frontier backends share for their in-memory
// scheduling state: a heap of elements that track their own index (so an
// element can be fixed or removed in place) and the timed wait of a
// blocked Lease call.
//
// Package pq imports no other package of this module.
package pq

import (
	"cmp"
	"context"
	"iter"
	"maps"
	"time"
)

// Indexed is a container/heap.Interface over Items whose elements are told
// their index by SetIndex (-1 once popped). Less and SetIndex must be set;
// it is not safe for concurrent use.
type Indexed[T any] struct {
	Items    []T
	LessFn   func(a, b T) bool
	SetIndex func(x T, i int)
}

// Len implements heap.Interface.
func (h *Indexed[T]) Len() int { return len(h.Items) }

// Less implements heap.Interface.
func (h *Indexed[T]) Less(i, j int) bool { return h.LessFn(h.Items[i], h.Items[j]) }

// Swap implements heap.Interface.
func (h *Indexed[T]) Swap(i, j int) {
	h.Items[i], h.Items[j] = h.Items[j], h.Items[i]
	h.SetIndex(h.Items[i], i)
	h.SetIndex(h.Items[j], j)
}

// Push implements heap.Interface; use heap.Push.
func (h *Indexed[T]) Push(x any) {
	v := x.(T)
	h.SetIndex(v, len(h.Items))
	h.Items = append(h.Items, v)
}

// Pop implements heap.Interface; use heap.Pop.
func (h *Indexed[T]) Pop() any {
	var zero T
	last := len(h.Items) - 1
	v := h.Items[last]
	h.Items[last] = zero
	h.Items = h.Items[:last]
	h.SetIndex(v, -1)
	return v
}

// Wait blocks until ctx ends, wake is closed or receives, or wait has
// passed; a negative wait means no deadline. It reuses *timer, creating it
// on first use; the caller stops it when done.
func Wait(ctx context.Context, wake <-chan struct{}, wait time.Duration, timer **time.Timer) {
	var tc <-chan time.Time
	if wait >= 0 {
		wait = max(wait, time.Millisecond)
		if *timer == nil {
			*timer = time.NewTimer(wait)
		} else {
			(*timer).Reset(wait)
		}
		tc = (*timer).C
	}
	select {
	case <-ctx.Done():
	case <-wake:
	case <-tc:
	}
}

// Levels counts outstanding requests per priority and knows the lowest
// priority with any, for Strict ordering. The zero value is empty and
// ready to use; it is not safe for concurrent use.
type Levels[K cmp.Ordered] struct {
	counts map[K]int
	min    K
}

// Add changes the count at priority p by delta (+1 when a request is
// added, -1 when one finishes).
func (l *Levels[K]) Add(p K, delta int) {
	if l.counts == nil {
		l.counts = make(map[K]int)
	}
	n := l.counts[p] + delta
	if n > 0 {
		if len(l.counts) == 0 || p < l.min {
			l.min = p
		}
		l.counts[p] = n
		return
	}
	delete(l.counts, p)
	if p == l.min {
		first := true
		for q := range l.counts {
			if first || q < l.min {
				l.min, first = q, false
			}
		}
	}
}

// Min returns the lowest priority with outstanding requests; ok is false
// when there are none.
func (l *Levels[K]) Min() (p K, ok bool) { return l.min, len(l.counts) > 0 }

// Count returns the count at priority p.
func (l *Levels[K]) Count(p K) int { return l.counts[p] }

// Priorities yields every priority with outstanding requests, in no order.
func (l *Levels[K]) Priorities() iter.Seq[K] { return maps.Keys(l.counts) }
