package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/hivecrawl/crawl/frontier"
)

// ErrStrict is returned by Open for Options.Strict, which this backend does
// not support: a global order across hosts would need every Lease to scan
// all ready hosts.
var ErrStrict = errors.New("redis: Options.Strict is not supported")

// Defaults of Options.
const (
	defaultHeartbeatTTL = 15 * time.Second
	// maxPoll bounds how long an idle Lease waits without hearing from
	// Redis, in case a wake-up message was lost (a reconnect).
	maxPoll = 250 * time.Millisecond
	// minBackoff and maxBackoff space the retries of a call that failed
	// for a connection error.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// Options configures a Frontier. The zero value is usable.
type Options struct {
	frontier.Options
	// Worker names this process in the job's list of live workers (crawl
	// status). Empty means "<hostname>:<pid>".
	Worker string
	// HeartbeatTTL is how long a worker stays listed as live without a
	// heartbeat; a worker that stopped beating (killed, cut off) has its
	// leases handed to others then, even before they expire. Heartbeats
	// go every third of it. Zero means 15s.
	HeartbeatTTL time.Duration
	// OnRetry, when set, is called with the error each time a call is
	// retried after a connection error (Redis down or restarting). It must
	// be safe for concurrent use.
	OnRetry func(err error)
}

// Validate reports whether Open can honour o: Strict is not supported, and
// no duration may be negative.
func (o Options) Validate() error {
	switch {
	case o.Strict:
		return ErrStrict
	case o.HeartbeatTTL < 0:
		return fmt.Errorf("redis: negative HeartbeatTTL %v", o.HeartbeatTTL)
	case o.LeaseTTL < 0:
		return fmt.Errorf("redis: negative LeaseTTL %v", o.LeaseTTL)
	}
	return nil
}

var jobName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidJob reports whether job is a usable job name: 1 to 100 letters,
// digits, '.', '_' or '-', beginning with a letter or digit.
func ValidJob(job string) error {
	if !jobName.MatchString(job) {
		return fmt.Errorf("redis: job name %q: want 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit", job)
	}
	return nil
}

// Frontier is a frontier.Frontier kept in Redis, shared by every process
// that opens the same job. It is safe for concurrent use. Close it to stop
// its heartbeat; leases it still holds are handed to other workers then.
type Frontier struct {
	opts   Options
	client *goredis.Client
	prefix string
	keys   []string // KEYS of every script: the meta hash
	id     string   // this worker's id, unique per Open
	info   string   // this worker's description, stored with its heartbeat
	s      *scripts

	// pollSlot lets one blocked Lease call at a time poll Redis; the others
	// queue behind it, so an idle process does not hammer Redis.
	pollSlot chan struct{}
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced when work may be available
	closed   chan struct{}
	once     sync.Once
	stop     context.CancelFunc // stops the background goroutines
	bg       sync.WaitGroup
}

var _ frontier.Frontier = (*Frontier)(nil)

// Open connects to the Redis at rawURL (redis://[user:pass@]host:port/db,
// or rediss:// for TLS) and opens job there, creating it if it does not
// exist. It registers this process as a live worker of the job, with a
// heartbeat, and hands back to their queues the leases of workers whose
// heartbeat has lapsed (including a previous run of this one that was
// closed). Unreachable Redis is an error, not a wait: it returns once ctx
// ends or the connection attempt fails.
func Open(ctx context.Context, rawURL, job string, opts Options) (*Frontier, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := ValidJob(job); err != nil {
		return nil, err
	}
	opts.Options = opts.Options.WithDefaults()
	if opts.HeartbeatTTL == 0 {
		opts.HeartbeatTTL = defaultHeartbeatTTL
	}
	if opts.Worker == "" {
		host, _ := os.Hostname()
		opts.Worker = host + ":" + strconv.Itoa(os.Getpid())
	}
	client, err := dial(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	var idb [8]byte
	rand.Read(idb[:])
	f := &Frontier{
		opts:     opts,
		client:   client,
		prefix:   prefix(job),
		id:       hex.EncodeToString(idb[:]),
		s:        newScripts(),
		pollSlot: make(chan struct{}, 1),
		changed:  make(chan struct{}),
		closed:   make(chan struct{}),
	}
	f.keys = []string{f.prefix + "meta"}
	info, _ := json.Marshal(WorkerInfo{ID: f.id, Name: opts.Worker, Started: time.Now().UTC()})
	f.info = string(info)

	// Subscribe before the first beat, so that no wake-up is missed.
	sub := client.Subscribe(ctx, f.prefix+"wake")
	if _, err := sub.Receive(ctx); err != nil {
		sub.Close()
		client.Close()
		return nil, fmt.Errorf("redis: subscribe: %w", err)
	}
	if err := f.beat(ctx); err != nil {
		sub.Close()
		client.Close()
		return nil, fmt.Errorf("redis: register worker: %w", err)
	}
	bgCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	f.stop = stop
	f.bg.Add(2)
	go f.listen(sub)
	go f.heartbeat(bgCtx)
	return f, nil
}

// dial connects to rawURL and checks that the server answers.
func dial(ctx context.Context, rawURL string) (*goredis.Client, error) {
	o, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	o.DisableIdentity = true // CLIENT SETINFO needs Redis 7.2
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	o.DialTimeout = 2 * time.Second
	o.DialerRetries = 1
	o.ContextTimeoutEnabled = true
	client := goredis.NewClient(o)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redis: cannot reach %s: %w", o.Addr, err)
	}
	return client, nil
}

// prefix returns the key prefix of job.
func prefix(job string) string { return "crawl:{" + job + "}:" }

// Worker returns the id this process is registered under in the job.
func (f *Frontier) Worker() string { return f.id }

// Add implements frontier.Frontier: one script call for the whole batch.
func (f *Frontier) Add(ctx context.Context, reqs []frontier.Request) (int, error) {
	if err := f.check(ctx); err != nil {
		return 0, err
	}
	if len(reqs) == 0 {
		return 0, nil
	}
	a := f.newArgs()
	a.links(reqs, f.opts.Scheduler)
	a.requests()
	v, err := f.run(ctx, f.s.add, a.out)
	if err != nil {
		return 0, fmt.Errorf("redis: add: %w", err)
	}
	n, err := intAt(v, 0)
	if err != nil {
		return 0, fmt.Errorf("redis: add: %w", err)
	}
	f.notify()
	return int(n), nil
}

// Lease implements frontier.Frontier. A call that finds nothing ready
// waits for a wake-up from Redis (published when work is added or a lease
// ends), for the next host's ready time or the next lease expiry, or for
// ctx; one blocked call per process polls at a time.
func (f *Frontier) Lease(ctx context.Context, n int) ([]frontier.Lease, error) {
	if n <= 0 {
		n = 1
	}
	if err := f.check(ctx); err != nil {
		return nil, err
	}
	if ls, _, err := f.leaseOnce(ctx, n); err != nil || ls != nil {
		return ls, err
	}
	select {
	case f.pollSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-f.closed:
		return nil, frontier.ErrClosed
	}
	defer func() { <-f.pollSlot }()
	// The slot's previous holder may have left work behind (it took one
	// of several requests a wake-up announced): try at once.
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		changed := f.changedChan()
		ls, wait, err := f.leaseOnce(ctx, n)
		if err != nil || ls != nil {
			return ls, err
		}
		if wait < 0 || wait > maxPoll {
			wait = maxPoll
		}
		timer.Reset(max(wait, 100*time.Microsecond))
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.closed:
			return nil, frontier.ErrClosed
		case <-changed:
		case <-timer.C:
		}
	}
}

// leaseOnce runs the lease script once. With no leases and no error it
// returns how long to wait before trying again (negative: unknown).
func (f *Frontier) leaseOnce(ctx context.Context, n int) ([]frontier.Lease, time.Duration, error) {
	ttl := f.opts.LeaseTTL
	start := time.Now()
	a := f.newArgs()
	a.out = append(a.out, n, ttl.Microseconds(), f.id)
	v, err := f.run(ctx, f.s.lease, a.out)
	if err != nil {
		if ctx.Err() != nil && !f.isClosed() {
			f.unlease(ctx, a.out[:3])
		}
		return nil, 0, fmt.Errorf("redis: lease: %w", err)
	}
	arr, ok := v.([]any)
	if !ok || len(arr) < 2 {
		return nil, 0, fmt.Errorf("redis: lease: unexpected reply %v", v)
	}
	status, _ := intAt(arr, 0)
	switch status {
	case 2:
		return nil, 0, frontier.ErrDrained
	case 1:
		wait, _ := intAt(arr, 1)
		if wait < 0 {
			return nil, -1, nil
		}
		return nil, time.Duration(wait) * time.Microsecond, nil
	}
	// Redis took the lease at or after start: reporting start+TTL never
	// promises more time than Redis gives, whatever the clocks say.
	expires := start.Add(ttl)
	ls := make([]frontier.Lease, 0, (len(arr)-2)/2)
	for i := 2; i+1 < len(arr); i += 2 {
		id, err := intAt(arr, i)
		if err != nil {
			return nil, 0, fmt.Errorf("redis: lease: %w", err)
		}
		member, _ := arr[i+1].(string)
		r, err := decodeMember(member)
		if err != nil {
			return nil, 0, fmt.Errorf("redis: lease %d: %w", id, err)
		}
		ls = append(ls, frontier.Lease{ID: uint64(id), Request: r, Expires: expires})
	}
	return ls, 0, nil
}

// unlease hands back the leases of a Lease call whose reply its context
// cut off, had the call run (args are its prefix, cap and token), so that
// they need not wait for their expiry; if it has not run, it never will.
// It is one try, bounded in time: if it fails, the leases expire as
// those of a dead worker do.
func (f *Frontier) unlease(ctx context.Context, args []any) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if f.s.unlease.Run(ctx, f.client, f.keys, args...).Err() == nil {
		f.notify()
	}
}

// Complete implements frontier.Frontier: one script call for the batch,
// links included.
func (f *Frontier) Complete(ctx context.Context, outcomes []frontier.Outcome) error {
	if err := f.check(ctx); err != nil {
		return err
	}
	if len(outcomes) == 0 {
		return nil
	}
	a := f.newArgs()
	for _, o := range outcomes {
		a.links(o.Links, f.opts.Scheduler)
	}
	a.appendInt(int64(len(outcomes)))
	now := time.Now()
	next := 0
	for _, o := range outcomes {
		a.outcome(o, now, next, next+len(o.Links))
		next += len(o.Links)
	}
	v, err := f.run(ctx, f.s.complete, a.out)
	if err != nil {
		return fmt.Errorf("redis: complete: %w", err)
	}
	f.notify()
	expired, _ := v.([]any)
	if len(expired) > 0 {
		first, _ := intAt(expired, 0)
		return fmt.Errorf("redis: complete %d of %d outcomes (first lease %d): %w",
			len(expired), len(outcomes), first, frontier.ErrLeaseExpired)
	}
	return nil
}

// Stats implements frontier.Frontier. It reads the job's counters, which
// every worker's changes update atomically.
func (f *Frontier) Stats(ctx context.Context) (frontier.Stats, error) {
	if err := f.check(ctx); err != nil {
		return frontier.Stats{}, err
	}
	st, err := readStats(ctx, f.client, f.prefix)
	if err != nil && f.isClosed() {
		return frontier.Stats{}, frontier.ErrClosed
	}
	return st, err
}

// readStats reads a job's counters.
func readStats(ctx context.Context, c *goredis.Client, prefix string) (frontier.Stats, error) {
	v, err := c.HMGet(ctx, prefix+"meta", "q", "l", "d", "f", "h", "s", "u").Result()
	if err != nil {
		return frontier.Stats{}, fmt.Errorf("redis: stats: %w", err)
	}
	n := make([]int64, len(v))
	for i, x := range v {
		if s, ok := x.(string); ok {
			n[i], _ = strconv.ParseInt(s, 10, 64)
		}
	}
	return frontier.Stats{Queued: n[0], Leased: n[1], Done: n[2], Failed: n[3], Hosts: n[4], Seen: n[5], Duplicates: n[6]}, nil
}

// Close implements frontier.Frontier. It stops the heartbeat and removes
// this worker from the job, so that the leases it still holds go back to
// their queues at the next heartbeat of any worker (or the next Open).
// Blocked Lease calls return ErrClosed.
func (f *Frontier) Close() error {
	already := true
	f.once.Do(func() {
		already = false
		close(f.closed)
		f.stop()
	})
	if already {
		return nil
	}
	f.bg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := f.client.Del(ctx, f.prefix+"w:"+f.id).Err()
	if cerr := f.client.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

func (f *Frontier) isClosed() bool {
	select {
	case <-f.closed:
		return true
	default:
		return false
	}
}

// check returns the error a call must fail with before it starts.
func (f *Frontier) check(ctx context.Context) error {
	if f.isClosed() {
		return frontier.ErrClosed
	}
	return ctx.Err()
}

// changedChan returns the channel the next wake-up closes.
func (f *Frontier) changedChan() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// notify wakes this process's blocked Lease calls.
func (f *Frontier) notify() {
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// listen turns the job's wake-up messages into local wake-ups until sub is
// closed. go-redis resubscribes by itself after a reconnect.
func (f *Frontier) listen(sub *goredis.PubSub) {
	defer f.bg.Done()
	ch := sub.Channel()
	go func() {
		<-f.closed
		sub.Close()
	}()
	for range ch {
		f.notify()
	}
}

// heartbeat keeps this worker registered and reaps for the whole job:
// expired leases and those of dead workers go back to their queues.
func (f *Frontier) heartbeat(ctx context.Context) {
	defer f.bg.Done()
	t := time.NewTicker(f.opts.HeartbeatTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			// Errors are those of a Redis that is down; the next beat
			// tries again, and the calls of the crawl report them.
			bctx, cancel := context.WithTimeout(ctx, f.opts.HeartbeatTTL/3)
			f.beat(bctx)
			cancel()
		}
	}
}

// beat runs the beat script once (no retries).
func (f *Frontier) beat(ctx context.Context) error {
	a := f.newArgs()
	a.out = append(a.out, f.id, f.info, f.opts.HeartbeatTTL.Milliseconds())
	a.out[2] = "" // no token: beats are idempotent
	return f.s.beat.Run(ctx, f.client, f.keys, a.out...).Err()
}

// run runs script s with args, retrying with backoff while the error is a
// connection error, until ctx ends or the frontier is closed. The call's
// token (args[2]) stays the same across retries, so a call whose reply was
// lost is not applied twice.
func (f *Frontier) run(ctx context.Context, s *goredis.Script, args []any) (any, error) {
	backoff := minBackoff
	var timer *time.Timer
	for {
		v, err := s.Run(ctx, f.client, f.keys, args...).Result()
		if err == nil || errors.Is(err, goredis.Nil) {
			return v, nil
		}
		switch {
		case f.isClosed():
			return nil, frontier.ErrClosed
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case !transient(err):
			return nil, err
		}
		if f.opts.OnRetry != nil {
			f.opts.OnRetry(err)
		}
		if timer == nil {
			timer = time.NewTimer(backoff)
			defer timer.Stop()
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-f.closed:
			return nil, frontier.ErrClosed
		case <-timer.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// Renew implements frontier.Frontier: one script call for the batch. It
// first hands back every lease that expired, so that a lease is never
// renewed after its expiry; the leases that had ended (expired, completed
// or handed back) are skipped and reported by an error wrapping
// frontier.ErrLeaseExpired.
func (f *Frontier) Renew(ctx context.Context, leases []frontier.Lease) error {
	if err := f.check(ctx); err != nil {
		return err
	}
	if len(leases) == 0 {
		return nil
	}
	a := f.newArgs()
	a.out[2] = "" // no token: renewing twice is renewing once
	a.appendInt(f.opts.LeaseTTL.Microseconds())
	for _, l := range leases {
		a.out = append(a.out, strconv.FormatUint(l.ID, 10))
	}
	v, err := f.run(ctx, f.s.renew, a.out)
	if err != nil {
		return fmt.Errorf("redis: renew: %w", err)
	}
	f.notify() // leases that expired may have gone back to their queues
	if ended, _ := v.([]any); len(ended) > 0 {
		first, _ := intAt(ended, 0)
		return fmt.Errorf("redis: renew %d of %d leases (first lease %d): %w",
			len(ended), len(leases), first, frontier.ErrLeaseExpired)
	}
	return nil
}
