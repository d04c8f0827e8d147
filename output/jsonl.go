package crawler

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// JSONLines is a Sink that writes one JSON object per line. Lines are
// buffered and flushed at least every FlushEvery; a line is always written
// whole into the buffer, and Flush writes only whole lines, so a clean stop
// never leaves half a line. It is safe for concurrent use.
type JSONLines struct {
	encoders  sync.Pool // of *lineEncoder: records are encoded outside mu
	mu        sync.Mutex
	w         *bufio.Writer
	lastFlush time.Time
	// FlushEvery bounds how long a written line may sit in the buffer
	// before the next Write flushes it. Zero means 200ms. Negative writes
	// every line through: it has reached w when Write returns, as a
	// resumable crawl needs before it commits the URL's completion.
	FlushEvery time.Duration
}

// NewJSONLines returns a sink writing to w. The caller owns w and must call
// Flush before closing it.
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

// Write implements Sink.
func (s *JSONLines) Write(r *Result) error { return s.WriteValue(r) }

// WriteValue writes any JSON-encodable value as one line.
func (s *JSONLines) WriteValue(v any) error {
	e := s.encoders.Get().(*lineEncoder)
	defer s.encoders.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil { // Encode appends the newline
		return fmt.Errorf("crawler: encode record: %w", err)
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
			return fmt.Errorf("crawler: write records: %w", err)
		}
		s.lastFlush = time.Now()
	}
	if _, err := s.w.Write(line); err != nil {
		return fmt.Errorf("crawler: write records: %w", err)
	}
	every := s.FlushEvery
	if every == 0 {
		every = 200 * time.Millisecond
	}
	if now := time.Now(); every < 0 || now.Sub(s.lastFlush) >= every {
		s.lastFlush = now
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("crawler: write records: %w", err)
		}
	}
	return nil
}

// Flush writes every buffered line.
func (s *JSONLines) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("crawler: flush records: %w", err)
	}
	s.lastFlush = time.Now()
	return nil
}
