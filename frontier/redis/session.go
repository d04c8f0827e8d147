package redis

import (
	"context"
	"fmt"

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
