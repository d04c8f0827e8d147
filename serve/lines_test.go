package serve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLines is a fakeCrawls whose jobs' lines are in memory (a
// LineReader), as a fleet's are in Redis.
type fakeLines struct {
	*fakeCrawls
	mu    sync.Mutex
	lines []string
	added chan struct{} // closed and replaced at each add
	err   error
}

var _ LineReader = (*fakeLines)(nil)

func (f *fakeLines) add(lines ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, lines...)
	close(f.added)
	f.added = make(chan struct{})
}

func (f *fakeLines) ReadLines(ctx context.Context, _, name string, after int64, limit int, wait time.Duration) ([]string, int64, error) {
	if name != PagesFile {
		return nil, after, nil
	}
	f.mu.Lock()
	added, err := f.added, f.err
	if after >= int64(len(f.lines)) && wait > 0 && err == nil {
		f.mu.Unlock()
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-added:
		case <-t.C:
		case <-ctx.Done():
			return nil, after, ctx.Err()
		}
		f.mu.Lock()
	}
	defer f.mu.Unlock()
	if err != nil {
		return nil, after, err
	}
	end := min(after+int64(limit), int64(len(f.lines)))
	if after >= end {
		return nil, after, nil
	}
	return f.lines[after:end], end, nil
}

// TestLineReader serves a job's lines from its Crawls' LineReader: all of
// them (more than one read's batch), from ?after=N, followed while the job
// runs and to its end, and a 503 when they cannot be read.
func TestLineReader(t *testing.T) {
	f := &fakeLines{fakeCrawls: newFakeCrawls(), added: make(chan struct{})}
	s, err := New(f, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	get := func(path string) (int, []string) {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSuffix(string(data), "\n"); s != "" {
			return resp.StatusCode, strings.Split(s, "\n")
		}
		return resp.StatusCode, nil
	}
	j, err := s.Create(Spec{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	<-f.start
	var want []string
	for i := range 2*readBatch + 5 {
		want = append(want, fmt.Sprintf(`{"n":%d}`, i))
	}
	f.add(want[:readBatch+3]...)
	// Followed: the stream sends what is there, stays open, and sends
	// what comes while the job runs.
	resp, err := http.Get(hs.URL + "/api/v1/jobs/" + j.ID + "/pages?follow=1&after=2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var followed []string
	for len(followed) < readBatch+1 && sc.Scan() {
		followed = append(followed, sc.Text())
	}
	if _, got := get("/api/v1/jobs/" + j.ID + "/pages"); !slices.Equal(got, want[:readBatch+3]) {
		t.Errorf("pages: %d lines, want %d", len(got), readBatch+3)
	}
	if _, got := get("/api/v1/jobs/" + j.ID + "/pages?after=" + fmt.Sprint(readBatch+1)); !slices.Equal(got, want[readBatch+1:readBatch+3]) {
		t.Errorf("pages after %d: %q", readBatch+1, got)
	}
	if _, got := get("/api/v1/jobs/" + j.ID + "/items"); len(got) != 0 {
		t.Errorf("items: %q, want none", got)
	}
	f.add(want[readBatch+3:]...)
	f.end("a")
	waitFor(t, s, j.ID, Finished)
	for sc.Scan() {
		followed = append(followed, sc.Text())
	}
	if !slices.Equal(followed, want[2:]) || sc.Err() != nil {
		t.Errorf("followed pages after 2: %d lines (%v), want %d", len(followed), sc.Err(), len(want)-2)
	}

	f.mu.Lock()
	f.err = errors.New("redis: connection refused")
	f.mu.Unlock()
	if code, got := get("/api/v1/jobs/" + j.ID + "/pages"); code != http.StatusServiceUnavailable || !strings.Contains(strings.Join(got, ""), "connection refused") {
		t.Errorf("pages unreadable: %d %q, want a 503 that says why", code, got)
	}
}
