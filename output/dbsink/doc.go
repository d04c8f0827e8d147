// Package dbsink writes what a crawl records into a SQL database:
// PostgreSQL (through github.com/jackc/pgx/v5's database/sql driver),
// MySQL or MariaDB (github.com/go-sql-driver/mysql) and SQLite
// (modernc.org/sqlite, pure Go). Sink is a crawler.Handler over a *sql.DB
// whose dialect is chosen by the driver; Connect opens one from a URL.
//
// Rows go through a bounded queue to one writer, which commits them in
// batches: on PostgreSQL, COPY straight into the tables inside a
// savepoint, and when a row's key is already there, a rollback to it and
// COPY into a temporary table then one INSERT … ON CONFLICT; multi-row
// INSERT … ON DUPLICATE KEY UPDATE on MySQL; one transaction per batch of
// prepared multi-row upserts, in WAL mode, on SQLite. Every table is upserted by
// its key, so writing a page twice leaves one row. A full queue holds the
// crawl's workers back; a database that goes away is retried with backoff
// until it comes back.
//
// Package dbsink imports crawler and parse of this module, and no other;
// only cmd/crawl imports it. It has no package-level mutable state.
package dbsink
