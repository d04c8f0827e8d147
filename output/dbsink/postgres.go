package dbsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// postgres writes each batch with COPY straight into the tables, inside
// a savepoint; when a row's key is already there, it rolls back to the
// savepoint and upserts instead: COPY into a temporary table, then one
// INSERT … SELECT … ON CONFLICT into the table.
type postgres struct{}

func (postgres) name() string { return "postgres" }

func (postgres) quote(ident string) string { return pgx.Identifier{ident}.Sanitize() }

func (postgres) schemaDDL(t *tables, version int) []string {
	return []string{
		"CREATE TABLE IF NOT EXISTS " + t.schema + " (id integer PRIMARY KEY, version integer NOT NULL)",
		fmt.Sprintf("INSERT INTO %s (id, version) VALUES (1, %d) ON CONFLICT (id) DO NOTHING", t.schema, version),
	}
}

func (postgres) ddl(t *tables, links, bodies bool) []string {
	q := []string{
		`CREATE TABLE IF NOT EXISTS ` + t.pages + ` (
	url text PRIMARY KEY,
	final_url text,
	redirect text,
	status integer NOT NULL,
	depth integer NOT NULL,
	parent text,
	content_type text,
	bytes bigint NOT NULL,
	duration_ms bigint NOT NULL,
	title text,
	links integer NOT NULL,
	links_truncated boolean NOT NULL,
	attempts integer NOT NULL,
	fetched_at timestamptz,
	error text,
	detail text,
	asset boolean NOT NULL,
	canonical text,
	job text)`,
		`CREATE TABLE IF NOT EXISTS ` + t.items + ` (
	url text NOT NULL,
	rule text NOT NULL,
	idx integer NOT NULL,
	data jsonb NOT NULL,
	extracted_at timestamptz NOT NULL,
	PRIMARY KEY (url, rule, idx))`,
	}
	if links {
		q = append(q, `CREATE TABLE IF NOT EXISTS `+t.links+` (
	from_url text NOT NULL,
	to_url text NOT NULL,
	PRIMARY KEY (from_url, to_url))`)
	}
	if bodies {
		q = append(q, `CREATE TABLE IF NOT EXISTS `+t.bodies+` (
	url text PRIMARY KEY,
	content_type text,
	bytes bigint NOT NULL,
	encoding text NOT NULL,
	body bytea NOT NULL)`)
	}
	return q
}

// copySavepoint is where write rolls back to when its optimistic COPY
// into the tables meets a row already there.
const copySavepoint = "dbsink_copy"

func (d postgres) write(ctx context.Context, db *sql.DB, t *tables, b *batch) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		// One round trip opens the transaction and the savepoint.
		tx, err := c.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; SAVEPOINT " + copySavepoint})
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck // after Commit, a no-op
		tabs := d.batchTables(t, b)
		// In a crawl almost every row is new: COPY straight into the
		// tables, as fast as the driver loads rows. A row already there
		// (a page fetched again, a resumed crawl's in-flight pages, another
		// fleet worker's) fails it with a unique violation: then roll back
		// to the savepoint and upsert the batch through staging tables.
		err = d.copyAll(ctx, tx, tabs)
		if err == nil {
			return tx.Commit(ctx)
		}
		if !uniqueViolation(err) {
			return err
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT "+copySavepoint); err != nil {
			return err
		}
		// Some pages were there before: their items of the crawl's rules
		// give way to the batch's. (A batch of new pages has no old items.)
		if len(b.replaced) > 0 {
			if _, err := tx.Exec(ctx, "DELETE FROM "+t.items+" WHERE url = ANY($1) AND rule = ANY($2)", b.replaced, t.rules); err != nil {
				return err
			}
		}
		for _, tb := range tabs {
			if err := d.upsert(ctx, tx, tb); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
}

// pgTable is one table's rows of a batch.
type pgTable struct {
	name   string
	cols   []string
	keys   int  // the first keys cols are the table's key
	update bool // a row whose key is there replaces it; otherwise it is skipped
	n      int
	row    func(int) ([]any, error)
}

// batchTables lists b's non-empty tables, in the order they are written.
func (postgres) batchTables(t *tables, b *batch) []pgTable {
	var tabs []pgTable
	if len(b.pages) > 0 {
		tabs = append(tabs, pgTable{t.rawPages, pageColumns, 1, true, len(b.pages), func(i int) ([]any, error) {
			r := &b.pages[i]
			var at any
			if !r.FetchedAt.IsZero() {
				at = utc(r.FetchedAt)
			}
			return pageValues(r, t.job, at), nil
		}})
	}
	if len(b.items) > 0 {
		tabs = append(tabs, pgTable{t.rawItems, itemColumns, 3, true, len(b.items), func(i int) ([]any, error) {
			r := &b.items[i]
			return []any{r.url, r.rule, r.idx, string(r.data), r.extractedAt}, nil
		}})
	}
	if len(b.links) > 0 {
		tabs = append(tabs, pgTable{t.rawLinks, linkColumns, 2, false, len(b.links), func(i int) ([]any, error) {
			return []any{b.links[i].from, b.links[i].to}, nil
		}})
	}
	if len(b.bodies) > 0 {
		tabs = append(tabs, pgTable{t.rawBod, bodyColumns, 1, true, len(b.bodies), func(i int) ([]any, error) {
			r := &b.bodies[i]
			return []any{r.url, null(r.contentType), r.size, "gzip", r.gz}, nil
		}})
	}
	return tabs
}

// copyAll copies every table's rows straight into it.
func (postgres) copyAll(ctx context.Context, tx pgx.Tx, tabs []pgTable) error {
	for _, tb := range tabs {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{tb.name}, tb.cols, pgx.CopyFromSlice(tb.n, tb.row)); err != nil {
			return err
		}
	}
	return nil
}

// uniqueViolation reports a PostgreSQL unique_violation (23505).
func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// upsert copies tb's rows into a temporary table like it, then inserts
// them into it, updating (or, without update, skipping) the rows whose
// key is there.
func (d postgres) upsert(ctx context.Context, tx pgx.Tx, tb pgTable) error {
	tmp := tb.name + "_in"
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+d.quote(tmp)+" (LIKE "+d.quote(tb.name)+") ON COMMIT DELETE ROWS"); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{tmp}, tb.cols, pgx.CopyFromSlice(tb.n, tb.row)); err != nil {
		return err
	}
	list := columnList(tb.cols, d.quote)
	q := "INSERT INTO " + d.quote(tb.name) + " (" + list + ") SELECT " + list + " FROM " + d.quote(tmp) +
		" ON CONFLICT (" + columnList(tb.cols[:tb.keys], d.quote) + ") DO "
	if tb.update {
		q += "UPDATE SET " + updateSet(tb.cols, tb.keys, d.quote, func(c string) string { return "EXCLUDED." + c })
	} else {
		q += "NOTHING"
	}
	_, err := tx.Exec(ctx, q)
	return err
}

// transient: the server's errors of class 08 (connection), 53
// (resources), 57P01-57P03 (shutting down, starting up), 40001 and 40P01
// (serialization, deadlock); and any broken connection.
func (postgres) transient(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "53") ||
			pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" ||
			pe.Code == "40001" || pe.Code == "40P01"
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.Timeout(err) || netTransient(err)
}
