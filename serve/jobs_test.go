package serve

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/metrics"
)

// fakeCrawls runs crawls that last until their context ends or the test
// finishes them, and records the order they were opened in.
type fakeCrawls struct {
	mu     sync.Mutex
	opened []string             // job names, in order
	finish map[string]chan bool // by job name: closed to end the crawl
	start  chan string          // each opened job's name
}

func newFakeCrawls() *fakeCrawls {
	return &fakeCrawls{finish: map[string]chan bool{}, start: make(chan string, 100)}
}

func (f *fakeCrawls) Check(spec Spec, _ string) error {
	if spec.Name == "bad" {
		return errors.New("usage: bad job")
	}
	return nil
}

func (f *fakeCrawls) Open(_ context.Context, spec Spec, _ string, _ *metrics.Metrics, _ crawler.Observer, _ *slog.Logger) (*Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, spec.Name)
	ch, ok := f.finish[spec.Name]
	if !ok {
		ch = make(chan bool)
		f.finish[spec.Name] = ch
	}
	f.start <- spec.Name
	return &Run{Crawl: fakeCrawl{done: ch}, Close: func() error { return nil }}, nil
}

// end makes the job's crawl finish.
func (f *fakeCrawls) end(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.finish[name])
}

type fakeCrawl struct{ done chan bool }

func (c fakeCrawl) Run(ctx context.Context) (crawler.Summary, error) {
	select {
	case <-c.done:
		return crawler.Summary{Done: 1}, nil
	case <-ctx.Done():
		return crawler.Summary{}, ctx.Err()
	}
}
func (fakeCrawl) Progress() crawler.Progress { return crawler.Progress{} }
func (fakeCrawl) FrontierStats(context.Context) (frontier.Stats, error) {
	return frontier.Stats{}, nil
}

// waitFor waits until the job's status is want.
func waitFor(t *testing.T, s *Server, id string, want Status) Job {
	t.Helper()
	for {
		j, changed, err := s.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want && j.Stopping == "" {
			return j
		}
		if j.Status.ended() && !want.ended() {
			t.Fatalf("job %s ended %s, never %s", id, j.Status, want)
		}
		<-changed
	}
}

func TestJobTransitions(t *testing.T) {
	f := newFakeCrawls()
	s, err := New(f, Options{Dir: t.TempDir(), MaxRunning: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if _, err := s.Create(Spec{Name: "bad"}); !errors.As(err, new(*InvalidError)) {
		t.Errorf("a refused spec: %v, want an *InvalidError", err)
	}
	a, _ := s.Create(Spec{Name: "a"})
	b, _ := s.Create(Spec{Name: "b"})
	<-f.start
	if j, _, _ := s.Get(b.ID); j.Status != Pending {
		t.Fatalf("second job %s, want pending behind the first", j.Status)
	}
	steps := []struct {
		name string
		op   func(string) (Job, error)
		id   string
		want Status // after the operation; "" for a conflict
	}{
		{"pause pending", s.Pause, b.ID, Paused},
		{"pause paused", s.Pause, b.ID, Paused},
		{"pause running", s.Pause, a.ID, Paused},
		{"resume paused", s.Resume, a.ID, Running},
		{"cancel paused", s.Cancel, b.ID, Canceled},
		{"cancel canceled", s.Cancel, b.ID, Canceled},
		{"resume canceled", s.Resume, b.ID, ""},
		{"pause canceled", s.Pause, b.ID, ""},
		{"cancel running", s.Cancel, a.ID, Canceled},
	}
	for _, st := range steps {
		_, err := st.op(st.id)
		if st.want == "" {
			if !errors.Is(err, ErrConflict) {
				t.Errorf("%s: %v, want a conflict", st.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		waitFor(t, s, st.id, st.want)
	}
	if err := s.Delete(context.Background(), a.ID); err != nil {
		t.Error(err)
	}
	if _, _, err := s.Get(a.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted job: %v", err)
	}
}

// TestRestartResumesRunningFirst stops a server with one job running and
// two pending: the next server starts the one that was running first, then
// the others in their order.
func TestRestartResumesRunningFirst(t *testing.T) {
	dir := t.TempDir()
	f := newFakeCrawls()
	s, err := New(f, Options{Dir: dir, MaxRunning: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.Create(Spec{Name: "a"})
	s.Create(Spec{Name: "b"})
	s.Create(Spec{Name: "c"})
	<-f.start
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if j, _, _ := s.Get(a.ID); j.Status != Running {
		t.Errorf("after a shutdown, the running job is %s: want it recorded running", j.Status)
	}

	f2 := newFakeCrawls()
	s2, err := New(f2, Options{Dir: dir, MaxRunning: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Shutdown(context.Background())
	for _, want := range []string{"a", "b", "c"} {
		if got := <-f2.start; got != want {
			t.Fatalf("started %s, want %s (the running one first, then in order)", got, want)
		}
		f2.end(want)
	}
	for _, j := range s2.List("") {
		waitFor(t, s2, j.ID, Finished)
	}
}
