package serve

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/metrics"
)

// Spec is a job as a client submits it.
type Spec struct {
	// Name is an optional label for people.
	Name string `json:"name,omitempty"`
	// Seeds are the URLs to start from (the config's seeds key adds to
	// them).
	Seeds []string `json:"seeds,omitempty"`
	// Config is the crawl's settings with the keys of the command's YAML
	// config file: a JSON object, or a string holding YAML.
	Config json.RawMessage `json:"config,omitempty"`
}

// Crawls validates and builds the crawls of jobs. The command implements
// it with its own option parsing and wiring, so that a job is the crawl
// `crawl --config FILE --state DIR SEEDS` would be.
type Crawls interface {
	// Check reports why spec cannot run as a job in folder dir, which
	// exists and is removed when Check fails; the error's text is what
	// the client is told.
	Check(spec Spec, dir string) error
	// Open wires spec's crawl in folder dir: its frontier in StateDir,
	// its records in PagesFile, its items in ItemsFile, reporting to obs
	// (which reports to m: Open gives m the frontier's stats and what
	// else the crawl measures) and logging to log. A folder that holds a
	// crawl is resumed. The caller calls Run.Close when the crawl is over.
	Open(ctx context.Context, spec Spec, dir string, m *metrics.Metrics, obs crawler.Observer, log *slog.Logger) (*Run, error)
}

// LineReader is implemented by a Crawls whose jobs' line files are not in
// the jobs' folders on this machine (a fleet's workers publish them to
// Redis): the server serves a job's pages, items and log from it.
type LineReader interface {
	// ReadLines returns up to limit lines (without their newlines) of
	// job id's file name (PagesFile, ItemsFile or LogFile) past its first
	// after, and the after to read on from. With none there yet and wait
	// above zero, it waits up to wait for one, or until ctx ends.
	ReadLines(ctx context.Context, id, name string, after int64, limit int, wait time.Duration) (lines []string, next int64, err error)
}

// LogTee is implemented by a LineReader that holds the jobs' log lines
// (a fleet's Redis): the server's own log lines about job id (started,
// finished…) go to the writer JobLog returns, which writes them to file
// and to where ReadLines finds them.
type LogTee interface {
	JobLog(id string, file io.Writer) io.Writer
}

// Run is a crawl wired by Crawls.Open.
type Run struct {
	// Crawl runs the crawl: Local's, or one that others run.
	Crawl Crawl
	// Resuming says what a resumed crawl takes up again; Finished, that
	// the stored crawl has nothing left to do (Crawl is then unused).
	Resuming, Finished string
	// MaxPages is the crawl's page budget (0: none), for the ETA.
	MaxPages int
	// Close closes the crawl's frontier and outputs.
	Close func() error
}

// Crawl is a job's crawl as the server drives it.
type Crawl interface {
	// Run crawls until the crawl is done or ctx ends, as
	// crawler.Crawler.Run does; the Summary counts this run only.
	Run(ctx context.Context) (crawler.Summary, error)
	// Progress returns the counters of the run under way.
	Progress() crawler.Progress
	// FrontierStats returns the frontier's counters.
	FrontierStats(ctx context.Context) (frontier.Stats, error)
}

// Local is the Crawl of c from seeds, run in this process.
func Local(c *crawler.Crawler, seeds []string) Crawl { return local{c, seeds} }

type local struct {
	c     *crawler.Crawler
	seeds []string
}

func (l local) Run(ctx context.Context) (crawler.Summary, error) { return l.c.Run(ctx, l.seeds...) }
func (l local) Progress() crawler.Progress                       { return l.c.Progress() }
func (l local) FrontierStats(ctx context.Context) (frontier.Stats, error) {
	return l.c.FrontierStats(ctx)
}
