package progress

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock drives run in tests: tick advances the time, makes run report
// once, and returns the report. startFake waits for run to read its start
// time, and then the channels order every access to now.
type fakeClock struct {
	t       *testing.T
	now     time.Time
	ticks   chan time.Time
	reports chan Status
}

func startFake(t *testing.T, opts Options, src func(context.Context) Snapshot) *fakeClock {
	t.Helper()
	c := &fakeClock{
		t:       t,
		now:     time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		ticks:   make(chan time.Time),
		reports: make(chan Status),
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, started := make(chan struct{}), make(chan struct{})
	var once sync.Once
	now := func() time.Time {
		t := c.now
		once.Do(func() { close(started) })
		return t
	}
	go func() {
		defer close(done)
		run(ctx, src, opts, func(s Status) { c.reports <- s }, now, c.ticks)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	<-started
	return c
}

// tick moves the clock by d, ticks, and returns the report.
func (c *fakeClock) tick(d time.Duration) Status {
	c.t.Helper()
	c.now = c.now.Add(d)
	c.ticks <- c.now
	select {
	case s := <-c.reports:
		return s
	case <-time.After(5 * time.Second):
		c.t.Fatal("no report after a tick")
		return Status{}
	}
}

func TestRunRatesAndETA(t *testing.T) {
	var snap Snapshot
	c := startFake(t, Options{MaxPages: 1000, Window: 10 * time.Second}, func(context.Context) Snapshot { return snap })

	snap = Snapshot{Done: 90, Failed: 10, InFlight: 4, Queued: 300}
	s := c.tick(time.Second)
	if s.PagesPerSecond != 100 || s.Elapsed != time.Second || s.Snapshot != snap {
		t.Fatalf("after 1s: %+v", s)
	}
	if s.ETA != 9*time.Second { // 900 left at 100/s
		t.Errorf("ETA %s, want 9s", s.ETA)
	}
	if got, want := s.String(), "done 90  failed 10  in flight 4  queued 300  100.0 pages/s  elapsed 1s  ETA 9s"; got != want {
		t.Errorf("String:\n got %q\nwant %q", got, want)
	}

	// The rate looks back over the window only: 20 s later, with 10 pages
	// per second over the last 10 s, it says 10.
	for i := range 20 {
		snap.Done = 100 + int64(i+1)*10
		s = c.tick(time.Second)
	}
	if s.PagesPerSecond != 10 {
		t.Errorf("rate after a slowdown %.2f, want 10", s.PagesPerSecond)
	}
	if s.Elapsed != 21*time.Second || s.ETA != 69*time.Second { // 690 left at 10/s
		t.Errorf("elapsed %s ETA %s, want 21s and 1m9s", s.Elapsed, s.ETA)
	}

	// A stalled crawl has no ETA; a finished budget has ETA 0.
	for range 11 {
		s = c.tick(time.Second)
	}
	if s.PagesPerSecond != 0 || s.ETA >= 0 || !strings.HasSuffix(s.String(), "ETA ?") {
		t.Errorf("stalled: rate %.2f ETA %s %q", s.PagesPerSecond, s.ETA, s)
	}
	snap.Done = 1000
	if s = c.tick(time.Second); s.ETA != 0 {
		t.Errorf("budget reached: ETA %s, want 0", s.ETA)
	}
}

func TestRunWithoutBudgetHasNoETA(t *testing.T) {
	c := startFake(t, Options{}, func(context.Context) Snapshot { return Snapshot{Done: 5, Queued: -1} })
	s := c.tick(2 * time.Second)
	if got, want := s.String(), "done 5  failed 0  in flight 0  queued ?  2.5 pages/s  elapsed 2s"; got != want {
		t.Errorf("String:\n got %q\nwant %q", got, want)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Run(ctx, func(context.Context) Snapshot { return Snapshot{} }, Options{Interval: time.Millisecond}, func(Status) {})
	}()
	time.Sleep(5 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{1499 * time.Millisecond, "1s"},
		{59 * time.Second, "59s"},
		{3*time.Minute + 5*time.Second, "3m05s"},
		{2*time.Hour + 3*time.Minute + 5*time.Second, "2h03m05s"},
	} {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestLine(t *testing.T) {
	tests := []struct {
		name  string
		width int
		do    func(l *Line)
		want  string
	}{
		{"set redraws in place", 0, func(l *Line) { l.Set("a"); l.Set("bb") },
			"\ra\x1b[K\rbb\x1b[K"},
		{"log line goes above the status", 0, func(l *Line) {
			l.Set("status")
			l.Write([]byte("log 1\n"))
		}, "\rstatus\x1b[K" + "\r\x1b[Klog 1\n" + "status\x1b[K"},
		{"no status, plain passthrough", 0, func(l *Line) { l.Write([]byte("log\n")) }, "log\n"},
		{"partial line holds the status back", 0, func(l *Line) {
			l.Set("s")
			l.Write([]byte("par"))
			l.Set("t") // not drawn: it would land mid-line
			l.Write([]byte("tial\n"))
		}, "\rs\x1b[K" + "\r\x1b[Kpar" + "tial\nt\x1b[K"},
		{"clear", 0, func(l *Line) { l.Set("s"); l.Clear(); l.Write([]byte("x\n")) },
			"\rs\x1b[K\r\x1b[Kx\n"},
		{"cut to the width", 6, func(l *Line) { l.Set("1234567890") }, "\r12345\x1b[K"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.do(NewLine(&b, tt.width))
			if b.String() != tt.want {
				t.Errorf("wrote %q\n     want %q", b.String(), tt.want)
			}
		})
	}
}

type failWriter struct{ n int }

func (w failWriter) Write(p []byte) (int, error) { return min(w.n, len(p)), errors.New("broken") }

func TestLineWriteCountsOnlyP(t *testing.T) {
	l := NewLine(failWriter{n: 100}, 0)
	l.Set("status")
	// The erase escape (4 bytes) is written before p, so 10 of p's bytes
	// made it out of 100 written... capped at len(p).
	if n, err := l.Write([]byte("0123456789\n")); err == nil || n != 11 {
		t.Errorf("Write = %d, %v; want 11 and an error", n, err)
	}
	l2 := NewLine(failWriter{n: 6}, 0)
	l2.Set("status")
	if n, err := l2.Write([]byte("0123456789\n")); err == nil || n != 2 {
		t.Errorf("Write = %d, %v; want 2 (6 written minus the 4-byte escape) and an error", n, err)
	}
}

// BenchmarkReport measures one terminal report: render the status and
// redraw the line. Run does this four times a second on a terminal.
func BenchmarkReport(b *testing.B) {
	l := NewLine(io.Discard, 120)
	s := Status{
		Snapshot: Snapshot{Done: 123456, Failed: 12, InFlight: 16, Queued: 98765},
		MaxPages: 1000000, Elapsed: 83 * time.Second, PagesPerSecond: 1234.5, ETA: 7 * time.Minute,
	}
	for b.Loop() {
		l.Set("crawl: " + s.String())
	}
}
