package redis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/frontiertest"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
)

// TestMain quiets go-redis, which logs every failed dial of the tests
// that stop Redis on purpose.
func TestMain(m *testing.M) {
	goredis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// job returns a fresh job name for t: every frontier the suite opens
// starts empty.
func job(t *testing.T, n *atomic.Int64) string {
	name := strings.NewReplacer("/", ".", " ", "_").Replace(t.Name())
	name = strings.Map(func(r rune) rune {
		if r < 128 && (r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, name)
	return fmt.Sprintf("%d-%.80s", n.Add(1), name)
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL(0)
	var n atomic.Int64
	jobs := map[frontier.Frontier]string{}
	open := func(t *testing.T, name string, opts frontier.Options) frontier.Frontier {
		f, err := redis.Open(context.Background(), url, name, redis.Options{Options: opts})
		if errors.Is(err, redis.ErrStrict) {
			t.Skip("the Redis backend does not support Options.Strict")
		}
		if err != nil {
			t.Fatal(err)
		}
		jobs[f] = name
		return f
	}
	frontiertest.Run(t, frontiertest.Backend{
		New: func(t *testing.T, opts frontier.Options) frontier.Frontier {
			return open(t, job(t, &n), opts)
		},
		Reopen: func(t *testing.T, f frontier.Frontier, opts frontier.Options) frontier.Frontier {
			if err := f.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, jobs[f], opts)
		},
	})
}
