package disk

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/internal/sched"
)

// Key prefixes. Every key of the store begins with one of these bytes; see
// doc.go for the layout.
const (
	prefixMeta  = 'M'
	prefixSeen  = 'S'
	prefixQueue = 'Q'
	prefixHost  = 'H'
	prefixLease = 'L'
	prefixPrio  = 'P'
)

// Meta keys.
var (
	keyVersion = []byte("Mversion")
	keyStats   = []byte("Mstats")
	keySeq     = []byte("Mseq")
	keyLeaseID = []byte("MleaseID")
	// keyPrios marks the priority counts (prefixPrio) as kept up to date;
	// only Strict crawls keep them.
	keyPrios = []byte("Mprios")
)

// errCorrupt reports a record that does not decode.
var errCorrupt = errors.New("disk: corrupt record")

// itemKey is the position of a request in its host's queue: the
// order-preserving encoding of its priority (sched.EncodePriority), then its
// arrival sequence; sched.Pos under another name, for brevity here.
type itemKey struct {
	prio uint64
	seq  uint64
}

func (a itemKey) less(b itemKey) bool {
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.seq < b.seq
}

func (a itemKey) pos() sched.Pos { return sched.Pos{Prio: a.prio, Seq: a.seq} }

func keyOf(p sched.Pos) itemKey { return itemKey{p.Prio, p.Seq} }

// seenKey returns the seen-set key of a fingerprint.
func seenKey(buf []byte, fp uint64) []byte {
	buf = append(buf[:0], prefixSeen)
	return binary.BigEndian.AppendUint64(buf, fp)
}

// queuePrefix returns the prefix shared by every queue key of host. The
// host's length goes first (as a uvarint, a prefix-free code), so no host's
// prefix is a prefix of another's and each host's queue is one key range.
func queuePrefix(host string) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(host))
	b = append(b, prefixQueue)
	b = binary.AppendUvarint(b, uint64(len(host)))
	return append(b, host...)
}

// queueKey appends the position k to a host's queue prefix.
func queueKey(buf, prefix []byte, k itemKey) []byte {
	buf = append(buf[:0], prefix...)
	buf = binary.BigEndian.AppendUint64(buf, k.prio)
	return binary.BigEndian.AppendUint64(buf, k.seq)
}

// queueUpper returns the exclusive upper bound of a host's queue range:
// every queue key is its prefix plus exactly 16 bytes.
func queueUpper(prefix []byte) []byte {
	b := append([]byte(nil), prefix...)
	for range 16 {
		b = append(b, 0xff)
	}
	return append(b, 0)
}

// decodeQueueKey returns the position encoded at the end of a queue key.
func decodeQueueKey(key []byte) (itemKey, error) {
	if len(key) < 17 {
		return itemKey{}, errCorrupt
	}
	tail := key[len(key)-16:]
	return itemKey{binary.BigEndian.Uint64(tail), binary.BigEndian.Uint64(tail[8:])}, nil
}

func prioKey(buf []byte, prio uint64) []byte {
	buf = append(buf[:0], prefixPrio)
	return binary.BigEndian.AppendUint64(buf, prio)
}

func hostKey(host string) []byte {
	return append([]byte{prefixHost}, host...)
}

func leaseKey(buf []byte, id uint64) []byte {
	buf = append(buf[:0], prefixLease)
	return binary.BigEndian.AppendUint64(buf, id)
}

// kindMarker opens the encoding of a request of another kind than a page
// (or of a negative depth): the kind follows it as one byte. Without it a
// record is a page, which keeps the records of format version 1, written
// before kinds existed, readable. As the first byte of an encoding without
// the marker it would be the depth -1, which no request has.
const kindMarker = 0x01

// appendRequest encodes r: for a request that is not a page, kindMarker and
// the kind; then depth and attempts as varints, the parent with its length,
// then the URL to the end.
func appendRequest(b []byte, r frontier.Request) []byte {
	if r.Kind != frontier.KindPage || r.Depth < 0 {
		b = append(b, kindMarker, byte(r.Kind))
	}
	b = binary.AppendVarint(b, int64(r.Depth))
	b = binary.AppendVarint(b, int64(r.Attempts))
	b = binary.AppendUvarint(b, uint64(len(r.Parent)))
	b = append(b, r.Parent...)
	return append(b, r.URL...)
}

func decodeRequest(b []byte) (frontier.Request, error) {
	var r frontier.Request
	if len(b) > 0 && b[0] == kindMarker {
		if len(b) < 2 {
			return r, errCorrupt
		}
		r.Kind = frontier.Kind(b[1])
		b = b[2:]
	}
	depth, n := binary.Varint(b)
	if n <= 0 {
		return r, errCorrupt
	}
	b = b[n:]
	attempts, n := binary.Varint(b)
	if n <= 0 {
		return r, errCorrupt
	}
	b = b[n:]
	plen, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < plen {
		return r, errCorrupt
	}
	b = b[n:]
	r.Depth, r.Attempts = int(depth), int(attempts)
	r.Parent = string(b[:plen])
	r.URL = string(b[plen:])
	return r, nil
}

// leaseRecord is what the store keeps of an outstanding lease: enough to
// put the request back where it was.
type leaseRecord struct {
	expires time.Time
	key     itemKey
	req     frontier.Request
}

func appendLease(b []byte, l leaseRecord) []byte {
	b = binary.AppendVarint(b, l.expires.UnixNano())
	b = binary.BigEndian.AppendUint64(b, l.key.prio)
	b = binary.BigEndian.AppendUint64(b, l.key.seq)
	return appendRequest(b, l.req)
}

func decodeLease(b []byte) (leaseRecord, error) {
	var l leaseRecord
	exp, n := binary.Varint(b)
	if n <= 0 || len(b) < n+16 {
		return l, errCorrupt
	}
	l.expires = time.Unix(0, exp)
	b = b[n:]
	l.key = itemKey{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
	r, err := decodeRequest(b[16:])
	l.req = r
	return l, err
}

// hostRecord is the persisted state of one host. Active hosts (with
// queued or leased requests) always have one; idle hosts only while their
// politeness state says something (a Crawl-delay, a future ready time).
type hostRecord struct {
	active      bool
	notBefore   time.Time
	nextAllowed time.Time
	crawlDelay  time.Duration
	// head is a lower bound of the host's queued positions, where a scan
	// of its queue starts (skipping the tombstones of consumed requests).
	head itemKey
}

func appendHost(b []byte, r hostRecord) []byte {
	var flags byte
	if r.active {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, unixNano(r.notBefore))
	b = binary.AppendVarint(b, unixNano(r.nextAllowed))
	b = binary.AppendVarint(b, int64(r.crawlDelay))
	b = binary.BigEndian.AppendUint64(b, r.head.prio)
	return binary.BigEndian.AppendUint64(b, r.head.seq)
}

func decodeHost(b []byte) (hostRecord, error) {
	var r hostRecord
	if len(b) < 1 {
		return r, errCorrupt
	}
	r.active = b[0]&1 != 0
	b = b[1:]
	var vals [3]int64
	for i := range vals {
		v, n := binary.Varint(b)
		if n <= 0 {
			return r, errCorrupt
		}
		vals[i], b = v, b[n:]
	}
	if len(b) != 16 {
		return r, errCorrupt
	}
	r.notBefore, r.nextAllowed = fromUnixNano(vals[0]), fromUnixNano(vals[1])
	r.crawlDelay = time.Duration(vals[2])
	r.head = itemKey{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
	return r, nil
}

// unixNano encodes t, with the zero time as 0.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// appendStats encodes the counters as varints; counters added later go at
// the end, and a record without them reads them as zero.
func appendStats(b []byte, s frontier.Stats) []byte {
	for _, v := range [...]int64{s.Queued, s.Leased, s.Done, s.Failed, s.Hosts, s.Seen, s.Duplicates} {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func decodeStats(b []byte) (frontier.Stats, error) {
	var v [7]int64
	for i := range v {
		if len(b) == 0 && i >= 6 {
			break
		}
		x, n := binary.Varint(b)
		if n <= 0 {
			return frontier.Stats{}, errCorrupt
		}
		v[i], b = x, b[n:]
	}
	return frontier.Stats{Queued: v[0], Leased: v[1], Done: v[2], Failed: v[3], Hosts: v[4], Seen: v[5], Duplicates: v[6]}, nil
}
