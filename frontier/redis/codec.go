package redis

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/frontier"
)

var (
	//go:embed lua/prelude.lua
	preludeLua string
	//go:embed lua/add.lua
	addLua string
	//go:embed lua/lease.lua
	leaseLua string
	//go:embed lua/complete.lua
	completeLua string
	//go:embed lua/beat.lua
	beatLua string
	//go:embed lua/owners.lua
	ownersLua string
	//go:embed lua/renew.lua
	renewLua string
	//go:embed lua/unlease.lua
	unleaseLua string
)

// scripts are the Lua scripts every change goes through; each is the
// shared prelude followed by its own body.
type scripts struct {
	add, lease, complete, beat, renew, unlease *goredis.Script
}

func newScripts() *scripts {
	return &scripts{
		add:      goredis.NewScript(preludeLua + addLua),
		lease:    goredis.NewScript(preludeLua + leaseLua),
		complete: goredis.NewScript(preludeLua + completeLua),
		beat:     goredis.NewScript(preludeLua + beatLua),
		renew:    goredis.NewScript(preludeLua + renewLua),
		unlease:  goredis.NewScript(preludeLua + unleaseLua),
	}
}

// args builds a script's ARGV: the prefix, the cap, a fresh token, then
// the script's own arguments. Requests are encoded first (links), then
// appended in request sections (requests, requestRange).
type args struct {
	out   []any
	delay map[string]int64 // host -> scheduler delay (µs)
	reqs  []encoded
}

// encoded is a request as the scripts take it. The fingerprint comes in
// two parts so that the scripts need no struct call per URL: the field
// it is stored under in the seen set, and the bits that pick the bucket.
type encoded struct {
	field string // the fingerprint's top 7 bytes
	low   int64  // its low 32 bits
	host  string
	score string
	body  string
}

func (f *Frontier) newArgs() *args {
	return &args{
		out:   []any{f.prefix, f.opts.PerHostInFlight, strconv.FormatUint(rand.Uint64(), 36)},
		delay: map[string]int64{},
	}
}

func (a *args) appendInt(n int64) { a.out = append(a.out, n) }

// links encodes requests for a later requests or requestRange call.
func (a *args) links(reqs []frontier.Request, s frontier.Scheduler) {
	for _, r := range reqs {
		host := frontier.HostOf(r.URL)
		if _, ok := a.delay[host]; !ok {
			a.delay[host] = max(s.HostDelay(host), 0).Microseconds()
		}
		field, low := fingerprintParts(r.URL)
		a.reqs = append(a.reqs, encoded{
			field: field,
			low:   low,
			host:  host,
			score: score(s.Priority(r)),
			body:  encodeRequest(r),
		})
	}
}

// fingerprintParts returns the two parts of u's fingerprint the scripts
// take: the field it is stored under in the seen set (its top 7 bytes)
// and the bits that pick the bucket (its low 32 bits).
func fingerprintParts(u string) (field string, low int64) {
	var fp [8]byte
	binary.BigEndian.PutUint64(fp[:], frontier.Fingerprint(u))
	return string(fp[:7]), int64(binary.BigEndian.Uint32(fp[4:]))
}

func (a *args) requests() { a.requestRange(0, len(a.reqs)) }

// requestRange appends the encoded requests from..to as a request
// section, grouped by host (in the order of their hosts' first requests,
// each host's in their order), so that the scripts handle each host once
// per section: the group count, then per group the host, its scheduler
// delay, the request count and the requests.
func (a *args) requestRange(from, to int) {
	reqs := a.reqs[from:to]
	type group struct {
		host    string
		n, next int
	}
	var groups []group
	of := make([]int, len(reqs)) // request -> group
	pos := map[string]int{}      // host -> group
	for i, e := range reqs {
		g, ok := pos[e.host]
		if !ok {
			g = len(groups)
			pos[e.host] = g
			groups = append(groups, group{host: e.host})
		}
		groups[g].n++
		of[i] = g
	}
	next := 0
	for g := range groups {
		groups[g].next = next
		next += groups[g].n
	}
	sorted := make([]*encoded, len(reqs))
	for i := range reqs {
		g := &groups[of[i]]
		sorted[g.next] = &reqs[i]
		g.next++
	}
	a.out = append(a.out, len(groups))
	k := 0
	for _, g := range groups {
		a.out = append(a.out, g.host, a.delay[g.host], g.n)
		for _, e := range sorted[k : k+g.n] {
			a.out = append(a.out, e.field, e.low, e.score, e.body)
		}
		k += g.n
	}
}

// outcome appends o for the complete script, its links being the encoded
// requests from..to: the lease id, then 0 for a plain Done (no links, no
// URLs to mark seen, no host delay, no hold), or else the count of the
// arguments that follow: status (0 done, 1 failed, 2 retry, 3 release),
// the host's hold (µs from now; RetryAt, for any status) and host delay
// (µs), the URLs to mark seen (their count, then each one's fingerprint
// field and low bits) and the links.
func (a *args) outcome(o frontier.Outcome, now time.Time, from, to int) {
	a.out = append(a.out, strconv.FormatUint(o.Lease.ID, 10))
	hold := o.RetryAt.After(now)
	if o.Status == frontier.Done && from == to && len(o.Seen) == 0 && o.HostDelay <= 0 && !hold {
		a.out = append(a.out, 0)
		return
	}
	var retryIn time.Duration
	if hold {
		retryIn = o.RetryAt.Sub(now)
	}
	status := 0
	switch o.Status {
	case frontier.Failed:
		status = 1
	case frontier.Retry:
		status = 2
	case frontier.Release:
		status = 3
	}
	n := len(a.out)
	a.out = append(a.out, 0, status, retryIn.Microseconds(), max(o.HostDelay, 0).Microseconds(), len(o.Seen))
	for _, u := range o.Seen {
		field, low := fingerprintParts(u)
		a.out = append(a.out, field, low)
	}
	a.requestRange(from, to)
	a.out[n] = len(a.out) - n - 1
}

// score formats a priority for ZADD, exactly (shortest round-trip form).
// NaN, which sorted sets refuse, counts as 0.
func score(p float64) string {
	if math.IsNaN(p) {
		p = 0
	}
	switch {
	case math.IsInf(p, 1):
		return "+inf"
	case math.IsInf(p, -1):
		return "-inf"
	}
	return strconv.FormatFloat(p, 'g', -1, 64)
}

// encodeRequest encodes a request as a queue member's body:
// "attempts|depth|url\x00parent", the depth followed by ":kind" when the
// kind is not KindPage (so that a page is encoded as in layout 3). The
// scripts rewrite attempts on a retry and keep the rest as it is.
func encodeRequest(r frontier.Request) string {
	var b strings.Builder
	b.Grow(len(r.URL) + len(r.Parent) + 12)
	b.WriteString(strconv.Itoa(r.Attempts))
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(r.Depth))
	if r.Kind != frontier.KindPage {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(int(r.Kind)))
	}
	b.WriteByte('|')
	b.WriteString(r.URL)
	b.WriteByte(0)
	b.WriteString(r.Parent)
	return b.String()
}

// memberPrefix is the length of a queue member's arrival number.
const memberPrefix = 6

var errMember = errors.New("malformed queue member")

// decodeMember decodes a queue member: arrival number, then the body.
func decodeMember(m string) (frontier.Request, error) {
	if len(m) < memberPrefix {
		return frontier.Request{}, errMember
	}
	body := m[memberPrefix:]
	a, rest, ok1 := strings.Cut(body, "|")
	d, rest, ok2 := strings.Cut(rest, "|")
	u, parent, ok3 := strings.Cut(rest, "\x00")
	d, k, hasKind := strings.Cut(d, ":")
	attempts, err1 := strconv.Atoi(a)
	depth, err2 := strconv.Atoi(d)
	kind := 0
	var err3 error
	if hasKind {
		kind, err3 = strconv.Atoi(k)
		if err3 == nil && (kind <= 0 || kind > math.MaxUint8) {
			err3 = errMember
		}
	}
	if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil || err3 != nil {
		return frontier.Request{}, fmt.Errorf("%w %q", errMember, body)
	}
	return frontier.Request{URL: u, Depth: depth, Parent: parent, Attempts: attempts, Kind: frontier.Kind(kind)}, nil
}

// intAt returns the integer at v[i] of a script reply (an array).
func intAt(v any, i int) (int64, error) {
	arr, ok := v.([]any)
	if !ok || i >= len(arr) {
		return 0, fmt.Errorf("unexpected reply %v", v)
	}
	switch x := arr[i].(type) {
	case int64:
		return x, nil
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("unexpected reply element %v", arr[i])
}
