package dbsink_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/internal/testdb"
	"github.com/hivecrawl/crawl/output/dbsink"
	"github.com/hivecrawl/crawl/parse"
)

// benchPage is page n of the write benchmarks: a record and two items.
func benchPage(n int) *crawler.Page {
	u := fmt.Sprintf("http://bench.test/p/%d", n)
	return &crawler.Page{
		Result: &crawler.Result{URL: u, FinalURL: u, Status: 200, Depth: 3, Parent: "http://bench.test/",
			ContentType: "text/html; charset=utf-8", Bytes: 8192, DurationMS: 2, Title: "Page " + fmt.Sprint(n),
			Links: 20, Attempts: 1, FetchedAt: time.Now()},
		Items: []parse.Item{
			item(u, "product", parse.Field{Name: "name", Value: "Widget " + fmt.Sprint(n)}, parse.Field{Name: "price", Value: 9.99}),
			item(u, "product", parse.Field{Name: "name", Value: "Gadget " + fmt.Sprint(n)}, parse.Field{Name: "price", Value: 19.5}),
		},
	}
}

// BenchmarkWrite compares, on each database, the sink's rows per second
// (HandlePage from 16 goroutines, then Flush) with a plain loop that
// bulk-loads the same rows with the same driver, 1,000 pages a batch: COPY
// on PostgreSQL, multi-row INSERT on MariaDB, a transaction of prepared
// INSERTs on SQLite. Each sub-benchmark writes into fresh tables.
//
//	go test -run '^$' -bench Write ./output/dbsink
func BenchmarkWrite(b *testing.B) {
	for _, kind := range kinds {
		b.Run(kind+"/sink", func(b *testing.B) {
			url := benchURL(b, kind)
			db, err := dbsink.Connect(context.Background(), url, "")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s, err := dbsink.Open(context.Background(), db, dbsink.Options{TablePrefix: "s_"})
			if err != nil {
				b.Fatal(err)
			}
			pages := make([]*crawler.Page, b.N)
			for i := range pages {
				pages[i] = benchPage(i)
			}
			b.ResetTimer()
			next := make(chan int, 1024)
			done := make(chan struct{})
			for range 16 {
				go func() {
					for i := range next {
						if err := s.HandlePage(context.Background(), pages[i]); err != nil {
							b.Error(err)
						}
					}
					done <- struct{}{}
				}()
			}
			for i := range b.N {
				next <- i
			}
			close(next)
			for range 16 {
				<-done
			}
			if err := s.Flush(); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "rows/s")
			s.Close(context.Background())
		})
		b.Run(kind+"/loop", func(b *testing.B) {
			url := benchURL(b, kind)
			db, err := dbsink.Connect(context.Background(), url, "")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s, err := dbsink.Open(context.Background(), db, dbsink.Options{TablePrefix: "l_"}) // the same tables
			if err != nil {
				b.Fatal(err)
			}
			s.Close(context.Background())
			pages := make([]*crawler.Page, b.N)
			for i := range pages {
				pages[i] = benchPage(i)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i += 1000 {
				if err := bulkLoad(kind, db, pages[i:min(i+1000, b.N)]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(3*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func benchURL(b *testing.B, kind string) string {
	if kind == "sqlite" {
		return "sqlite:" + b.TempDir() + "/bench.db"
	}
	s := servers[testdb.Kind(kind)].Get(b, testdb.Kind(kind))
	name, err := s.NewDatabase(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return s.URL(name, s.User, s.Password)
}

var loopPageCols = []string{"url", "final_url", "status", "depth", "parent", "content_type", "bytes", "duration_ms",
	"title", "links", "links_truncated", "attempts", "fetched_at", "asset"}

func loopPageRow(r *crawler.Result) []any {
	return []any{r.URL, r.FinalURL, r.Status, r.Depth, r.Parent, r.ContentType, r.Bytes, r.DurationMS, r.Title,
		r.Links, r.LinksTruncated, r.Attempts, r.FetchedAt.UTC(), r.Asset}
}

// bulkLoad is the plain loop: one batch of pages and their items in one
// transaction, the way each driver loads rows fastest.
func bulkLoad(kind string, db *sql.DB, pages []*crawler.Page) error {
	ctx := context.Background()
	var pageRows, itemRows [][]any
	now := time.Now().UTC()
	for _, p := range pages {
		pageRows = append(pageRows, loopPageRow(p.Result))
		for i, it := range p.Items {
			data, err := it.Fields.MarshalJSON()
			if err != nil {
				return err
			}
			itemRows = append(itemRows, []any{it.URL, it.Rule, i, string(data), now})
		}
	}
	itemCols := []string{"url", "rule", "idx", "data", "extracted_at"}
	switch kind {
	case "postgres":
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
			defer tx.Rollback(ctx)
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"l_pages"}, loopPageCols, pgx.CopyFromRows(pageRows)); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"l_items"}, itemCols, pgx.CopyFromRows(itemRows)); err != nil {
				return err
			}
			return tx.Commit(ctx)
		})
	case "mariadb":
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, t := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{{"l_pages", loopPageCols, pageRows}, {"l_items", itemCols, itemRows}} {
			tuple := "(" + strings.TrimSuffix(strings.Repeat("?,", len(t.cols)), ",") + ")"
			q := "INSERT INTO " + t.table + " (" + strings.Join(t.cols, ",") + ") VALUES " +
				strings.TrimSuffix(strings.Repeat(tuple+",", len(t.rows)), ",")
			var args []any
			for _, r := range t.rows {
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return tx.Commit()
	default: // sqlite
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, t := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{{"l_pages", loopPageCols, pageRows}, {"l_items", itemCols, itemRows}} {
			st, err := tx.PrepareContext(ctx, "INSERT INTO "+t.table+" ("+strings.Join(t.cols, ",")+") VALUES ("+
				strings.TrimSuffix(strings.Repeat("?,", len(t.cols)), ",")+")")
			if err != nil {
				return err
			}
			for _, r := range t.rows {
				if t.table == "l_pages" {
					r = append([]any(nil), r...)
					r[12] = r[12].(time.Time).Format("2006-01-02T15:04:05.000000Z")
				} else {
					r = append([]any(nil), r...)
					r[4] = r[4].(time.Time).Format("2006-01-02T15:04:05.000000Z")
				}
				if _, err := st.ExecContext(ctx, r...); err != nil {
					st.Close()
					return err
				}
			}
			st.Close()
		}
		return tx.Commit()
	}
}
