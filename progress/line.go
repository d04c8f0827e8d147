package progress

import (
	"io"
	"sync"
	"unicode/utf8"
)

// Erasing escape: carriage return, then erase to the end of the line (ANSI
// EL), understood by every terminal emulator in use.
const eraseLine = "\r\x1b[K"

// Line is a status line kept at the bottom of a terminal: Set redraws it in
// place, and Write passes other output (log lines) through above it, so
// that the two never mix. Create it with NewLine; it is safe for concurrent
// use. It writes only to the writer it was given.
type Line struct {
	mu      sync.Mutex
	w       io.Writer
	width   int    // columns; 0 means unknown
	cur     string // the status shown, or "" when none is
	midLine bool   // the last Write did not end a line: do not draw now
	buf     []byte
}

// NewLine returns a Line drawing on w, which should be a terminal that is
// width columns wide (0 if unknown). A status longer than width-1 is cut,
// because a line that wraps cannot be redrawn in place.
func NewLine(w io.Writer, width int) *Line {
	return &Line{w: w, width: width}
}

// Set shows s (one line, no newline) in place of the current status.
func (l *Line) Set(s string) {
	if l.width > 1 && len(s) > l.width-1 {
		cut := l.width - 1
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cur = s
	if l.midLine {
		return
	}
	l.buf = append(l.buf[:0], '\r')
	l.buf = append(l.buf, s...)
	l.buf = append(l.buf, eraseLine[1:]...)
	_, _ = l.w.Write(l.buf) // a status line is best effort
}

// Clear removes the status line, leaving the cursor at the start of an
// empty line. Later Sets draw it again.
func (l *Line) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur != "" && !l.midLine {
		_, _ = io.WriteString(l.w, eraseLine)
	}
	l.cur = ""
}

// Write writes p above the status line: it erases the line, writes p and,
// once p has ended a line, draws the status again. It implements io.Writer
// for loggers.
func (l *Line) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = l.buf[:0]
	if l.cur != "" && !l.midLine {
		l.buf = append(l.buf, eraseLine...)
	}
	pre := len(l.buf)
	l.buf = append(l.buf, p...)
	if len(p) > 0 {
		l.midLine = p[len(p)-1] != '\n'
	}
	if l.cur != "" && !l.midLine {
		l.buf = append(l.buf, l.cur...)
		l.buf = append(l.buf, eraseLine[1:]...)
	}
	n, err := l.w.Write(l.buf)
	// Report how much of p, not of the escapes around it, was written.
	if err != nil {
		return min(max(n-pre, 0), len(p)), err
	}
	return len(p), nil
}
