package disk

import (
	"context"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hivecrawl/crawl/frontier"
)

var debugN = 2_000_000

func TestDebugTune(t *testing.T) {
	if os.Getenv("DISK_DEBUG") == "" {
		t.Skip()
	}
	tunes := map[string]func(*pebble.Options){
		"base": nil,
		"l0": func(o *pebble.Options) {
			o.L0CompactionThreshold = 16
			o.L0StopWritesThreshold = 64
			o.LBaseMaxBytes = 256 << 20
		},
		"fmt":   func(o *pebble.Options) { o.FormatMajorVersion = pebble.FormatFlushableIngest },
		"mem64": func(o *pebble.Options) { o.MemTableSize = 64 << 20; o.MemTableStopWritesThreshold = 2 },
		"all": func(o *pebble.Options) {
			o.L0CompactionThreshold = 16
			o.L0StopWritesThreshold = 64
			o.LBaseMaxBytes = 256 << 20
			o.FormatMajorVersion = pebble.FormatFlushableIngest
		},
	}
	for _, name := range strings.Fields(os.Getenv("DISK_DEBUG")) {
		t.Run(name, func(t *testing.T) {
			debugTune = tunes[name]
			TestDebugCommit(t)
		})
	}
	debugTune = nil
}

func TestDebugCommit(t *testing.T) {
	if os.Getenv("DISK_DEBUG") == "" {
		t.Skip()
	}
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
			for n := 0; n < debugN/32; {
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
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	t.Logf("CPU %v: %v per add", cpu, cpu/time.Duration(debugN))
	m := d.db.Metrics()
	t.Logf("%v: %.0f adds/s; WAL fsync: %v", el, float64(debugN)/el.Seconds(), m.WAL)
	t.Logf("compactions %d, written %d MB", m.Compact.Count, m.Total().TableBytesFlushed+m.Total().TableBytesCompacted>>20)
	_ = pebble.Sync
}
