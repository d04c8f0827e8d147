package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/gofrs/flock"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/internal/sched"
)

// formatVersion is the layout of the store this package writes. Change it
// with any change of the key or value encodings. Version 2 added request
// kinds (see appendRequest); version 1 stores hold pages only and read the
// same, so Open upgrades them (and builds that read only version 1 refuse
// the store from then on, rather than misread a kind).
const formatVersion = 2

// minFormatVersion is the oldest layout this package reads.
const minFormatVersion = 1

// Files and folders in a state directory.
const (
	lockFile  = "crawl.lock" // flock(2)-ed by the process that has it open
	dbDir     = "pebble"     // the store
	statsFile = "stats"      // counters for ReadStats, rewritten by the committer
)

const (
	// leaseIDBlock is how many lease IDs are reserved (and synced) at once.
	leaseIDBlock = 4096
	// statsFileInterval is the most often the stats file is rewritten.
	statsFileInterval = time.Second
	// seenFilterMaxBytes caps the in-memory Bloom filter over the seen set.
	seenFilterMaxBytes = 64 << 20
)

// Sentinel errors of Open and ReadStats.
var (
	// ErrLocked is returned by Open when another Disk, in this process or
	// another, has the state directory open.
	ErrLocked = errors.New("disk: state directory in use by another crawl")
	// ErrIncompatible is returned (wrapped, with both versions) by Open and
	// ReadStats for a state directory written in another format.
	ErrIncompatible = errors.New("disk: incompatible state directory")
)

// Options configures a Disk. The zero value is usable.
type Options struct {
	frontier.Options
	// CommitInterval is the group-commit window: changes are synced to disk
	// at most this long after they were made, and Add and Complete return
	// once theirs are. Zero means 5ms.
	CommitInterval time.Duration
	// WindowPerHost is how many queued requests of each active host are kept
	// in memory; the rest stay on disk. Zero means 64.
	WindowPerHost int
}

// Validate reports options that cannot be used.
func (o Options) Validate() error {
	switch {
	case o.CommitInterval < 0:
		return fmt.Errorf("disk: negative CommitInterval %v", o.CommitInterval)
	case o.WindowPerHost < 0:
		return fmt.Errorf("disk: negative WindowPerHost %d", o.WindowPerHost)
	}
	return nil
}

func (o Options) withDefaults() Options {
	o.Options = o.Options.WithDefaults()
	if o.CommitInterval == 0 {
		o.CommitInterval = 5 * time.Millisecond
	}
	if o.WindowPerHost == 0 {
		o.WindowPerHost = 64
	}
	return o
}

// Disk is the embedded, crash-safe frontier backend: it keeps the queues,
// the seen set, host state and leases in a pebble store in a state
// directory, and only a window of each active host's queue in memory. It is
// safe for concurrent use. See the package documentation for what a crash
// can cost.
type Disk struct {
	opts Options
	dir  string
	lock *flock.Flock
	db   *pebble.DB

	mu sync.Mutex
	// core is the scheduling state (ready hosts, leases, politeness,
	// Strict's counts by priority, the Queued/Leased/Done/Failed counters
	// and the arrival sequence); its hooks log what it changes.
	core    *sched.Core[frontier.Request, frontier.Lease]
	hosts   map[string]*host // active hosts, and hosts touched by the current operation
	seen    *seenFilter
	nextID  uint64 // next lease ID
	idLimit uint64 // first lease ID not reserved in the store
	// prioDirty holds the priorities whose Strict counts changed since the
	// last commit.
	prioDirty map[uint64]struct{}
	// stats holds the counters the core does not keep: Hosts, Seen and
	// Duplicates (see statsLocked).
	stats frontier.Stats

	// reserveIDs durably records that lease IDs below limit are taken; a
	// seam for tests, which make it fail.
	reserveIDs func(limit uint64) error

	// Per-operation scratch, guarded by mu.
	touched []*host
	keyBuf  []byte
	valBuf  []byte

	// Group commit, guarded by mu (see commit.go); commitMu lets one
	// commit run at a time.
	commitMu    sync.Mutex
	pending     *opLog // the writes since the last swap
	spare       *opLog
	commitBatch *pebble.Batch // the committer's
	pendingGen  uint64        // the generation pending will have; ops wait for it
	durableGen  uint64        // every batch up to this generation is synced
	flight      *flight
	sealedSeq   uint64 // the arrival sequence in the store, as of the last seal
	idDirty     bool
	pendingFP   map[uint64]struct{} // seen marks in pending
	flightFP    map[uint64]struct{} // seen marks in flight
	recent      map[string]*host    // hosts retired in batches not yet applied
	overlaid    []*host             // hosts with an overlay (see host.spill)
	overlayOrd  uint64              // orders overlay entries
	syncErr     error
	durableCh   chan struct{} // closed and replaced after each sync
	kick        chan struct{} // wakes the committer; buffered
	stop        chan struct{} // closed by Close
	stopped     chan struct{} // closed by the committer when it returns
}

var _ frontier.Frontier = (*Disk)(nil)

// Open opens the state directory dir, creating it if need be, and returns
// the frontier it holds. Requests that were leased when the directory was
// last closed (or when its process died) are queued again, at their old
// places. It returns an error wrapping ErrLocked if dir is open elsewhere,
// and one wrapping ErrIncompatible if dir holds another format.
//
// Open reads the whole seen set once, to build its in-memory filter: a few
// seconds for five million URLs.
func Open(dir string, opts Options) (*Disk, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	lock := flock.New(filepath.Join(dir, lockFile))
	ok, err := lock.TryLock()
	if err != nil {
		return nil, fmt.Errorf("disk: lock %s: %w", dir, err)
	}
	if !ok {
		return nil, fmt.Errorf("disk: open %s: %w", dir, ErrLocked)
	}
	po := pebbleOptions(false)
	db, err := pebble.Open(filepath.Join(dir, dbDir), po)
	po.Cache.Unref() // the store holds its own reference
	if err != nil {
		_ = lock.Unlock()
		return nil, fmt.Errorf("disk: open %s: %w", dir, err)
	}
	d := &Disk{
		opts:       opts.withDefaults(),
		dir:        dir,
		lock:       lock,
		db:         db,
		hosts:      make(map[string]*host),
		pendingGen: 1,
		pendingFP:  make(map[uint64]struct{}),
		flightFP:   make(map[uint64]struct{}),
		recent:     make(map[string]*host),
		prioDirty:  make(map[uint64]struct{}),
		durableCh:  make(chan struct{}),
		kick:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		stopped:    make(chan struct{}),
	}
	d.pending, d.spare, d.commitBatch = &opLog{}, &opLog{}, db.NewBatch()
	d.core = sched.New(d.coreConfig())
	d.reserveIDs = func(limit uint64) error {
		return db.Set(keyLeaseID, binary.AppendUvarint(nil, limit), pebble.Sync)
	}
	if err := d.recover(); err != nil {
		_ = db.Close()
		_ = lock.Unlock()
		return nil, fmt.Errorf("disk: open %s: %w", dir, err)
	}
	d.writeStatsFile(d.statsLocked())
	go d.commitLoop()
	return d, nil
}

// pebbleOptions tunes pebble for the frontier, a write-heavy store read
// little (scans of the host queues from where their windows end, and the
// seen-set lookups the in-memory filter cannot settle): moderate memtables
// and block cache, compactions put off (more level-0 files before one, a
// larger base level) to cut write amplification, Bloom filters for the
// lookups, and no logging.
func pebbleOptions(readOnly bool) *pebble.Options {
	o := &pebble.Options{
		MemTableSize:                32 << 20,
		MemTableStopWritesThreshold: 3,
		L0CompactionThreshold:       12,
		L0StopWritesThreshold:       48,
		LBaseMaxBytes:               256 << 20,
		MaxOpenFiles:                500,
		Logger:                      quietLogger{},
		FormatMajorVersion:          pebble.FormatNewest,
		ReadOnly:                    readOnly,
	}
	for i := range o.Levels {
		o.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	// The cache holds mostly the tables' filter and index blocks, for the
	// lookups the in-memory filter cannot rule out; queue scans read each
	// data block about once.
	o.Cache = pebble.NewCache(32 << 20)
	return o
}

// quietLogger drops pebble's informational and error logs: a library does
// not write to the process's stderr unasked, and the errors that matter
// reach the caller through pebble's return values.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any)           {}
func (quietLogger) Errorf(string, ...any)          {}
func (quietLogger) Fatalf(format string, a ...any) { panic(fmt.Sprintf("pebble: "+format, a...)) }

// recover loads the state of the store into memory: the counters, the
// filter over the seen set, the active hosts and their windows, and queues
// the requests of the leases found again.
func (d *Disk) recover() error {
	if err := d.checkVersion(); err != nil {
		return err
	}
	stats, err := readStats(d.db)
	if err != nil {
		return err
	}
	d.core.Counts = sched.Counts{Queued: stats.Queued, Leased: stats.Leased, Done: stats.Done, Failed: stats.Failed}
	d.stats = frontier.Stats{Seen: stats.Seen, Duplicates: stats.Duplicates}
	if d.core.Seq, err = readUint(d.db, keySeq); err != nil {
		return err
	}
	d.sealedSeq = d.core.Seq
	if d.idLimit, err = readUint(d.db, keyLeaseID); err != nil {
		return err
	}

	d.seen = newSeenFilter(int(d.stats.Seen+d.stats.Seen/4), seenFilterMaxBytes)
	var seen int64
	if err := d.scan([]byte{prefixSeen}, func(k, _ []byte) error {
		if len(k) != 9 {
			return errCorrupt
		}
		d.seen.add(binary.BigEndian.Uint64(k[1:]))
		seen++
		return nil
	}); err != nil {
		return err
	}
	if seen != d.stats.Seen {
		return fmt.Errorf("stats count %d fingerprints seen; the store holds %d: %w", d.stats.Seen, seen, errCorrupt)
	}

	d.stats.Hosts = 0
	if err := d.scan([]byte{prefixHost}, func(k, v []byte) error {
		r, err := decodeHost(v)
		if err != nil || !r.active {
			return err
		}
		h := newHost(d, string(k[1:]))
		h.load(r)
		h.complete = false // its queue is on disk only
		d.hosts[h.Name] = h
		d.stats.Hosts++
		return nil
	}); err != nil {
		return err
	}

	if err := d.recoverPrios(); err != nil {
		return err
	}
	var requeued int64
	if err := d.scan([]byte{prefixLease}, func(k, v []byte) error {
		r, err := decodeLease(v)
		if err != nil {
			return err
		}
		h := d.hosts[frontier.HostOf(r.req.URL)]
		if h == nil {
			return fmt.Errorf("lease %x of inactive host: %w", k, errCorrupt)
		}
		d.pending.del(k)
		d.core.Restore(&h.Host, r.key.pos(), r.req)
		requeued++
		return nil
	}); err != nil {
		return err
	}
	// Restore counted the requests queued; they were counted leased.
	d.core.Counts.Leased -= requeued
	if d.core.Counts.Leased != 0 {
		return fmt.Errorf("stats count %d leases more than the store holds: %w", d.core.Counts.Leased, errCorrupt)
	}

	d.nextID = max(d.idLimit, 1)
	d.idLimit = d.nextID + leaseIDBlock
	d.idDirty = true
	for _, h := range d.hosts {
		if err := d.refillLocked(h); err != nil {
			return err
		}
		d.touchLocked(h)
		d.core.Update(&h.Host)
	}
	d.endOpLocked(time.Now())
	// The reserved lease IDs must be durable before any is handed out.
	if _, err := d.commitOnce(); err != nil {
		return err
	}
	return d.syncErr
}

// recoverPrios loads the priority counts of a Strict crawl, or counts the
// queued and leased requests when the last run was not Strict (one scan of
// the queues), and drops the counts when this run is not Strict: a later
// Strict run must not trust counts that went stale.
func (d *Disk) recoverPrios() error {
	kept, err := d.hasLocked(keyPrios)
	if err != nil {
		return err
	}
	if !d.opts.Strict {
		if !kept {
			return nil
		}
		d.pending.del(keyPrios)
		return d.scan([]byte{prefixPrio}, func(k, _ []byte) error {
			d.pending.del(k)
			return nil
		})
	}
	count := func(p uint64, n int) {
		d.core.Prios().Add(p, n)
	}
	if kept {
		return d.scan([]byte{prefixPrio}, func(k, v []byte) error {
			n, m := binary.Uvarint(v)
			if len(k) != 9 || m <= 0 {
				return errCorrupt
			}
			count(binary.BigEndian.Uint64(k[1:]), int(n))
			return nil
		})
	}
	if err := d.scan([]byte{prefixQueue}, func(k, _ []byte) error {
		key, err := decodeQueueKey(k)
		count(key.prio, 1)
		return err
	}); err != nil {
		return err
	}
	if err := d.scan([]byte{prefixLease}, func(_, v []byte) error {
		r, err := decodeLease(v)
		count(r.key.prio, 1)
		return err
	}); err != nil {
		return err
	}
	// Counts left by an earlier Strict run are stale.
	if err := d.scan([]byte{prefixPrio}, func(k, _ []byte) error {
		d.pending.del(k)
		return nil
	}); err != nil {
		return err
	}
	for p := range d.core.Prios().Priorities() {
		d.prioDirty[p] = struct{}{}
	}
	d.pending.set(keyPrios, []byte{1})
	return nil
}

// checkVersion reads the format version, or writes it into a new store.
func (d *Disk) checkVersion() error {
	v, closer, err := d.db.Get(keyVersion)
	if errors.Is(err, pebble.ErrNotFound) {
		it, err := d.db.NewIter(nil)
		if err != nil {
			return err
		}
		nonEmpty := it.First()
		if err := it.Close(); err != nil {
			return err
		}
		if nonEmpty {
			return fmt.Errorf("%w: the store has no format version; this build writes version %d",
				ErrIncompatible, formatVersion)
		}
		return d.db.Set(keyVersion, binary.AppendUvarint(nil, formatVersion), pebble.Sync)
	}
	if err != nil {
		return err
	}
	got, err := checkVersionValue(v)
	closer.Close()
	if err != nil || got == formatVersion {
		return err
	}
	return d.db.Set(keyVersion, binary.AppendUvarint(nil, formatVersion), pebble.Sync)
}

// checkVersionValue decodes a stored format version and checks that this
// build reads it.
func checkVersionValue(v []byte) (uint64, error) {
	got, n := binary.Uvarint(v)
	if n <= 0 || n != len(v) {
		return 0, fmt.Errorf("%w: unreadable format version %q; this build reads version %d",
			ErrIncompatible, v, formatVersion)
	}
	return got, checkVersionNumber(got)
}

func checkVersionNumber(got uint64) error {
	if got < minFormatVersion || got > formatVersion {
		return fmt.Errorf("%w: the store has format version %d; this build reads version %d (and %d up)",
			ErrIncompatible, got, formatVersion, minFormatVersion)
	}
	return nil
}

// readUint reads a uvarint meta value; absent means 0.
func readUint(r pebble.Reader, key []byte) (uint64, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	x, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, fmt.Errorf("%s: %w", key, errCorrupt)
	}
	return x, nil
}

func readStats(r pebble.Reader) (frontier.Stats, error) {
	v, closer, err := r.Get(keyStats)
	if errors.Is(err, pebble.ErrNotFound) {
		return frontier.Stats{}, nil
	}
	if err != nil {
		return frontier.Stats{}, err
	}
	defer closer.Close()
	return decodeStats(v)
}

// scan calls fn with every key and value that begins with prefix.
func (d *Disk) scan(prefix []byte, fn func(k, v []byte) error) error {
	upper := append(bytes.Clone(prefix[:len(prefix)-1]), prefix[len(prefix)-1]+1)
	it, err := d.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: upper})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			it.Close()
			return err
		}
	}
	return it.Close()
}

// Close implements frontier.Frontier: it syncs what was written, closes the
// store and releases the directory. Blocked Lease calls return ErrClosed.
// Leases still out stay recorded; the next Open queues their requests
// again. Closing twice returns nil.
func (d *Disk) Close() error {
	d.mu.Lock()
	if d.core.Closed() {
		d.mu.Unlock()
		return nil
	}
	d.core.Close()
	d.mu.Unlock()

	close(d.stop)
	<-d.stopped
	d.mu.Lock()
	s, syncErr := d.statsLocked(), d.syncErr
	d.mu.Unlock()
	d.writeStatsFile(s)
	err := errors.Join(syncErr, d.commitBatch.Close(), d.db.Close())
	if uerr := d.lock.Unlock(); uerr != nil {
		err = errors.Join(err, uerr)
	}
	if err != nil {
		return fmt.Errorf("disk: close %s: %w", d.dir, err)
	}
	return nil
}
