package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/frontier/redis/redistest"
)

// TestLines appends from two frontiers of one job at once and reads the
// lines back on a client of the reader's own: each line once, numbered
// in one sequence, after skips, a blocked Read wakes for a new line, and
// Purge removes them.
func TestLines(t *testing.T) {
	srv := redistest.Start(t)
	url := srv.URL(0)
	ctx := context.Background()
	const perWriter = 300
	var wg sync.WaitGroup
	for w := range 2 {
		f, err := redis.Open(ctx, url, "lines", redis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		l, err := f.Lines("pages", 0)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i += 3 { // three lines a call
				batch := [][]byte{[]byte(fmt.Sprintf("w%d-%d", w, i)), []byte(fmt.Sprintf("w%d-%d", w, i+1)), []byte(fmt.Sprintf("w%d-%d", w, i+2))}
				if err := l.Append(ctx, batch...); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	opts, _ := goredis.ParseURL(url)
	c := goredis.NewClient(opts)
	defer c.Close()
	r, err := redis.JobLines(c, "lines", "pages")
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	after := int64(0)
	for {
		lines, next, err := r.Read(ctx, after, 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) == 0 {
			break
		}
		if next != after+int64(len(lines)) {
			t.Fatalf("read %d lines after %d, next %d", len(lines), after, next)
		}
		all, after = append(all, lines...), next
	}
	if len(all) != 2*perWriter {
		t.Fatalf("read %d lines, want %d", len(all), 2*perWriter)
	}
	seen := map[string]bool{}
	last := map[string]int{"w0": -1, "w1": -1}
	for _, l := range all {
		if seen[l] {
			t.Errorf("line %q twice", l)
		}
		seen[l] = true
		var w, i int
		fmt.Sscanf(l, "w%d-%d", &w, &i)
		if k := fmt.Sprint("w", w); i != last[k]+1 {
			t.Errorf("%s: line %d after %d: a writer's lines out of order", k, i, last[k])
		} else {
			last[k] = i
		}
	}
	// after skips that many lines.
	lines, next, err := r.Read(ctx, 595, 100, 0)
	if err != nil || len(lines) != 5 || lines[0] != all[595] || next != 600 {
		t.Errorf("Read after 595: %q, %d, %v; want the last 5 lines and 600", lines, next, err)
	}

	// A blocked Read wakes for a line appended meanwhile.
	got := make(chan []string, 1)
	go func() {
		lines, _, err := r.Read(ctx, 600, 10, time.Minute)
		if err != nil {
			t.Error(err)
		}
		got <- lines
	}()
	w, err := redis.JobLines(c, "lines", "pages")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, []byte("late")); err != nil {
		t.Fatal(err)
	}
	if l := <-got; len(l) != 1 || l[0] != "late" {
		t.Errorf("blocked Read got %q, want [late]", l)
	}

	if _, err := redis.Purge(ctx, url, "lines"); err != nil {
		t.Fatal(err)
	}
	if lines, _, err := r.Read(ctx, 0, 10, 0); err != nil || len(lines) != 0 {
		t.Errorf("after Purge: %q, %v", lines, err)
	}
}

// TestLinesTrimmed keeps about the newest maxLen lines: the oldest are
// gone, and reading from 0 skips to the first kept, numbered as before.
func TestLinesTrimmed(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	f, err := redis.Open(ctx, srv.URL(0), "trimmed", redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := f.Lines("log", 10)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		if err := l.Append(ctx, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	lines, next, err := l.Read(ctx, 0, n, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 || len(lines) > n/2 || next != n || lines[len(lines)-1] != fmt.Sprint(n-1) {
		t.Fatalf("read %d lines up to %d (last %q), want the newest few ending at %d", len(lines), next, lines[len(lines)-1:], n)
	}
	if first := fmt.Sprint(n - len(lines)); lines[0] != first {
		t.Errorf("first kept line %q, want %q: the kept lines are not the newest in order", lines[0], first)
	}
	if _, err := f.Lines("log", -1); err == nil {
		t.Error("Lines with a negative maxLen: no error")
	}
}

// TestLinesBadInput: bad names and counts are errors.
func TestLinesBadInput(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	for _, tc := range []struct{ job, name string }{{"j", ""}, {"j", "Pages"}, {"j", "a:b"}, {"j", strings.Repeat("a", 33)}, {"bad job", "pages"}} {
		if _, err := redis.JobLines(c, tc.job, tc.name); err == nil {
			t.Errorf("JobLines(%q, %q): no error", tc.job, tc.name)
		}
	}
	l, err := redis.JobLines(c, "j", "pages")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Read(context.Background(), -1, 1, 0); err == nil {
		t.Error("Read after -1: no error")
	}
}

// BenchmarkLinesAppend measures what publishing a page record costs a
// worker: an Append of one 400-byte line (a record, written through), or
// of 16 at once, against a PING (one round trip). It reports the time a
// line and the Redis memory a line keeps.
func BenchmarkLinesAppend(b *testing.B) {
	srv := redistest.Start(b)
	ctx := context.Background()
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr(), DisableIdentity: true})
	defer c.Close()
	usedMemory := func() float64 {
		info, err := c.Info(ctx, "memory").Result()
		if err != nil {
			b.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				var n float64
				fmt.Sscan(v, &n)
				return n
			}
		}
		b.Fatal("no used_memory in INFO")
		return 0
	}
	b.Run("ping", func(b *testing.B) {
		for b.Loop() {
			if err := c.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	record := []byte(`{"url":"http://127.0.0.1:8080/p/12345","status":200,"content_type":"text/html; charset=utf-8","bytes":5120,"depth":3,` +
		`"parent":"http://127.0.0.1:8080/p/1234","fetched_at":"2026-12-07T02:40:00.123456Z","duration_ms":21,"title":"Page 12345",` +
		`"links":6,"attempts":1,"worker":"host:1234","padding":"` + strings.Repeat("x", 90) + `"}`)
	for _, per := range []int{1, 16} {
		b.Run(fmt.Sprintf("lines=%d", per), func(b *testing.B) {
			l, err := redis.JobLines(c, fmt.Sprintf("bench%d", per), "pages")
			if err != nil {
				b.Fatal(err)
			}
			batch := make([][]byte, per)
			for i := range batch {
				batch[i] = record
			}
			before := usedMemory()
			n := 0
			for b.Loop() {
				if err := l.Append(ctx, batch...); err != nil {
					b.Fatal(err)
				}
				n += per
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/line")
			b.ReportMetric((usedMemory()-before)/float64(n), "redis-B/line")
		})
	}
}
