package redis

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// DefaultMaxLines is the number of lines a Lines keeps when its maxLen is
// zero: about that many, as Redis trims a stream by whole nodes.
const DefaultMaxLines = 1_000_000

var linesName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Lines is an append-only list of text lines of a job (its page records,
// its items, its log), kept in the Redis stream "out:<name>" under the
// job's prefix, so that Purge removes it with the job. Line i (0-based)
// is the entry with id 0-(i+1), numbered by Redis itself, so the
// workers appending to one job's Lines at once number their lines in one
// sequence; it needs Redis 7.0 or later. The stream is trimmed to about
// its maxLen newest lines: older ones are gone, and numbers are never
// reused. A Lines is safe for concurrent use.
type Lines struct {
	client *goredis.Client
	key    string
	maxLen int64
	// closed is the writing frontier's: retries end when it closes. Nil
	// for a reader.
	closed <-chan struct{}
	// onRetry is the writing frontier's Options.OnRetry.
	onRetry func(error)
}

// Lines returns the job's list of lines called name (1 to 32 lowercase
// letters, digits, '_' or '-') for appending to, keeping about maxLen of
// them (zero means DefaultMaxLines). It stays usable until f is closed;
// an Append retries connection errors as the frontier's calls do.
func (f *Frontier) Lines(name string, maxLen int64) (*Lines, error) {
	l, err := newLines(f.client, f.prefix, name)
	if err != nil {
		return nil, err
	}
	if maxLen < 0 {
		return nil, fmt.Errorf("redis: lines %s: negative maxLen %d", name, maxLen)
	}
	if maxLen > 0 {
		l.maxLen = maxLen
	}
	l.closed, l.onRetry = f.closed, f.opts.OnRetry
	return l, nil
}

// JobLines returns the list of lines called name of job on the caller's
// client c, for reading (or appending, without retries). c stays the
// caller's to close.
func JobLines(c *goredis.Client, job, name string) (*Lines, error) {
	if err := ValidJob(job); err != nil {
		return nil, err
	}
	return newLines(c, prefix(job), name)
}

func newLines(c *goredis.Client, prefix, name string) (*Lines, error) {
	if !linesName.MatchString(name) {
		return nil, fmt.Errorf("redis: lines name %q: want 1 to 32 lowercase letters, digits, '_' or '-'", name)
	}
	return &Lines{client: c, key: prefix + "out:" + name, maxLen: DefaultMaxLines}, nil
}

// SetMaxLen sets the number of lines that Append keeps, about: n of
// them (zero means DefaultMaxLines). Call it before l is shared.
func (l *Lines) SetMaxLen(n int64) {
	if n <= 0 {
		n = DefaultMaxLines
	}
	l.maxLen = n
}

// Append adds lines at the end, in order, with one round trip for all of
// them (a pipeline of XADDs). A line should not end in a newline. A
// connection error is retried, with backoff, until ctx ends (or the
// frontier that made l is closed); a call whose reply was lost may then
// add its lines twice.
func (l *Lines) Append(ctx context.Context, lines ...[]byte) error {
	if len(lines) == 0 {
		return nil
	}
	backoff := minBackoff
	for {
		_, err := l.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, line := range lines {
				p.XAdd(ctx, &goredis.XAddArgs{Stream: l.key, MaxLen: l.maxLen, Approx: true, ID: "0-*", Values: []any{"l", line}})
			}
			return nil
		})
		if err == nil {
			return nil
		}
		if !transient(err) || ctx.Err() != nil {
			return fmt.Errorf("redis: lines: %w", err)
		}
		if l.onRetry != nil {
			l.onRetry(err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("redis: lines: %w", ctx.Err())
		case <-l.closed:
			t.Stop()
			return fmt.Errorf("redis: lines: %w", err)
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// Read returns up to limit lines (at least 1) that come after the first
// after lines, and next, the count to pass as after to read on from
// there (lines trimmed away are skipped). With none there yet and block
// above zero, it waits up to block (rounded down to milliseconds, at
// least one) for one to come (XREAD BLOCK), or until ctx ends.
func (l *Lines) Read(ctx context.Context, after int64, limit int, block time.Duration) (lines []string, next int64, err error) {
	if after < 0 {
		return nil, after, fmt.Errorf("redis: lines: negative after %d", after)
	}
	args := &goredis.XReadArgs{Streams: []string{l.key, "0-" + strconv.FormatInt(after, 10)}, Count: int64(max(limit, 1)), Block: -1}
	if block > 0 {
		args.Block = max(block, time.Millisecond)
	}
	res, err := l.client.XRead(ctx, args).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, after, nil
	}
	if err != nil {
		return nil, after, fmt.Errorf("redis: lines: %w", err)
	}
	next = after
	for _, s := range res {
		for _, m := range s.Messages {
			_, seq, ok := strings.Cut(m.ID, "-")
			n, perr := strconv.ParseInt(seq, 10, 64)
			if !ok || perr != nil || !strings.HasPrefix(m.ID, "0-") {
				return lines, next, fmt.Errorf("redis: lines: entry %q: not one of ours", m.ID)
			}
			v, _ := m.Values["l"].(string)
			lines = append(lines, v)
			next = n
		}
	}
	return lines, next, nil
}
