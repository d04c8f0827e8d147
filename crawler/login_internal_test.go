package crawler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestSessionOneRelogin has many workers find the session over at once,
// under the same generation: one of them logs in, the others wait for it,
// and none logs in again afterwards.
func TestSessionOneRelogin(t *testing.T) {
	const workers = 64
	s := &session{retried: make(map[string]int)}
	var (
		logins  atomic.Int32
		arrived sync.WaitGroup // every worker has reported the expiry
	)
	arrived.Add(workers)
	do := func(context.Context) error {
		logins.Add(1)
		arrived.Wait() // the others find the session over while it runs
		return nil
	}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			again := s.expired(0, fmt.Sprint("/p/", i))
			arrived.Done()
			if !again {
				t.Errorf("page %d may not be fetched again", i)
			}
			if gen, _, err := s.ready(context.Background(), do); err != nil || gen != 1 {
				t.Errorf("ready: generation %d, %v; want 1", gen, err)
			}
		})
	}
	wg.Wait()
	if n := logins.Load(); n != 1 {
		t.Errorf("%d logins for %d workers finding the session over at once, want 1", n, workers)
	}
}

// TestSessionFailsTwice checks that a login that fails twice in a row
// ends the crawl, for every worker, without a third attempt; that a
// failure followed by a success does not; and that a page is fetched
// again at most maxLoginRetries times.
func TestSessionFailsTwice(t *testing.T) {
	boom := errors.New("boom")
	var calls int
	s := &session{wanted: true, retried: make(map[string]int)}
	fail := func(context.Context) error { calls++; return boom }
	if _, _, err := s.ready(context.Background(), fail); !errors.Is(err, ErrLogin) || !errors.Is(err, boom) {
		t.Fatalf("ready: %v, want ErrLogin wrapping the cause", err)
	}
	if _, _, err := s.ready(context.Background(), fail); !errors.Is(err, ErrLogin) || calls != 2 {
		t.Fatalf("ready again: %v after %d attempts, want ErrLogin after 2", err, calls)
	}

	calls = 0
	s = &session{wanted: true, retried: make(map[string]int)}
	flaky := func(context.Context) error {
		calls++
		if calls == 1 {
			return boom
		}
		return nil
	}
	if gen, ran, err := s.ready(context.Background(), flaky); err != nil || !ran || gen != 1 || calls != 2 {
		t.Fatalf("ready: generation %d, ran %v, %v after %d attempts; want generation 1 after 2", gen, ran, err, calls)
	}
	for i := range maxLoginRetries + 2 {
		if again := s.expired(s.gen, "/p"); again != (i < maxLoginRetries) {
			t.Errorf("expiry %d: fetch again %v", i+1, again)
		}
	}
}
