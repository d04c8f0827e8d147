package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/hivecrawl/crawl/output/dbsink"
	"github.com/hivecrawl/crawl/parse"
)

// dbOptions are the options of the database sink (--db).
type dbOptions struct {
	DB             string `yaml:"db"`
	DBTablePrefix  string `yaml:"db-table-prefix"`
	DBPasswordFile string `yaml:"db-password-file"`
	DBLinks        bool   `yaml:"db-links"`
	DBBodies       bool   `yaml:"db-bodies"`
}

// dbConnectTimeout bounds the connection and schema check at start.
const dbConnectTimeout = 15 * time.Second

func (o *dbOptions) addFlags(g *flagGroups) {
	fs := g.db
	fs.StringVar(&o.DB, "db", o.DB, "also write pages and items into the database at `url`: postgres://user@host:port/db, mysql://user:pass@host:port/db or sqlite:PATH")
	fs.StringVar(&o.DBTablePrefix, "db-table-prefix", o.DBTablePrefix, "with --db: start every table's name with `prefix` (default crawl_)")
	fs.StringVar(&o.DBPasswordFile, "db-password-file", o.DBPasswordFile, "with --db: read the database password from `file` (its first line)")
	fs.BoolVar(&o.DBLinks, "db-links", o.DBLinks, "with --db: also write every link found (<prefix>links: from_url, to_url)")
	fs.BoolVar(&o.DBBodies, "db-bodies", o.DBBodies, "with --db: also write response bodies, gzipped (<prefix>bodies)")
}

func (o *dbOptions) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	if o.DB == "" {
		if o.DBTablePrefix != "" || o.DBPasswordFile != "" || o.DBLinks || o.DBBodies {
			return bad("--db-table-prefix, --db-password-file, --db-links and --db-bodies need --db URL")
		}
		return nil
	}
	if err := dbsink.CheckURL(o.DB); err != nil {
		return bad("--db: %v", err)
	}
	if err := (dbsink.Options{TablePrefix: o.DBTablePrefix}).Validate(); err != nil {
		return bad("--db-table-prefix: %v", err)
	}
	return nil
}

// openDB connects to --db and opens the sink. job fills the pages' job
// column (a fleet's); rules are the crawl's extraction rules, whose items a
// page fetched again replaces; writeThrough commits each page's rows
// before its handler returns, as a resumable crawl needs. The database unreachable,
// refusing the password or the schema is a usage error (exit 2): nothing
// has been fetched.
func (o *dbOptions) openDB(ctx context.Context, job string, rules []parse.Rule, writeThrough bool, log *slog.Logger) (*dbsink.Sink, func() error, error) {
	password := ""
	if o.DBPasswordFile != "" {
		b, err := os.ReadFile(o.DBPasswordFile)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: --db-password-file: %v", errUsage, err)
		}
		password, _, _ = strings.Cut(string(b), "\n")
		password = strings.TrimSuffix(password, "\r")
		if password == "" {
			return nil, nil, fmt.Errorf("%w: --db-password-file %s: empty", errUsage, o.DBPasswordFile)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, dbConnectTimeout)
	defer cancel()
	db, err := dbsink.Connect(cctx, o.DB, password)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --db: %v", errUsage, err)
	}
	names := make([]string, len(rules))
	for i, r := range rules {
		names[i] = r.Name
	}
	s, err := dbsink.Open(cctx, db, dbsink.Options{
		TablePrefix:  o.DBTablePrefix,
		Job:          job,
		Rules:        names,
		Links:        o.DBLinks,
		Bodies:       o.DBBodies,
		WriteThrough: writeThrough,
		Log:          log,
	})
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("%w: --db %s: %v", errUsage, dbsink.Redact(o.DB), err)
	}
	closeDB := func() error {
		// Run has flushed the sink; what is left was queued after.
		err := s.Close(context.Background())
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("--db: close: %w", cerr)
		}
		if err != nil {
			return fmt.Errorf("--db: %w", err)
		}
		return nil
	}
	return s, closeDB, nil
}
