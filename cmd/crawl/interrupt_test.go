package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestInterruptTwice sends two signals to the watcher: the first cancels
// the run's context, the second writes out the buffers and quits with 130.
func TestInterruptTwice(t *testing.T) {
	exited := make(chan int, 1)
	var stderr bytes.Buffer
	s := &interrupt{exit: func(code int) { exited <- code }, stderr: &stderr}
	flushed := false
	s.setFlush(func() { flushed = true })
	sigs := make(chan os.Signal, 2)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.watch(sigs, cancel)

	sigs <- syscall.SIGINT
	<-ctx.Done()
	select {
	case code := <-exited:
		t.Fatalf("exit %d after one signal", code)
	default:
	}
	sigs <- syscall.SIGINT
	if code := <-exited; code != exitInterrupted || !flushed {
		t.Errorf("second signal: exit %d, flushed %v; want %d after a flush", code, flushed, exitInterrupted)
	}
	if !strings.Contains(stderr.String(), "quitting now") {
		t.Errorf("stderr %q: want it to say it quits", stderr.String())
	}
	var nilStop *interrupt // run in tests: nothing happens
	nilStop.setFlush(func() {})
	nilStop.quitAfter(0)()
	nilStop.quitNow()
}
