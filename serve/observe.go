package serve

import (
	"maps"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/crawler"
)

// failCounter counts failed fetches by class for the charts. The classes
// are the fetch package's closed set; past maxClasses, "other" takes the
// rest.
type failCounter struct {
	crawler.NopObserver
	mu sync.Mutex
	by map[string]int64
}

const maxClasses = 32

// FetchFinished implements crawler.Observer.
func (f *failCounter) FetchFinished(_ int, class string, _ int64, _ time.Duration) {
	if class == "" {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.by == nil {
		f.by = make(map[string]int64)
	}
	if _, ok := f.by[class]; !ok && len(f.by) >= maxClasses {
		class = "other"
	}
	f.by[class]++
}

func (f *failCounter) snapshot() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.by)
}

// observers sends each event to all of its members.
type observers []crawler.Observer

func (o observers) FetchStarted() {
	for _, x := range o {
		x.FetchStarted()
	}
}

func (o observers) FetchFinished(status int, class string, bytes int64, d time.Duration) {
	for _, x := range o {
		x.FetchFinished(status, class, bytes, d)
	}
}

func (o observers) Retried(class string) {
	for _, x := range o {
		x.Retried(class)
	}
}

func (o observers) RobotsBlocked() {
	for _, x := range o {
		x.RobotsBlocked()
	}
}

func (o observers) LinksDropped(reason string, n int) {
	for _, x := range o {
		x.LinksDropped(reason, n)
	}
}

func (o observers) Waited(d time.Duration) {
	for _, x := range o {
		x.Waited(d)
	}
}

var _ crawler.Observer = observers(nil)
