package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"

	"github.com/hivecrawl/crawl/internal/testdb"
)

// The database runners: crawl with crawl's flags (-o /dev/null included)
// plus --db into a fresh database of each kind, to set against runner
// crawl (issue 15: ≥ 0.85× its pages/s on SQLite and PostgreSQL, ≥ 0.75×
// on MariaDB, so "crawl ×" at most 1.18 and 1.33). The servers are
// started, through internal/testdb, on first use and stopped at the end.
const (
	runCrawlSQLite   = "crawl+sqlite"
	runCrawlPostgres = "crawl+postgres"
	runCrawlMariaDB  = "crawl+mariadb"
)

// dbRunners are run only when -runners names them.
var dbRunners = []string{runCrawlSQLite, runCrawlPostgres, runCrawlMariaDB}

// knownRunners are every runner -runners takes, in the order they run.
func knownRunners() []string { return append(slices.Clone(allRunners), dbRunners...) }

// dbTargets are the least share of runner crawl's pages/s each database
// runner must keep.
var dbTargets = map[string]float64{runCrawlSQLite: 0.85, runCrawlPostgres: 0.85, runCrawlMariaDB: 0.75}

// dbEnv holds the database servers of a run. The zero value is ready.
type dbEnv struct {
	mu      sync.Mutex
	servers map[testdb.Kind]*testdb.Server
	n       int
}

// url returns the --db URL of a fresh database for runner name.
func (d *dbEnv) url(ctx context.Context, name, tmp string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	if name == runCrawlSQLite {
		return "sqlite:" + filepath.Join(tmp, fmt.Sprintf("bench-%d.db", d.n)), nil
	}
	kind := testdb.Postgres
	if name == runCrawlMariaDB {
		kind = testdb.MariaDB
	}
	s := d.servers[kind]
	if s == nil {
		var err error
		if s, err = testdb.Start(kind); err != nil {
			return "", err
		}
		if d.servers == nil {
			d.servers = map[testdb.Kind]*testdb.Server{}
		}
		d.servers[kind] = s
	}
	db, err := s.NewDatabase(ctx)
	if err != nil {
		return "", err
	}
	return s.URL(db, s.User, s.Password), nil
}

// close stops the servers started.
func (d *dbEnv) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.servers {
		s.Close()
	}
	d.servers = nil
}

// dbCommand is the subprocess of a database runner.
func dbCommand(ctx context.Context, e *env, sc scenario, name string, seeds []string) (*exec.Cmd, error) {
	url, err := e.dbs.url(ctx, name, e.tmp)
	if err != nil {
		return nil, err
	}
	args := []string{"--rate", "0", "--per-host", fmt.Sprint(sc.PerHost), "--concurrency", fmt.Sprint(sc.Concurrency),
		"--quiet", "-o", os.DevNull, "--db", url}
	return exec.CommandContext(ctx, e.crawl, append(args, seeds...)...), nil
}

// printDBTargets prints, for each database runner in rows, its pages/s as
// a share of runner crawl's, against the target. They inform and
// never fail the run.
func printDBTargets(w io.Writer, rows []row) {
	crawl, ok := findRow(rows, runCrawl)
	if !ok || crawl.pps == 0 {
		return
	}
	for _, name := range dbRunners {
		r, ok := findRow(rows, name)
		if !ok || r.pps == 0 {
			continue
		}
		got, want := r.pps/crawl.pps, dbTargets[name]
		verdict := "met"
		if got < want {
			verdict = "MISSED"
		}
		fmt.Fprintf(w, "  target %-36s ≥ %-8.4g got %-8.4g %s\n", name+" ÷ crawl pages/s", want, got, verdict)
	}
}
