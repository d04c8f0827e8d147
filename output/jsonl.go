package output

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/crawler"
)

// JSONLines is the crawl's record writer: a crawler.Handler that writes
// each recorded URL's crawler.Result as one JSON object per line. Lines
// are buffered and flushed at least every FlushEvery; a line is always
// written whole into the buffer, and Flush writes only whole lines, so a
// clean stop never leaves half a line. A Crawler given it as its Handler
// flushes it when Run or Pages returns. It is safe for concurrent use.
type JSONLines struct {
	encoders  sync.Pool // of *lineEncoder: records are encoded outside mu
	mu        sync.Mutex
	w         *bufio.Writer
	lastFlush time.Time
	// FlushEvery bounds how long a written line may sit in the buffer
	// before the next write flushes it. Zero means 200ms. Negative writes
	// every line through: it has reached w when HandlePage returns, as a
	// resumable crawl needs before it commits the URL's completion.
	FlushEvery time.Duration
}

// NewJSONLines returns a JSONLines writing to w. The caller owns w; close
// it after the crawl (or after Flush, when the writer is not given to a
// Crawler).
func NewJSONLines(w io.Writer) *JSONLines {
	s := &JSONLines{w: bufio.NewWriterSize(w, 64<<10), lastFlush: time.Now()}
	s.encoders.New = func() any {
		e := &lineEncoder{}
		e.enc = json.NewEncoder(&e.buf)
		e.enc.SetEscapeHTML(false)
		return e
	}
	return s
}

// lineEncoder encodes one record into its own buffer.
type lineEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// HandlePage implements crawler.Handler: it writes p.Result as one line.
func (s *JSONLines) HandlePage(_ context.Context, p *crawler.Page) error {
	return s.writeValue(p.Result)
}

// BorrowsPages implements crawler.Borrower: JSONLines keeps nothing of a
// Page once it is written.
func (s *JSONLines) BorrowsPages() bool { return true }

// writeValue writes any JSON-encodable value as one line.
func (s *JSONLines) writeValue(v any) error {
	e := s.encoders.Get().(*lineEncoder)
	defer s.encoders.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil { // Encode appends the newline
		return fmt.Errorf("output: encode record: %w", err)
	}
	return s.writeLine(e.buf.Bytes())
}

// writeLine appends one encoded line to the buffer, flushing first if it
// does not fit, so that a flush never splits a line.
func (s *JSONLines) writeLine(line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w.Available() < len(line) {
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("output: write records: %w", err)
		}
		s.lastFlush = time.Now()
	}
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("output: write records: %w", err)
	}
	every := s.FlushEvery
	if every == 0 {
		every = 200 * time.Millisecond
	}
	if now := time.Now(); every < 0 || now.Sub(s.lastFlush) >= every {
		s.lastFlush = now
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("output: write records: %w", err)
		}
	}
	return nil
}

// Flush writes every buffered line. It implements crawler.Flusher.
func (s *JSONLines) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("output: flush records: %w", err)
	}
	s.lastFlush = time.Now()
	return nil
}

// Guards: the record writer is a handler the crawler flushes; it and the
// other writers that keep nothing of a Page borrow the crawler's pages.
var (
	_ crawler.Handler  = (*JSONLines)(nil)
	_ crawler.Flusher  = (*JSONLines)(nil)
	_ crawler.Borrower = (*JSONLines)(nil)
	_ crawler.Borrower = (*JSONItems)(nil)
	_ crawler.Borrower = (*CSVItems)(nil)
	_ crawler.Borrower = (*WARC)(nil)
)
