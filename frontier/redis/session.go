package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// SessionHash returns the job's session hash: a string map every worker
// of the job shares, where a crawl keeps its cookies (package session's
// HashStore) so that a cookie one worker got is sent by all. It stays
// usable until f is closed.
func (f *Frontier) SessionHash() *SessionHash {
	return &SessionHash{client: f.client, key: f.prefix + "session"}
}

// SessionHash is a Redis hash of strings. It is safe for concurrent use.
type SessionHash struct {
	client *goredis.Client
	key    string
}

// All returns every field and value of the hash.
func (h *SessionHash) All(ctx context.Context) (map[string]string, error) {
	m, err := h.client.HGetAll(ctx, h.key).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: session: %w", err)
	}
	return m, nil
}

// Update sets the fields of set and removes those of del, in one
// transaction.
func (h *SessionHash) Update(ctx context.Context, set map[string]string, del []string) error {
	if len(set)+len(del) == 0 {
		return nil
	}
	_, err := h.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		if len(set) > 0 {
			p.HSet(ctx, h.key, set)
		}
		if len(del) > 0 {
			p.HDel(ctx, h.key, del...)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: session: %w", err)
	}
	return nil
}

// releaseScript deletes a claim if its owner still holds it.
var releaseScript = goredis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// claimKey is the key of the claim called name.
func (h *SessionHash) claimKey(name string) string { return h.key + ":claim:" + name }

// Claim reports whether owner is now the only holder, for ttl or until it
// releases it, of the claim called name (a login, say), so that of the
// workers of a job that want to do one thing at once, one does it and the
// others wait for it (Held).
func (h *SessionHash) Claim(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	ok, err := h.client.SetNX(ctx, h.claimKey(name), owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redis: session: claim: %w", err)
	}
	return ok, nil
}

// Release drops owner's claim called name; a claim another owner holds
// (once owner's expired) is left alone.
func (h *SessionHash) Release(ctx context.Context, name, owner string) error {
	if err := releaseScript.Run(ctx, h.client, []string{h.claimKey(name)}, owner).Err(); err != nil {
		return fmt.Errorf("redis: session: release: %w", err)
	}
	return nil
}

// Held reports whether anyone holds the claim called name.
func (h *SessionHash) Held(ctx context.Context, name string) (bool, error) {
	n, err := h.client.Exists(ctx, h.claimKey(name)).Result()
	if err != nil {
		return false, fmt.Errorf("redis: session: claim: %w", err)
	}
	return n > 0, nil
}
