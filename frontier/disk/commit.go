package disk

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Group commit.
//
// Operations never write to the store themselves: under d.mu they change the
// in-memory state and log the same changes in d.pending, one log for
// everything done since the last commit. The committer swaps that log out
// (its generation is d.pendingGen), applies it as one batch with a sync
// outside d.mu, and
// wakes the Add and Complete calls waiting for that generation. Batches are
// applied one at a time, in order, so the store's order of writes is the
// operations' order, and every batch ends in a consistent state (the
// counters are written into it as it is sealed).
//
// Until a batch is applied the store does not show its writes, so the few
// reads the operations make look at overlays first: the seen marks of the
// pending and in-flight batches (pendingFP, flightFP), the hosts retired in
// them (recent), and each host's overlay of queued and consumed positions
// (host.spill, host.popped), which refillLocked merges with its scan.

// flight is a log being applied by the committer.
type flight struct {
	log *opLog
	gen uint64
}

// sealLocked appends the counters and sequences to the pending batch.
func (d *Disk) sealLocked() {
	d.pending.set(keyStats, appendStats(d.valBuf[:0], d.statsLocked()))
	if d.core.Seq != d.sealedSeq {
		d.pending.set(keySeq, binary.AppendUvarint(d.valBuf[:0], d.core.Seq))
		d.sealedSeq = d.core.Seq
	}
	if d.idDirty {
		d.pending.set(keyLeaseID, binary.AppendUvarint(d.valBuf[:0], d.idLimit))
		d.idDirty = false
	}
	for p := range d.prioDirty {
		d.keyBuf = prioKey(d.keyBuf, p)
		if n := d.core.Prios().Count(p); n > 0 {
			d.pending.set(d.keyBuf, binary.AppendUvarint(d.valBuf[:0], uint64(n)))
		} else {
			d.pending.del(d.keyBuf)
		}
	}
	clear(d.prioDirty)
}

// commitOnce applies and syncs the pending batch, if there is one, and
// wakes the callers waiting for it. It reports whether it committed
// anything.
func (d *Disk) commitOnce() (bool, error) {
	d.commitMu.Lock()
	defer d.commitMu.Unlock()
	d.mu.Lock()
	if d.pending.empty() {
		d.mu.Unlock()
		return false, nil
	}
	d.sealLocked()
	f := &flight{log: d.pending, gen: d.pendingGen}
	d.flight = f
	d.pending, d.spare = d.spare, nil
	d.pendingGen++
	d.pendingFP, d.flightFP = d.flightFP, d.pendingFP
	d.mu.Unlock()

	b := d.commitBatch
	err := f.log.writeTo(b)
	if err == nil {
		err = d.db.Apply(b, pebble.Sync)
	}
	b.Reset()

	d.mu.Lock()
	defer d.mu.Unlock()
	d.flight = nil
	clear(d.flightFP)
	f.log.reset()
	d.spare = f.log
	if err != nil {
		d.failLocked(err)
		return false, err
	}
	d.durableGen = f.gen
	d.dropOverlaysLocked(f.gen)
	close(d.durableCh)
	d.durableCh = make(chan struct{})
	return true, nil
}

// failLocked records a failed commit: every caller waiting for one, now or
// later, gets the error. Pebble itself treats a failed WAL write as fatal.
func (d *Disk) failLocked(err error) {
	if d.syncErr == nil {
		d.syncErr = fmt.Errorf("disk: commit: %w", err)
	}
	close(d.durableCh)
	d.durableCh = make(chan struct{})
}

// dropOverlaysLocked forgets the overlay entries of batches up to gen, now
// applied: the store shows them.
func (d *Disk) dropOverlaysLocked(gen uint64) {
	keep := d.overlaid[:0]
	for _, h := range d.overlaid {
		h.dropOverlay(gen)
		if len(h.spill) > 0 || len(h.popped) > 0 {
			keep = append(keep, h)
		} else {
			h.overlaid = false
		}
	}
	clear(d.overlaid[len(keep):])
	d.overlaid = keep
	for name, h := range d.recent {
		if h.retiredGen <= gen {
			delete(d.recent, name)
		}
	}
}

// waitDurable blocks until generation gen is synced or ctx ends. When ctx
// ends first it returns ctx's error: the change is made in memory and will
// be synced with its batch, but the caller is not told it is durable.
func (d *Disk) waitDurable(ctx context.Context, gen uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.durableGen < gen && d.syncErr == nil {
		ch := d.durableCh
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			d.mu.Lock()
			if d.durableGen >= gen || d.syncErr != nil {
				return d.syncErr
			}
			return ctx.Err()
		}
		d.mu.Lock()
	}
	return d.syncErr
}

// kickLocked tells the committer that the pending batch has something.
func (d *Disk) kickLocked() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// commitLoop commits at most once per CommitInterval, whenever something is
// pending, and once more when the Disk closes. It rewrites the stats file
// at most once per statsFileInterval.
func (d *Disk) commitLoop() {
	defer close(d.stopped)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var last, lastStats time.Time
	for {
		select {
		case <-d.kick:
		case <-d.stop:
			d.commitOnce()
			return
		}
		if wait := d.opts.CommitInterval - time.Since(last); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-d.stop:
				timer.Stop()
				d.commitOnce()
				return
			}
		}
		last = time.Now()
		if ok, _ := d.commitOnce(); ok && last.Sub(lastStats) >= statsFileInterval {
			lastStats = last
			d.mu.Lock()
			s := d.statsLocked()
			d.mu.Unlock()
			d.writeStatsFile(s)
		}
	}
}

// opLog records point writes in order, cheaply, for a commit to apply.
// Applying them sorted by key, the last write of each key only, costs pebble
// far less than the same writes in arrival order: its memtable is a skiplist,
// and neighbouring inserts share their search.
type opLog struct {
	buf []byte
	ops []logOp
}

type logOp struct {
	off        int // of the key in buf; the value follows it
	klen, vlen int
	prefix     uint64 // the key's first 8 bytes, big-endian: most comparisons end there
	del        bool
	fresh      bool // a set of a key the store does not hold
}

// keyPrefix packs the first 8 bytes of k (zero-padded) so that comparing
// prefixes orders keys as bytes.Compare does, up to ties.
func keyPrefix(k []byte) uint64 {
	var p [8]byte
	copy(p[:], k)
	return binary.BigEndian.Uint64(p[:])
}

func (l *opLog) set(k, v []byte) {
	l.ops = append(l.ops, logOp{off: len(l.buf), klen: len(k), vlen: len(v), prefix: keyPrefix(k)})
	l.buf = append(append(l.buf, k...), v...)
}

// setFresh logs a set of a key that the store does not hold (a new lease,
// a request with a new sequence): if the same log deletes it again, neither
// write reaches the store.
func (l *opLog) setFresh(k, v []byte) {
	l.set(k, v)
	l.ops[len(l.ops)-1].fresh = true
}

func (l *opLog) del(k []byte) {
	l.ops = append(l.ops, logOp{off: len(l.buf), klen: len(k), del: true, prefix: keyPrefix(k)})
	l.buf = append(l.buf, k...)
}

func (l *opLog) empty() bool { return len(l.ops) == 0 }

func (l *opLog) key(o logOp) []byte { return l.buf[o.off : o.off+o.klen] }

func (l *opLog) reset() {
	l.buf, l.ops = l.buf[:0], l.ops[:0]
}

// writeTo appends the log's net effect to b: for each key in order, its
// last write, or nothing for a key created and deleted in the log.
func (l *opLog) writeTo(b *pebble.Batch) error {
	// Ties go by offset: each key's writes stay in arrival order.
	slices.SortFunc(l.ops, func(x, y logOp) int {
		if x.prefix != y.prefix {
			if x.prefix < y.prefix {
				return -1
			}
			return 1
		}
		if c := bytes.Compare(l.key(x), l.key(y)); c != 0 {
			return c
		}
		return x.off - y.off
	})
	first := 0 // the first write of the current key
	for i, o := range l.ops {
		k := l.key(o)
		if i > 0 && !bytes.Equal(k, l.key(l.ops[i-1])) {
			first = i
		}
		if i+1 < len(l.ops) && bytes.Equal(k, l.key(l.ops[i+1])) {
			continue // overwritten
		}
		if o.del && l.ops[first].fresh {
			continue // created and deleted since the last commit
		}
		var err error
		if o.del {
			err = b.Delete(k, nil)
		} else {
			err = b.Set(k, l.buf[o.off+o.klen:o.off+o.klen+o.vlen], nil)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
