package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
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
