package dbsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
)

// sqliteDialect writes one transaction per batch, multi-row prepared
// upserts, in WAL mode.
type sqliteDialect struct{}

// sqliteTime is how timestamps are stored: text that SQLite's date and
// time functions read, in UTC, sorting as it reads.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

func (sqliteDialect) name() string { return "sqlite" }

func (sqliteDialect) quote(ident string) string {
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

func (sqliteDialect) schemaDDL(t *tables, version int) []string {
	return []string{
		"PRAGMA journal_mode=WAL",
		"CREATE TABLE IF NOT EXISTS " + t.schema + " (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
		fmt.Sprintf("INSERT OR IGNORE INTO %s (id, version) VALUES (1, %d)", t.schema, version),
	}
}

func (sqliteDialect) ddl(t *tables, links, bodies bool) []string {
	q := []string{
		`CREATE TABLE IF NOT EXISTS ` + t.pages + ` (
	url TEXT PRIMARY KEY,
	final_url TEXT,
	redirect TEXT,
	status INTEGER NOT NULL,
	depth INTEGER NOT NULL,
	parent TEXT,
	content_type TEXT,
	bytes INTEGER NOT NULL,
	duration_ms INTEGER NOT NULL,
	title TEXT,
	links INTEGER NOT NULL,
	links_truncated INTEGER NOT NULL,
	attempts INTEGER NOT NULL,
	fetched_at TEXT,
	error TEXT,
	detail TEXT,
	asset INTEGER NOT NULL,
	canonical TEXT,
	job TEXT)`,
		`CREATE TABLE IF NOT EXISTS ` + t.items + ` (
	url TEXT NOT NULL,
	rule TEXT NOT NULL,
	idx INTEGER NOT NULL,
	data TEXT NOT NULL,
	extracted_at TEXT NOT NULL,
	PRIMARY KEY (url, rule, idx))`,
	}
	if links {
		q = append(q, `CREATE TABLE IF NOT EXISTS `+t.links+` (
	from_url TEXT NOT NULL,
	to_url TEXT NOT NULL,
	PRIMARY KEY (from_url, to_url))`)
	}
	if bodies {
		q = append(q, `CREATE TABLE IF NOT EXISTS `+t.bodies+` (
	url TEXT PRIMARY KEY,
	content_type TEXT,
	bytes INTEGER NOT NULL,
	encoding TEXT NOT NULL,
	body BLOB NOT NULL)`)
	}
	return q
}

func (d sqliteDialect) write(ctx context.Context, db *sql.DB, t *tables, b *batch) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	err = d.upsert(ctx, tx, t.pages, pageColumns, 1, len(b.pages), true, func(i int) []any {
		r := &b.pages[i]
		var at any
		if !r.FetchedAt.IsZero() {
			at = r.FetchedAt.UTC().Format(sqliteTime)
		}
		return pageValues(r, t.job, at)
	})
	if err != nil {
		return err
	}
	err = d.upsert(ctx, tx, t.items, itemColumns, 3, len(b.items), true, func(i int) []any {
		r := &b.items[i]
		return []any{r.url, r.rule, r.idx, string(r.data), r.extractedAt.Format(sqliteTime)}
	})
	if err != nil {
		return err
	}
	err = d.upsert(ctx, tx, t.links, linkColumns, 2, len(b.links), false, func(i int) []any {
		return []any{b.links[i].from, b.links[i].to}
	})
	if err != nil {
		return err
	}
	err = d.upsert(ctx, tx, t.bodies, bodyColumns, 1, len(b.bodies), true, func(i int) []any {
		r := &b.bodies[i]
		return []any{r.url, null(r.contentType), r.size, "gzip", r.gz}
	})
	if err != nil {
		return err
	}
	return tx.Commit()
}

// sqliteChunkRows is how many rows one INSERT carries: fewer statements
// to step through database/sql, well under SQLite's 32,766 parameters.
const sqliteChunkRows = 64

// upsert writes n rows with a prepared statement of sqliteChunkRows rows,
// and one for the rest.
func (d sqliteDialect) upsert(ctx context.Context, tx *sql.Tx, table string, cols []string, keys, n int,
	update bool, row func(int) []any) error {
	if n == 0 {
		return nil
	}
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	tail := " ON CONFLICT (" + columnList(cols[:keys], d.quote) + ") DO "
	if update {
		tail += "UPDATE SET " + updateSet(cols, keys, d.quote, func(c string) string { return "excluded." + c })
	} else {
		tail += "NOTHING"
	}
	stmt := func(rows int) (*sql.Stmt, error) {
		q := "INSERT INTO " + table + " (" + columnList(cols, d.quote) + ") VALUES " +
			strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", ") + tail
		return tx.PrepareContext(ctx, q)
	}
	args := make([]any, 0, len(cols)*min(n, sqliteChunkRows))
	exec := func(st *sql.Stmt, from, to int) error {
		args = args[:0]
		for i := from; i < to; i++ {
			args = append(args, row(i)...)
		}
		_, err := st.ExecContext(ctx, args...)
		return err
	}
	full := n / sqliteChunkRows * sqliteChunkRows
	if full > 0 {
		st, err := stmt(sqliteChunkRows)
		if err != nil {
			return err
		}
		defer st.Close()
		for i := 0; i < full; i += sqliteChunkRows {
			if err := exec(st, i, i+sqliteChunkRows); err != nil {
				return err
			}
		}
	}
	if full < n {
		st, err := stmt(n - full)
		if err != nil {
			return err
		}
		defer st.Close()
		return exec(st, full, n)
	}
	return nil
}

// transient: the file is busy or locked by another connection.
func (sqliteDialect) transient(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}
