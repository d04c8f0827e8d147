package dbsink

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"

	"github.com/hivecrawl/crawl/crawler"
)

// dialect is what differs between databases: the DDL, the bulk write and
// which errors mean "unavailable, try again".
type dialect interface {
	name() string
	quote(ident string) string
	// ddl returns the statements that create the tables when missing.
	ddl(t *tables, links, bodies bool) []string
	// schemaDDL creates the schema table and inserts the version row when
	// missing: two statements.
	schemaDDL(t *tables, version int) []string
	// write commits b in one transaction.
	write(ctx context.Context, db *sql.DB, t *tables, b *batch) error
	// transient reports an error that may pass if the write is retried:
	// the server unreachable or restarting, a deadlock, a busy file.
	transient(err error) bool
}

// dialectOf picks the dialect of db's driver.
func dialectOf(db *sql.DB) (dialect, error) {
	switch drv := db.Driver().(type) {
	case *stdlib.Driver:
		return postgres{}, nil
	case *mysql.MySQLDriver:
		return mysqlDialect{}, nil
	case *sqlite.Driver:
		return &sqliteDialect{}, nil
	default:
		return nil, fmt.Errorf("dbsink: unsupported driver %T (want pgx, go-sql-driver/mysql or modernc.org/sqlite)", drv)
	}
}

// tables are the quoted names of a sink's tables, and the bare ones.
type tables struct {
	prefix                               string
	job                                  string   // the pages' job column
	rules                                []string // Options.Rules
	schema, pages, items, links, bodies  string
	rawPages, rawItems, rawLinks, rawBod string
}

func newTables(prefix string, quote func(string) string) tables {
	t := tables{prefix: prefix,
		rawPages: prefix + "pages", rawItems: prefix + "items", rawLinks: prefix + "links", rawBod: prefix + "bodies"}
	t.schema = quote(prefix + "schema")
	t.pages, t.items, t.links, t.bodies = quote(t.rawPages), quote(t.rawItems), quote(t.rawLinks), quote(t.rawBod)
	return t
}

// pageColumns are the columns of <prefix>pages a write sets, in the
// order of pageValues.
var pageColumns = []string{"url", "final_url", "redirect", "status", "depth", "parent", "content_type",
	"bytes", "duration_ms", "title", "links", "links_truncated", "attempts", "fetched_at", "error",
	"detail", "asset", "canonical", "job"}

// pageValues returns the values of pageColumns for r; at is fetched_at as
// the driver takes it.
func pageValues(r *crawler.Result, job string, at any) []any {
	return []any{r.URL, null(r.FinalURL), null(r.RedirectTo), r.Status, r.Depth, null(r.Parent),
		null(r.ContentType), r.Bytes, r.DurationMS, null(r.Title), r.Links, r.LinksTruncated,
		r.Attempts, at, null(r.Error), null(r.Detail), r.Asset, null(r.Canonical), null(job)}
}

var (
	itemColumns = []string{"url", "rule", "idx", "data", "extracted_at"}
	linkColumns = []string{"from_url", "to_url"}
	bodyColumns = []string{"url", "content_type", "bytes", "encoding", "body"}
)

// null maps the empty string to NULL.
func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// migrate creates the schema table and checks its version, then creates
// the tables that are missing.
func (s *Sink) migrate(ctx context.Context) error {
	for _, q := range s.d.schemaDDL(&s.t, SchemaVersion) {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("dbsink: create the schema table %s: %w", s.t.schema, err)
		}
	}
	var v int
	if err := s.db.QueryRowContext(ctx, "SELECT version FROM "+s.t.schema+" WHERE id = 1").Scan(&v); err != nil {
		return fmt.Errorf("dbsink: read the schema version: %w", err)
	}
	if v != SchemaVersion {
		return fmt.Errorf("%w: the tables %s* are version %d, this crawl writes version %d (use another --db-table-prefix)",
			ErrSchemaVersion, s.t.prefix, v, SchemaVersion)
	}
	for _, q := range s.d.ddl(&s.t, s.opts.Links, s.opts.Bodies) {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("dbsink: create tables: %w", err)
		}
	}
	return nil
}

// updateSet returns "c = f(c), …" for the columns but the key ones.
func updateSet(cols []string, keys int, quote func(string) string, f func(string) string) string {
	var b strings.Builder
	for i, c := range cols[keys:] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c) + " = " + f(quote(c)))
	}
	return b.String()
}

func columnList(cols []string, quote func(string) string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quote(c)
	}
	return strings.Join(q, ", ")
}

// netTransient reports the errors of a connection that broke or could
// not be made, whatever the driver.
func netTransient(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "connection reset") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection refused")
}

// utc is t in UTC, as the databases store it.
func utc(t time.Time) time.Time { return t.UTC() }
