package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/robots"
)

// defaultJob is the job of --frontier when --job is not given.
const defaultJob = "default"

// The Redis store satisfies the robots package's optional interfaces.
var (
	_ robots.Store   = (*redis.RobotsStore)(nil)
	_ robots.Claimer = (*redis.RobotsStore)(nil)
)

// fleetOptions are the options of a distributed crawl: many crawl
// processes sharing one job's frontier in Redis.
type fleetOptions struct {
	Frontier string        `yaml:"frontier"`
	Job      string        `yaml:"job"`
	LeaseTTL time.Duration `yaml:"lease-ttl"`
}

func (o *fleetOptions) addFlags(g *flagGroups) {
	fs := g.fleet
	fs.StringVar(&o.Frontier, "frontier", o.Frontier, "share the frontier with other crawl processes in Redis at `url` (redis://[user:pass@]host:port/db)")
	fs.StringVar(&o.Job, "job", cmp.Or(o.Job, defaultJob), "with --frontier: the `name` of the shared crawl (several can share one Redis)")
	fs.DurationVar(&o.LeaseTTL, "lease-ttl", o.LeaseTTL, "with --frontier: how long a worker may hold a URL before others get it (0 = 2×timeout + grace + 1m)")
}

func (o *fleetOptions) validate(state string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	if o.LeaseTTL < 0 {
		return bad("--lease-ttl must not be negative (got %s)", o.LeaseTTL)
	}
	if o.Frontier == "" {
		return nil
	}
	if state != "" {
		return bad("--frontier and --state do not go together: the job's state is in Redis")
	}
	if err := checkRedisURL(o.Frontier); err != nil {
		return bad("--frontier: %v", err)
	}
	if err := redis.ValidJob(o.Job); err != nil {
		return bad("--job: %v", err)
	}
	return nil
}

// checkRedisURL accepts redis:// and rediss:// URLs.
func checkRedisURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL") // url's error would echo a password
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return fmt.Errorf("%q: want redis://[user:pass@]host:port/db", redact(raw))
	}
	return nil
}

// redact hides the password of a Redis URL.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}

// fleet is this process's membership in a distributed crawl. A nil *fleet
// is a crawl on its own.
type fleet struct {
	f *redis.Frontier
}

// openFleet joins the job o.Frontier and o.Job name: it opens the shared
// frontier with cfg's settings, records seeds as the job's and returns all
// of the job's seeds, so that a worker started without URLs crawls the
// same scope. Redis being unreachable is a usage error (exit 2): nothing
// has started.
func openFleet(ctx context.Context, o fleetOptions, seeds []string, cfg crawler.Config, log *slog.Logger) (*fleet, []string, error) {
	// go-redis logs dial failures through a logger of its own, which only
	// a process-wide setter reaches; the frontier reports them (OnRetry)
	// and main owns the process, so they go to the debug level here.
	goredis.SetLogger(redisLog{log})
	opts := cfg.FrontierOptions()
	opts.LeaseTTL = cmp.Or(o.LeaseTTL, opts.LeaseTTL)
	opts.Strict = false // see the warning below
	var lastWarn atomic.Int64
	f, err := redis.Open(ctx, o.Frontier, o.Job, redis.Options{
		Options: opts,
		OnRetry: func(err error) {
			// Every blocked call retries; one line every few seconds says it.
			now := time.Now().UnixNano()
			if last := lastWarn.Load(); now-last > int64(5*time.Second) && lastWarn.CompareAndSwap(last, now) {
				log.Warn("redis unavailable, retrying", "err", err)
			}
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --frontier %s: %v", errUsage, redact(o.Frontier), err)
	}
	seeds, err = f.AddSeeds(ctx, seeds)
	if err == nil && len(seeds) == 0 {
		err = fmt.Errorf("%w: job %q has no seeds yet: give the first worker the URLs to crawl", errUsage, o.Job)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if cfg.MaxDepth > 0 {
		log.Warn("--max-depth is approximate with --frontier: Redis orders each host's queue by depth but not all hosts together, so a page first found on a longer path may be dropped at the limit")
	}
	log.Info("joined fleet", "job", o.Job, "worker", f.Worker(), "seeds", len(seeds), "lease_ttl", opts.LeaseTTL)
	return &fleet{f: f}, seeds, nil
}

// redisLog sends go-redis's log lines to the debug level.
type redisLog struct{ log *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}

// close leaves the job; leases still held go back to the queue.
func (fl *fleet) close() error {
	if err := fl.f.Close(); err != nil {
		return fmt.Errorf("close frontier: %w", err)
	}
	return nil
}

// fleetStatus prints a job's counters and its live workers.
func fleetStatus(ctx context.Context, rawURL, job string, stdout io.Writer) error {
	if err := checkRedisURL(rawURL); err != nil {
		return fmt.Errorf("%w: status: --frontier: %v", errUsage, err)
	}
	rep, err := redis.Inspect(ctx, rawURL, job)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if rep.Stats == (frontier.Stats{}) && len(rep.Workers) == 0 {
		return fmt.Errorf("status: job %q does not exist in %s (no seeds, no URLs, no workers)", job, redact(rawURL))
	}
	printStats(stdout, rep.Stats)
	fmt.Fprintf(stdout, "workers %d\n", len(rep.Workers))
	for _, w := range rep.Workers {
		fmt.Fprintf(stdout, "  %s  %s  leased %d  since %s\n", w.ID, w.Name, w.Leased, w.Started.Format(time.RFC3339))
	}
	return nil
}

// purge deletes a job's keys: crawl purge --frontier URL --job NAME --yes.
func purge(ctx context.Context, args []string, stdout io.Writer) error {
	fs, help := subcommandFlags("crawl purge")
	front := fs.String("frontier", "", "the fleet's Redis `url`")
	job := fs.String("job", defaultJob, "the job `name`")
	yes := fs.Bool("yes", false, "really delete the job")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: purge: %v", errUsage, flagError(fs, err))
	}
	if *help {
		printSubcommandHelp(stdout, "crawl purge --frontier URL --job NAME --yes", fs)
		return nil
	}
	if *front == "" {
		return fmt.Errorf("%w: purge: --frontier URL is required", errUsage)
	}
	if err := checkRedisURL(*front); err != nil {
		return fmt.Errorf("%w: purge: --frontier: %v", errUsage, err)
	}
	if err := redis.ValidJob(*job); err != nil {
		return fmt.Errorf("%w: purge: %v", errUsage, err)
	}
	if !*yes {
		return fmt.Errorf("%w: purge deletes job %q and everything it has crawled from %s; add --yes to do it",
			errUsage, *job, redact(*front))
	}
	rep, err := redis.Inspect(ctx, *front, *job)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	n, err := redis.Purge(ctx, *front, *job)
	if err != nil {
		return fmt.Errorf("purge: %w", err)
	}
	fmt.Fprintf(stdout, "purged job %q: %d keys deleted\n", *job, n)
	if len(rep.Workers) > 0 {
		fmt.Fprintf(stdout, "%d workers were still running on it: they will find it empty and stop\n", len(rep.Workers))
	}
	return nil
}
