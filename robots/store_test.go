package robots

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memStore is a Store and Claimer in memory, as several processes would
// share one in Redis.
type memStore struct {
	mu     sync.Mutex
	data   map[string][]byte
	claims map[string]bool
	saves  int
}

func newMemStore() *memStore {
	return &memStore{data: map[string][]byte{}, claims: map[string]bool{}}
}

func (s *memStore) Load(_ context.Context, origin string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.data[origin]
	return d, ok, nil
}

func (s *memStore) Save(_ context.Context, origin string, data []byte, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data[origin] = data
	s.saves++
	return nil
}

func (s *memStore) Claim(_ context.Context, origin string, _ time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claims[origin] {
		return false, nil
	}
	s.claims[origin] = true
	return true, nil
}

// countingGetter serves one robots.txt body, slowly, and counts fetches.
type countingGetter struct {
	status int
	body   string
	n      atomic.Int64
}

func (g *countingGetter) Get(ctx context.Context, _ string) (int, []byte, error) {
	g.n.Add(1)
	select {
	case <-time.After(20 * time.Millisecond):
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
	return g.status, []byte(g.body), nil
}

func TestStoreSharesAcrossCaches(t *testing.T) {
	tests := []struct {
		status      int
		body        string
		wantAllowed bool
		wantErr     bool
	}{
		{200, "User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n", false, false},
		{404, "", true, false},
		{503, "", false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("status %d", tt.status), func(t *testing.T) {
			store := newMemStore()
			g := &countingGetter{status: tt.status, body: tt.body}
			// Several "processes" check the same origin at once: one fetches,
			// the others wait for the store.
			var wg sync.WaitGroup
			u, _ := url.Parse("http://example.test/private/x")
			for range 5 {
				c := New(Options{Getter: g, Store: store})
				wg.Go(func() {
					d, err := c.Check(context.Background(), u)
					if (err != nil) != tt.wantErr || d.Allowed != tt.wantAllowed {
						t.Errorf("Check = %+v, %v; want allowed %v, error %v", d, err, tt.wantAllowed, tt.wantErr)
					}
					if tt.status == 200 && d.CrawlDelay != 2*time.Second {
						t.Errorf("CrawlDelay = %v; want 2s from the shared copy", d.CrawlDelay)
					}
				})
			}
			wg.Wait()
			if n := g.n.Load(); n != 1 {
				t.Errorf("robots.txt fetched %d times by 5 caches sharing a store; want 1", n)
			}
		})
	}
}

func TestStoreEntryExpires(t *testing.T) {
	store := newMemStore()
	g := &countingGetter{status: 200, body: "User-agent: *\nDisallow: /no\n"}
	clock := newClock()
	a := New(Options{Getter: g, Store: store, TTL: time.Hour})
	a.now = clock.Now
	u, _ := url.Parse("http://example.test/yes")
	if _, err := a.Check(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	// A second cache, started later, uses the shared copy until it expires.
	clock.Advance(30 * time.Minute)
	b := New(Options{Getter: g, Store: store, TTL: time.Hour})
	b.now = clock.Now
	if _, err := b.Check(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if n := g.n.Load(); n != 1 {
		t.Fatalf("fetched %d times; want 1", n)
	}
	clock.Advance(31 * time.Minute) // the shared copy and b's entry expire together
	store.claims = map[string]bool{}
	if _, err := b.Check(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if n := g.n.Load(); n != 2 {
		t.Errorf("fetched %d times after the shared copy expired; want 2", n)
	}
}
