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

// postgres writes each table's rows with COPY into a temporary table,
// then one INSERT … SELECT … ON CONFLICT into the table.
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

func (d postgres) write(ctx context.Context, db *sql.DB, t *tables, b *batch) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		tx, err := c.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx) //nolint:errcheck // after Commit, a no-op
		if len(b.pages) > 0 {
			rows := func(i int) ([]any, error) {
				r := &b.pages[i]
				var at any
				if !r.FetchedAt.IsZero() {
					at = utc(r.FetchedAt)
				}
				return pageValues(r, t.job, at), nil
			}
			if err := d.upsert(ctx, tx, t.rawPages, pageColumns, 1, len(b.pages), rows, true); err != nil {
				return err
			}
		}
		if len(b.items) > 0 {
			rows := func(i int) ([]any, error) {
				r := &b.items[i]
				return []any{r.url, r.rule, r.idx, string(r.data), r.extractedAt}, nil
			}
			if err := d.upsert(ctx, tx, t.rawItems, itemColumns, 3, len(b.items), rows, true); err != nil {
				return err
			}
		}
		if len(b.links) > 0 {
			rows := func(i int) ([]any, error) { return []any{b.links[i].from, b.links[i].to}, nil }
			if err := d.upsert(ctx, tx, t.rawLinks, linkColumns, 2, len(b.links), rows, false); err != nil {
				return err
			}
		}
		if len(b.bodies) > 0 {
			rows := func(i int) ([]any, error) {
				r := &b.bodies[i]
				return []any{r.url, null(r.contentType), r.size, "gzip", r.gz}, nil
			}
			if err := d.upsert(ctx, tx, t.rawBod, bodyColumns, 1, len(b.bodies), rows, true); err != nil {
				return err
			}
		}
		return tx.Commit(ctx)
	})
}

// upsert copies n rows into a temporary table like table, then inserts
// them into table, updating (or, without update, skipping) the rows whose
// first keys columns match.
func (d postgres) upsert(ctx context.Context, tx pgx.Tx, table string, cols []string, keys, n int,
	row func(int) ([]any, error), update bool) error {
	tmp := table + "_in"
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+d.quote(tmp)+" (LIKE "+d.quote(table)+") ON COMMIT DELETE ROWS"); err != nil {
		return err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{tmp}, cols, pgx.CopyFromSlice(n, row)); err != nil {
		return err
	}
	list := columnList(cols, d.quote)
	q := "INSERT INTO " + d.quote(table) + " (" + list + ") SELECT " + list + " FROM " + d.quote(tmp) +
		" ON CONFLICT (" + columnList(cols[:keys], d.quote) + ") DO "
	if update {
		q += "UPDATE SET " + updateSet(cols, keys, d.quote, func(c string) string { return "EXCLUDED." + c })
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
