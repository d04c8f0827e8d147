package robots

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"
)

// Store shares fetched robots.txt files between Caches, such as those of
// the processes of one distributed crawl, so that each origin's robots.txt
// is fetched once for all of them rather than once per process. Keys are
// origins ("https://example.com:8443"); values are opaque to the Store.
// Implementations must be safe for concurrent use.
type Store interface {
	// Load returns the data stored for origin; ok is false if there is
	// none (or it has expired).
	Load(ctx context.Context, origin string) (data []byte, ok bool, err error)
	// Save stores data for origin for ttl.
	Save(ctx context.Context, origin string, data []byte, ttl time.Duration) error
}

// Claimer is an optional extension of a Store: before fetching an origin's
// robots.txt that the Store lacks, a Cache claims the fetch, and only the
// caller that wins fetches it; the others wait (up to claimTTL) for it to
// appear in the Store. Claim reports whether the caller won, the first
// claim within ttl winning.
type Claimer interface {
	Claim(ctx context.Context, origin string, ttl time.Duration) (bool, error)
}

const (
	// claimTTL bounds how long a claimed fetch holds the others back: past
	// it (the claimer died), they fetch for themselves.
	claimTTL = 30 * time.Second
	// storeFormat begins every stored entry.
	storeFormat = "robots/1\n"
)

// fetch returns origin's robots.txt: from the Store when it has it (with the
// time its stored copy expires), otherwise from the Getter (with a zero
// time), saving what it got. Network
// errors are never shared: they may be this process's alone. Store errors
// only cost the sharing: the Getter is used instead.
func (c *Cache) fetch(ctx context.Context, origin, robotsURL string) (status int, body []byte, expires time.Time, err error) {
	if c.store == nil {
		status, body, err = c.getter.Get(ctx, robotsURL)
		return status, body, time.Time{}, err
	}
	if status, body, expires, ok := c.load(ctx, origin); ok {
		return status, body, expires, nil
	}
	if cl, ok := c.store.(Claimer); ok {
		if won, err := cl.Claim(ctx, origin, claimTTL); err == nil && !won {
			if status, body, expires, ok := c.awaitStored(ctx, origin); ok {
				return status, body, expires, nil
			}
		}
	}
	status, body, err = c.getter.Get(ctx, robotsURL)
	if err != nil {
		return status, body, time.Time{}, err
	}
	ttl := c.ttl
	if status == 429 || status >= 500 || status < 200 {
		ttl = c.retryAfter
	}
	expires = c.now().Add(ttl)
	data := fmt.Appendf(nil, "%s%d\n%d\n", storeFormat, status, expires.UnixMilli())
	// Save with ctx's values but not its end: a crawl stopping mid-save
	// should still share what it fetched.
	_ = c.store.Save(context.WithoutCancel(ctx), origin, append(data, body...), ttl)
	return status, body, time.Time{}, nil
}

// load reads origin's entry from the Store.
func (c *Cache) load(ctx context.Context, origin string) (status int, body []byte, expires time.Time, ok bool) {
	data, ok, err := c.store.Load(ctx, origin)
	if err != nil || !ok {
		return 0, nil, time.Time{}, false
	}
	rest, found := bytes.CutPrefix(data, []byte(storeFormat))
	st, rest, found2 := bytes.Cut(rest, []byte{'\n'})
	exp, body, found3 := bytes.Cut(rest, []byte{'\n'})
	status, err1 := strconv.Atoi(string(st))
	ms, err2 := strconv.ParseInt(string(exp), 10, 64)
	if !found || !found2 || !found3 || err1 != nil || err2 != nil {
		return 0, nil, time.Time{}, false // not ours, or damaged: fetch again
	}
	expires = time.UnixMilli(ms)
	if !c.now().Before(expires) {
		return 0, nil, time.Time{}, false
	}
	return status, body, expires, true
}

// awaitStored polls the Store for origin's entry while another process
// fetches it, until it appears, claimTTL passes or ctx ends.
func (c *Cache) awaitStored(ctx context.Context, origin string) (status int, body []byte, expires time.Time, ok bool) {
	wait := 20 * time.Millisecond
	deadline := time.NewTimer(claimTTL)
	defer deadline.Stop()
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil, time.Time{}, false
		case <-deadline.C:
			t.Stop()
			return 0, nil, time.Time{}, false
		case <-t.C:
		}
		if status, body, expires, ok := c.load(ctx, origin); ok {
			return status, body, expires, true
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}
