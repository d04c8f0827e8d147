package disk

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hivecrawl/crawl/frontier"
)

func TestDebugCommit(t *testing.T) {
	d := openTest(t, t.TempDir(), Options{})
	defer d.Close()
	var wg sync.WaitGroup
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(0, &ru0)
	start := time.Now()
	for w := range 32 {
		wg.Go(func() {
			reqs := make([]frontier.Request, 100)
			var buf []byte
			for n := 0; n < 30000; {
				for i := range reqs {
					reqs[i] = frontier.Request{URL: benchURL(buf, w, n)}
					n++
				}
				d.Add(context.Background(), reqs)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	syscall.Getrusage(0, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano())
	t.Logf("CPU %v: %v per add", cpu, cpu/(32*30000))
	m := d.db.Metrics()
	t.Logf("%v: %.0f adds/s; WAL fsync: %v", el, 32*30000/el.Seconds(), m.WAL)
	t.Logf("%s", m)
	_ = pebble.Sync
}
