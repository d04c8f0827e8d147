package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
)

// recordWriter writes the page records in the --format asked for. It is
// a crawler.Handler that the crawler flushes when the crawl ends.
type recordWriter interface {
	crawler.Handler
	crawler.Flusher
}

// Guards: both formats are handlers the crawler flushes and lends pages to.
var (
	_ recordWriter     = (*output.JSONLines)(nil)
	_ recordWriter     = (*urlLines)(nil)
	_ crawler.Borrower = (*urlLines)(nil)
	_ crawler.Borrower = (*tally)(nil)
)

// newRecordWriter returns the writer of --format to w. writeThrough makes
// every record reach w before the crawl commits its URL, as a resumable
// crawl or a fleet worker needs: a killed process must not lose it.
func newRecordWriter(format string, w io.Writer, writeThrough bool) recordWriter {
	if format == formatURL {
		return &urlLines{w: bufio.NewWriter(w), writeThrough: writeThrough, lastFlush: time.Now()}
	}
	jl := output.NewJSONLines(w)
	if writeThrough {
		// Written through, not fsynced (see the README): a sync per
		// record, or per commit of the frontier, would slow every crawl
		// for the rare power loss.
		jl.FlushEvery = -1
	}
	return jl
}

// urlFlushEvery bounds how long a URL waits in urlLines' buffer, so that a
// pipe's reader sees URLs as the crawl finds them.
const urlFlushEvery = 200 * time.Millisecond

// urlLines writes --format url: the canonical URL of each URL recorded
// without an error, one per line. Lines are written whole. It is safe for
// concurrent use.
type urlLines struct {
	mu           sync.Mutex
	w            *bufio.Writer
	writeThrough bool
	lastFlush    time.Time
}

// HandlePage implements crawler.Handler.
func (u *urlLines) HandlePage(_ context.Context, p *crawler.Page) error {
	if p.Result.Error != "" {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.w.Available() < len(p.Result.URL)+1 {
		if err := u.w.Flush(); err != nil {
			return fmt.Errorf("write URLs: %w", err)
		}
	}
	u.w.WriteString(p.Result.URL)
	u.w.WriteByte('\n')
	if now := time.Now(); u.writeThrough || now.Sub(u.lastFlush) >= urlFlushEvery {
		u.lastFlush = now
		if err := u.w.Flush(); err != nil {
			return fmt.Errorf("write URLs: %w", err)
		}
	}
	return nil
}

// BorrowsPages implements crawler.Borrower: nothing of a Page is kept.
func (u *urlLines) BorrowsPages() bool { return true }

// Flush implements crawler.Flusher.
func (u *urlLines) Flush() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lastFlush = time.Now()
	if err := u.w.Flush(); err != nil {
		return fmt.Errorf("write URLs: %w", err)
	}
	return nil
}

// tally counts the records of a run for its summary and --fail-on-error:
// every record with an error is a failure, counted by class, except those
// robots.txt disallowed, which are counted as blocked. It is safe for
// concurrent use.
type tally struct {
	mu      sync.Mutex
	done    int64 // pages recorded without an error
	assets  int64 // assets recorded without an error
	blocked int64 // URLs robots.txt disallows
	failed  map[string]int64
}

func newTally() *tally { return &tally{failed: map[string]int64{}} }

// HandlePage implements crawler.Handler.
func (t *tally) HandlePage(_ context.Context, p *crawler.Page) error {
	r := p.Result
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case r.Error == "" && r.Asset:
		t.assets++
	case r.Error == "":
		t.done++
	case r.Error == crawler.ClassRobots:
		t.blocked++
	default:
		t.failed[r.Error]++
	}
	return nil
}

// BorrowsPages implements crawler.Borrower.
func (t *tally) BorrowsPages() bool { return true }

// progress returns the counts the progress line shows, as the summary
// counts them: pages recorded without an error, and failures.
func (t *tally) progress() (done, failed int64) {
	n := t.failures()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done, n
}

// failures is the number of records with an error, blocked ones aside.
func (t *tally) failures() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	for _, c := range t.failed {
		n += c
	}
	return n
}

// String is the summary's counts: "done 7, failed 3 (http_4xx 2,
// timeout 1), blocked by robots.txt 1"; the last part only when some were.
func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	type class struct {
		name string
		n    int64
	}
	var classes []class
	var failed int64
	for name, n := range t.failed {
		classes = append(classes, class{name, n})
		failed += n
	}
	slices.SortFunc(classes, func(a, b class) int { return cmp.Or(cmp.Compare(b.n, a.n), strings.Compare(a.name, b.name)) })
	var b strings.Builder
	fmt.Fprintf(&b, "done %d, failed %d", t.done, failed)
	if len(classes) > 0 {
		parts := make([]string, len(classes))
		for i, c := range classes {
			parts[i] = fmt.Sprintf("%s %d", c.name, c.n)
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(parts, ", "))
	}
	if t.blocked > 0 {
		fmt.Fprintf(&b, ", blocked by robots.txt %d", t.blocked)
	}
	return b.String()
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
