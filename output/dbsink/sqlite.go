package dbsink

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// sqliteDialect writes one transaction per batch, multi-row prepared
// upserts, in WAL mode. It keeps its prepared statements from one batch
// to the next: a crawl's batches are small, and preparing a statement of
// a thousand parameters cost as much as running it.
type sqliteDialect struct {
	mu    sync.Mutex
	stmts map[sqliteStmtKey]*sql.Stmt // prepared on the *sql.DB
}

// sqliteStmtKey names a cached statement: the upsert of rows rows into
// table.
type sqliteStmtKey struct {
	table string
	rows  int
}

// close closes the cached statements.
func (d *sqliteDialect) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, st := range d.stmts {
		st.Close()
		delete(d.stmts, k)
	}
}

// sqliteTime is how timestamps are stored: text that SQLite's date and
// time functions read, in UTC, sorting as it reads.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

func (*sqliteDialect) name() string { return "sqlite" }

func (*sqliteDialect) quote(ident string) string {
	return `"` + strings.ReplaceAll(ident, `"`, `""`) + `"`
}

func (*sqliteDialect) schemaDDL(t *tables, version int) []string {
	return []string{
		"PRAGMA journal_mode=WAL",
		"CREATE TABLE IF NOT EXISTS " + t.schema + " (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
		fmt.Sprintf("INSERT OR IGNORE INTO %s (id, version) VALUES (1, %d)", t.schema, version),
	}
}

func (*sqliteDialect) ddl(t *tables, links, bodies bool) []string {
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

func (d *sqliteDialect) write(ctx context.Context, db *sql.DB, t *tables, b *batch) error {
	tabs := []sqliteTable{
		{t.pages, pageColumns, 1, true, len(b.pages), func(i int) []any {
			r := &b.pages[i]
			var at any
			if !r.FetchedAt.IsZero() {
				at = r.FetchedAt.UTC().Format(sqliteTime)
			}
			return pageValues(r, t.job, at)
		}},
		{t.items, itemColumns, 3, true, len(b.items), func(i int) []any {
			r := &b.items[i]
			return []any{r.url, r.rule, r.idx, string(r.data), r.extractedAt.Format(sqliteTime)}
		}},
		{t.links, linkColumns, 2, false, len(b.links), func(i int) []any {
			return []any{b.links[i].from, b.links[i].to}
		}},
		{t.bodies, bodyColumns, 1, true, len(b.bodies), func(i int) []any {
			r := &b.bodies[i]
			return []any{r.url, null(r.contentType), r.size, "gzip", r.gz}
		}},
	}
	// The statements are prepared before the transaction begins: Connect's
	// pool has one connection, which the transaction holds.
	var chunks []sqliteChunk
	for ti := range tabs {
		tb := &tabs[ti]
		for i := 0; i < tb.n; {
			rows := sqliteChunkRows
			for rows > tb.n-i {
				rows /= 2
			}
			st, err := d.stmt(ctx, db, tb, rows)
			if err != nil {
				return err
			}
			chunks = append(chunks, sqliteChunk{tb, st, i, i + rows})
			i += rows
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()      //nolint:errcheck // after Commit, a no-op
	if len(b.replaced) > 0 { // the items of the crawl's rules give way to the batch's
		urls, err := json.Marshal(b.replaced)
		if err != nil {
			return err
		}
		rules, err := json.Marshal(t.rules)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t.items+" WHERE url IN (SELECT value FROM json_each(?)) AND rule IN (SELECT value FROM json_each(?))",
			string(urls), string(rules)); err != nil {
			return err
		}
	}
	var args []any
	for _, c := range chunks {
		args = args[:0]
		for j := c.from; j < c.to; j++ {
			args = append(args, c.tab.row(j)...)
		}
		if _, err := tx.StmtContext(ctx, c.st).ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// sqliteTable is one table's rows of a batch.
type sqliteTable struct {
	name   string // quoted
	cols   []string
	keys   int  // the first keys cols are the table's key
	update bool // a row whose key is there replaces it; otherwise it is skipped
	n      int
	row    func(int) []any
}

// sqliteChunk is rows [from, to) of a table, upserted by st.
type sqliteChunk struct {
	tab      *sqliteTable
	st       *sql.Stmt
	from, to int
}

// sqliteChunkRows is how many rows one INSERT carries: fewer statements
// to step through database/sql, well under SQLite's 32,766 parameters.
// The rest of a batch goes in statements of 32, 16, … 1 rows, so that a
// table needs at most seven statements, each prepared once.
const sqliteChunkRows = 64

// stmt returns the statement that upserts rows rows into tb, preparing
// it on db on first use.
func (d *sqliteDialect) stmt(ctx context.Context, db *sql.DB, tb *sqliteTable, rows int) (*sql.Stmt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := sqliteStmtKey{tb.name, rows}
	if st := d.stmts[k]; st != nil {
		return st, nil
	}
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(tb.cols)), ", ") + ")"
	q := "INSERT INTO " + tb.name + " (" + columnList(tb.cols, d.quote) + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(tuple+", ", rows), ", ") +
		" ON CONFLICT (" + columnList(tb.cols[:tb.keys], d.quote) + ") DO "
	if tb.update {
		q += "UPDATE SET " + updateSet(tb.cols, tb.keys, d.quote, func(c string) string { return "excluded." + c })
	} else {
		q += "NOTHING"
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if d.stmts == nil {
		d.stmts = make(map[sqliteStmtKey]*sql.Stmt)
	}
	d.stmts[k] = st
	return st, nil
}

// transient: the file is busy or locked by another connection.
func (*sqliteDialect) transient(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
			return true
		}
	}
	return false
}
