package pq

import (
	"container/heap"
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

type elem struct {
	key, index int
}

func newHeap() *Indexed[*elem] {
	return &Indexed[*elem]{
		LessFn:   func(a, b *elem) bool { return a.key < b.key },
		SetIndex: func(e *elem, i int) { e.index = i },
	}
}

func TestIndexedKeepsOrderAndIndexes(t *testing.T) {
	h := newHeap()
	r := rand.New(rand.NewPCG(1, 1))
	var all []*elem
	for range 200 {
		e := &elem{key: r.IntN(1000)}
		all = append(all, e)
		heap.Push(h, e)
	}
	// Change some keys in place and remove others by their index.
	for i, e := range all[:50] {
		if i%2 == 0 {
			e.key = r.IntN(1000)
			heap.Fix(h, e.index)
		} else {
			heap.Remove(h, e.index)
			if e.index != -1 {
				t.Fatalf("removed element has index %d, want -1", e.index)
			}
		}
	}
	for i, e := range h.Items {
		if e.index != i {
			t.Fatalf("element at %d records index %d", i, e.index)
		}
	}
	last := -1
	for h.Len() > 0 {
		e := heap.Pop(h).(*elem)
		if e.key < last {
			t.Fatalf("popped %d after %d", e.key, last)
		}
		last = e.key
	}
}

func TestWaitReturnsOnEachCause(t *testing.T) {
	closed := make(chan struct{})
	close(closed)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		wake <-chan struct{}
		wait time.Duration
	}{
		{"wake closed", context.Background(), closed, -1},
		{"ctx canceled", canceled, make(chan struct{}), -1},
		{"deadline", context.Background(), make(chan struct{}), 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var timer *time.Timer
			done := make(chan struct{})
			go func() {
				Wait(tt.ctx, tt.wake, tt.wait, &timer)
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Wait did not return")
			}
		})
	}
}

func TestLevelsTracksLowestPriority(t *testing.T) {
	var l Levels[float64]
	if _, ok := l.Min(); ok {
		t.Fatal("empty Levels has a minimum")
	}
	steps := []struct {
		p       float64
		delta   int
		wantMin float64
		wantOK  bool
	}{
		{2, 1, 2, true},
		{1, 2, 1, true},
		{3, 1, 1, true},
		{1, -1, 1, true},
		{1, -1, 2, true}, // level 1 empties: the next lowest is 2
		{2, -1, 3, true},
		{3, -1, 0, false},
	}
	for i, s := range steps {
		l.Add(s.p, s.delta)
		got, ok := l.Min()
		if ok != s.wantOK || (ok && got != s.wantMin) {
			t.Fatalf("step %d: Min() = %v, %v; want %v, %v", i, got, ok, s.wantMin, s.wantOK)
		}
	}
}
