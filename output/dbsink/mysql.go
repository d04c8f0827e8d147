package dbsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// mysqlDialect writes multi-row INSERT … ON DUPLICATE KEY UPDATE
// statements, for MySQL and MariaDB. URLs are TEXT, longer than an index
// key may be: each table is unique on a stored SHA-256 of its key,
// computed by the server.
type mysqlDialect struct{}

// mysqlChunkBytes bounds one statement's arguments, well under the
// servers' default max_allowed_packet (16 MiB on MariaDB, 64 MiB on MySQL).
const mysqlChunkBytes = 4 << 20

// mysqlChunkRows bounds one statement's rows.
const mysqlChunkRows = 1000

func (mysqlDialect) name() string { return "mysql" }

func (mysqlDialect) quote(ident string) string {
	return "`" + strings.ReplaceAll(ident, "`", "``") + "`"
}

const mysqlTableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

func (mysqlDialect) schemaDDL(t *tables, version int) []string {
	return []string{
		"CREATE TABLE IF NOT EXISTS " + t.schema + " (id INT PRIMARY KEY, version INT NOT NULL)" + mysqlTableOptions,
		fmt.Sprintf("INSERT IGNORE INTO %s (id, version) VALUES (1, %d)", t.schema, version),
	}
}

func (d mysqlDialect) ddl(t *tables, links, bodies bool) []string {
	q := []string{
		`CREATE TABLE IF NOT EXISTS ` + t.pages + ` (
	url TEXT NOT NULL,
	url_hash BINARY(32) AS (UNHEX(SHA2(url, 256))) STORED,
	final_url TEXT,
	redirect TEXT,
	status INT NOT NULL,
	depth INT NOT NULL,
	parent TEXT,
	content_type VARCHAR(255),
	bytes BIGINT NOT NULL,
	duration_ms BIGINT NOT NULL,
	title TEXT,
	links INT NOT NULL,
	links_truncated BOOLEAN NOT NULL,
	attempts INT NOT NULL,
	fetched_at DATETIME(6),
	error VARCHAR(64),
	detail TEXT,
	asset BOOLEAN NOT NULL,
	canonical TEXT,
	job VARCHAR(255),
	UNIQUE KEY url_key (url_hash))` + mysqlTableOptions,
		`CREATE TABLE IF NOT EXISTS ` + t.items + ` (
	url TEXT NOT NULL,
	url_hash BINARY(32) AS (UNHEX(SHA2(url, 256))) STORED,
	rule VARCHAR(191) NOT NULL,
	idx INT NOT NULL,
	data JSON NOT NULL,
	extracted_at DATETIME(6) NOT NULL,
	UNIQUE KEY item_key (url_hash, rule, idx))` + mysqlTableOptions,
	}
	if links {
		q = append(q, `CREATE TABLE IF NOT EXISTS `+t.links+` (
	from_url TEXT NOT NULL,
	to_url TEXT NOT NULL,
	link_hash BINARY(32) AS (UNHEX(SHA2(CONCAT(from_url, ' ', to_url), 256))) STORED,
	UNIQUE KEY link_key (link_hash))`+mysqlTableOptions)
	}
	if bodies {
		q = append(q, `CREATE TABLE IF NOT EXISTS `+t.bodies+` (
	url TEXT NOT NULL,
	url_hash BINARY(32) AS (UNHEX(SHA2(url, 256))) STORED,
	content_type VARCHAR(255),
	bytes BIGINT NOT NULL,
	encoding VARCHAR(16) NOT NULL,
	body LONGBLOB NOT NULL,
	UNIQUE KEY url_key (url_hash))`+mysqlTableOptions)
	}
	return q
}

func (d mysqlDialect) write(ctx context.Context, db *sql.DB, t *tables, b *batch) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	// A new row counts 1 affected, an updated one 2 (and one set to the
	// values it had 0, as without CLIENT_FOUND_ROWS): pages all new, the
	// batch's items have no old ones to give way to.
	affected, err := d.insert(ctx, tx, t.pages, pageColumns, len(b.pages), true, func(i int) ([]any, int) {
		r := &b.pages[i]
		var at any
		if !r.FetchedAt.IsZero() {
			at = utc(r.FetchedAt)
		}
		return pageValues(r, t.job, at), len(r.URL) + len(r.Title) + len(r.Detail) + len(r.FinalURL) + len(r.Parent) + 200
	})
	if err != nil {
		return err
	}
	if affected != int64(len(b.pages)) {
		if err := d.deleteReplaced(ctx, tx, t, b.replaced); err != nil {
			return err
		}
	}
	_, err = d.insert(ctx, tx, t.items, itemColumns, len(b.items), true, func(i int) ([]any, int) {
		r := &b.items[i]
		return []any{r.url, r.rule, r.idx, string(r.data), r.extractedAt}, len(r.url) + len(r.data) + 64
	})
	if err != nil {
		return err
	}
	_, err = d.insert(ctx, tx, t.links, linkColumns, len(b.links), false, func(i int) ([]any, int) {
		r := &b.links[i]
		return []any{r.from, r.to}, len(r.from) + len(r.to) + 16
	})
	if err != nil {
		return err
	}
	_, err = d.insert(ctx, tx, t.bodies, bodyColumns, len(b.bodies), true, func(i int) ([]any, int) {
		r := &b.bodies[i]
		return []any{r.url, null(r.contentType), r.size, "gzip", r.gz}, len(r.url) + 2*len(r.gz) + 64
	})
	if err != nil {
		return err
	}
	return tx.Commit()
}

// deleteReplaced deletes the items of the crawl's rules of the item URLs
// urls, in statements of at most mysqlChunkRows URLs: they give way to
// the batch's.
func (d mysqlDialect) deleteReplaced(ctx context.Context, tx *sql.Tx, t *tables, urls []string) error {
	if len(urls) == 0 {
		return nil
	}
	rules := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.rules)), ", ") + ")"
	args := make([]any, 0, min(len(urls), mysqlChunkRows)+len(t.rules))
	for len(urls) > 0 {
		chunk := urls[:min(len(urls), mysqlChunkRows)]
		urls = urls[len(chunk):]
		args = args[:0]
		for _, u := range chunk {
			args = append(args, u)
		}
		for _, r := range t.rules {
			args = append(args, r)
		}
		q := "DELETE FROM " + t.items + " WHERE url_hash IN (" +
			strings.TrimSuffix(strings.Repeat("UNHEX(SHA2(?, 256)), ", len(chunk)), ", ") + ") AND rule IN " + rules
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// insert writes n rows in statements of at most mysqlChunkRows rows and
// about mysqlChunkBytes bytes: updating the row of a duplicate key, or
// (without update) keeping it. It returns the rows the statements
// affected.
func (d mysqlDialect) insert(ctx context.Context, tx *sql.Tx, table string, cols []string, n int, update bool,
	row func(int) ([]any, int)) (int64, error) {
	if n == 0 {
		return 0, nil
	}
	verb := "INSERT INTO "
	suffix := ""
	if update {
		suffix = " ON DUPLICATE KEY UPDATE " + updateSet(cols, 1, d.quote, func(c string) string { return "VALUES(" + c + ")" })
	} else {
		verb = "INSERT IGNORE INTO "
	}
	head := verb + table + " (" + columnList(cols, d.quote) + ") VALUES "
	tuple := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var q strings.Builder
	args := make([]any, 0, len(cols)*min(n, mysqlChunkRows))
	rows, size := 0, 0
	var affected int64
	flush := func() error {
		if rows == 0 {
			return nil
		}
		q.WriteString(suffix)
		res, err := tx.ExecContext(ctx, q.String(), args...)
		q.Reset()
		args, rows, size = args[:0], 0, 0
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		affected += n
		return err
	}
	for i := range n {
		vals, sz := row(i)
		if rows == 0 {
			q.WriteString(head)
		} else {
			q.WriteString(", ")
		}
		q.WriteString(tuple)
		args = append(args, vals...)
		rows++
		size += sz
		if rows >= mysqlChunkRows || size >= mysqlChunkBytes {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	err := flush()
	return affected, err
}

// transient: lost connections, a server shutting down or out of
// connections, deadlocks and lock timeouts.
func (mysqlDialect) transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1040, 1053, 1077, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 4031:
			return true
		}
		return false
	}
	return errors.Is(err, mysql.ErrInvalidConn) || netTransient(err)
}
