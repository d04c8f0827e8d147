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
	mu        sync.Mutex
	w         *bufio.Writer
	buf       bytes.Buffer
	enc       *json.Encoder
	lastFlush time.Time
	// FlushEvery bounds how long a written line may sit in the buffer
	// before the next Write flushes it. Zero means 200ms.
	FlushEvery time.Duration
}

// NewJSONLines returns a sink writing to w. The caller owns w and must call
// Flush before closing it.
func NewJSONLines(w io.Writer) *JSONLines {
	s := &JSONLines{w: bufio.NewWriterSize(w, 64<<10), lastFlush: time.Now()}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

// Write implements Sink.
func (s *JSONLines) Write(r *Result) error { return s.WriteValue(r) }

// WriteValue writes any JSON-encodable value as one line.
func (s *JSONLines) WriteValue(v any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	if err := s.enc.Encode(v); err != nil { // Encode appends the newline
		return fmt.Errorf("crawler: encode record: %w", err)
	}
	if s.w.Available() < s.buf.Len() {
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("crawler: write records: %w", err)
		}
		s.lastFlush = time.Now()
	}
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return fmt.Errorf("crawler: write records: %w", err)
	}
	every := s.FlushEvery
	if every == 0 {
		every = 200 * time.Millisecond
	}
	if now := time.Now(); now.Sub(s.lastFlush) >= every {
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
