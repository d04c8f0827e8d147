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
