package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// stopSlack is how long past --grace a stopping crawl may take to close
// its outputs and frontier before the process quits without them: a
// frontier that cannot be reached (Redis down) must not hold Ctrl-C up.
const stopSlack = 5 * time.Second

// flushTimeout bounds the flush of a quitting process: an output that
// cannot be written (a pipe nobody reads) must not keep it alive.
const flushTimeout = 2 * time.Second

// interrupt is how the process ends on Ctrl-C (or SIGTERM). The first
// signal ends run's context: the crawl stops leasing, lets requests in
// flight finish for up to --grace and closes everything. The second
// signal, or a stop that takes longer than --grace plus stopSlack, quits
// at once with status 130, after writing out the records still in
// buffers (whole lines only). A nil *interrupt (run in tests) does
// nothing.
type interrupt struct {
	exit   func(code int) // os.Exit in main
	stderr io.Writer

	mu    sync.Mutex
	flush func() // writes out what the outputs buffer; set by run
}

// watch waits for signals on sigs, for the life of the process: the
// first calls cancel, the second quits.
func (s *interrupt) watch(sigs <-chan os.Signal, cancel context.CancelFunc) {
	<-sigs
	cancel()
	<-sigs
	s.quitNow()
}

// setFlush registers what quitNow must write out before it quits.
func (s *interrupt) setFlush(f func()) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flush = f
}

// quitNow writes out the buffered records and ends the process (130).
func (s *interrupt) quitNow() {
	if s == nil {
		return
	}
	s.mu.Lock() // held to the end: one quit, and no flush replaced during it
	fmt.Fprintln(s.stderr, "crawl: quitting now: requests in flight are left to a later run")
	if s.flush != nil {
		flushed := make(chan struct{})
		go func() {
			defer close(flushed)
			s.flush()
		}()
		select {
		case <-flushed:
		case <-time.After(flushTimeout):
		}
	}
	s.exit(exitInterrupted)
}

// quitAfter makes the process quit (as quitNow) if it still runs after d;
// the returned function calls that off.
func (s *interrupt) quitAfter(d time.Duration) (stop func()) {
	if s == nil {
		return func() {}
	}
	t := time.AfterFunc(d, s.quitNow)
	return func() { t.Stop() }
}
