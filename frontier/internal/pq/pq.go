// Package pq holds what the frontier backends share for their in-memory
// scheduling state: a heap of elements that track their own index (so an
// element can be fixed or removed in place) and the timed wait of a
// blocked Lease call.
package pq

import (
	"context"
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
