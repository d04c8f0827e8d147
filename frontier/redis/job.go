package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/frontier"
)

// WorkerInfo describes a live worker of a job.
type WorkerInfo struct {
	// ID is the worker's id, unique per Open.
	ID string `json:"id"`
	// Name is Options.Worker (by default "<hostname>:<pid>").
	Name string `json:"name"`
	// Started is when the worker opened the job.
	Started time.Time `json:"started"`
	// Leased is the number of leases the worker holds.
	Leased int64 `json:"-"`
}

// Report is what Inspect tells about a job.
type Report struct {
	Stats   frontier.Stats
	Workers []WorkerInfo // live workers, by start time
}

// Inspect reads the counters and live workers of job without joining it.
// A job that does not exist reads as empty.
func Inspect(ctx context.Context, rawURL, job string) (Report, error) {
	if err := ValidJob(job); err != nil {
		return Report{}, err
	}
	c, err := dial(ctx, rawURL)
	if err != nil {
		return Report{}, err
	}
	defer c.Close()
	p := prefix(job)
	st, err := readStats(ctx, c, p)
	if err != nil {
		return Report{}, err
	}
	ids, err := c.SMembers(ctx, p+"workers").Result()
	if err != nil {
		return Report{}, fmt.Errorf("redis: workers: %w", err)
	}
	held, err := goredis.NewScript(ownersLua).Run(ctx, c, []string{p + "lease"}).Slice()
	if err != nil {
		return Report{}, fmt.Errorf("redis: leases: %w", err)
	}
	leased := map[string]int64{}
	for i := 0; i+1 < len(held); i += 2 {
		owner, _ := held[i].(string)
		leased[owner], _ = held[i+1].(int64)
	}
	rep := Report{Stats: st}
	for _, id := range ids {
		data, err := c.Get(ctx, p+"w:"+id).Result()
		if err == goredis.Nil {
			continue // dead: its leases go back at the next heartbeat
		}
		if err != nil {
			return Report{}, fmt.Errorf("redis: worker %s: %w", id, err)
		}
		var w WorkerInfo
		if json.Unmarshal([]byte(data), &w) != nil {
			w = WorkerInfo{ID: id, Name: "?"}
		}
		w.Leased = leased[id]
		rep.Workers = append(rep.Workers, w)
	}
	sort.Slice(rep.Workers, func(i, j int) bool { return rep.Workers[i].Started.Before(rep.Workers[j].Started) })
	return rep, nil
}

// Purge deletes every key of job and returns how many it deleted. Workers
// still running on the job see it drained.
func Purge(ctx context.Context, rawURL, job string) (int, error) {
	if err := ValidJob(job); err != nil {
		return 0, err
	}
	c, err := dial(ctx, rawURL)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	// ValidJob leaves no glob metacharacter in the pattern but the braces,
	// which MATCH takes literally.
	iter := c.Scan(ctx, 0, prefix(job)+"*", 1000).Iterator()
	n := 0
	batch := make([]string, 0, 500)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := c.Unlink(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("redis: purge: %w", err)
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return n, fmt.Errorf("redis: purge: %w", err)
	}
	return n, flush()
}

// AddSeeds records seeds as the job's seeds (those already recorded keep
// their place) and returns all of them, in the order they were first
// recorded. Workers that join a job without seeds of their own use them
// for their scope.
func (f *Frontier) AddSeeds(ctx context.Context, seeds []string) ([]string, error) {
	if err := f.check(ctx); err != nil {
		return nil, err
	}
	key := f.prefix + "seeds"
	if len(seeds) > 0 {
		now := float64(time.Now().UnixMicro())
		zs := make([]goredis.Z, len(seeds))
		for i, s := range seeds {
			zs[i] = goredis.Z{Score: now + float64(i), Member: s}
		}
		if err := f.client.ZAddNX(ctx, key, zs...).Err(); err != nil {
			return nil, fmt.Errorf("redis: seeds: %w", err)
		}
	}
	all, err := f.client.ZRange(ctx, key, 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: seeds: %w", err)
	}
	return all, nil
}

// RobotsStore returns a store of robots.txt files shared by the job's
// workers. It satisfies the Store and Claimer interfaces of package
// robots, and stays usable until f is closed.
func (f *Frontier) RobotsStore() *RobotsStore {
	return &RobotsStore{client: f.client, prefix: f.prefix + "robots:"}
}

// RobotsStore keeps robots.txt files in Redis, each under its own key with
// a TTL. It is safe for concurrent use.
type RobotsStore struct {
	client *goredis.Client
	prefix string
}

// Load returns the data stored for origin; ok is false if there is none.
func (s *RobotsStore) Load(ctx context.Context, origin string) ([]byte, bool, error) {
	b, err := s.client.Get(ctx, s.prefix+origin).Bytes()
	if err == goredis.Nil {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: robots: %w", err)
	}
	return b, true, nil
}

// Save stores data for origin for ttl, and drops origin's claim.
func (s *RobotsStore) Save(ctx context.Context, origin string, data []byte, ttl time.Duration) error {
	_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, s.prefix+origin, data, ttl)
		p.Del(ctx, s.prefix+"claim:"+origin)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: robots: %w", err)
	}
	return nil
}

// Claim reports whether the caller is the first, within ttl, to claim the
// fetch of origin's robots.txt.
func (s *RobotsStore) Claim(ctx context.Context, origin string, ttl time.Duration) (bool, error) {
	ok, err := s.client.SetNX(ctx, s.prefix+"claim:"+origin, strconv.FormatInt(time.Now().UnixMilli(), 10), ttl).Result()
	if err != nil {
		return false, fmt.Errorf("redis: robots: %w", err)
	}
	return ok, nil
}
