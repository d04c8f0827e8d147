package dbsink_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/internal/testdb"
	"github.com/hivecrawl/crawl/output/dbsink"
	"github.com/hivecrawl/crawl/parse"
)

// One server of each kind serves every test of the package.
var servers = map[testdb.Kind]*testdb.Shared{testdb.Postgres: {}, testdb.MariaDB: {}}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, s := range servers {
		s.Close()
	}
	os.Exit(code)
}

// kinds are the databases every test runs against.
var kinds = []string{"sqlite", "postgres", "mariadb"}

// newURL returns the URL of an empty database of kind.
func newURL(t *testing.T, kind string) string {
	t.Helper()
	if kind == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "crawl.db")
	}
	s := servers[testdb.Kind(kind)].Get(t, testdb.Kind(kind))
	name, err := s.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.URL(name, s.User, s.Password)
}

func connect(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := dbsink.Connect(context.Background(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func open(t *testing.T, db *sql.DB, o dbsink.Options) *dbsink.Sink {
	t.Helper()
	s, err := dbsink.Open(context.Background(), db, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s
}

func page(url string, status int, items ...parse.Item) *crawler.Page {
	return &crawler.Page{
		Result: &crawler.Result{URL: url, FinalURL: url, Status: status, Depth: 1, Parent: "http://h/",
			ContentType: "text/html", Bytes: 12, DurationMS: 3, Title: "Title of " + url, Links: 2,
			Attempts: 1, FetchedAt: time.Date(2026, 12, 7, 1, 2, 3, 456000000, time.UTC)},
		Body:   []byte("<html>" + url + "</html>"),
		Parsed: &parse.Page{Links: []string{"http://h/a", "http://h/b"}},
		Items:  items,
	}
}

func item(url, rule string, fields ...parse.Field) parse.Item {
	return parse.Item{URL: url, Rule: rule, Fields: fields}
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestSinkWritesEveryTable(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := connect(t, newURL(t, kind))
			s := open(t, db, dbsink.Options{Links: true, Bodies: true, Job: "j1"})
			ctx := context.Background()
			pages := []*crawler.Page{
				page("http://h/1", 200,
					item("http://h/1", "product", parse.Field{Name: "name", Value: "a"}, parse.Field{Name: "price", Value: 1.5}),
					item("http://h/1", "product", parse.Field{Name: "name", Value: "b"}, parse.Field{Name: "price", Value: nil}),
					item("http://h/1", "review", parse.Field{Name: "tags", Value: []any{"x", 2.0}})),
				page("http://h/2", 404),
				// A refetch of page 1 replaces its rows.
				page("http://h/1", 200,
					item("http://h/1", "product", parse.Field{Name: "name", Value: "a2"}, parse.Field{Name: "price", Value: 1.5}),
					item("http://h/1", "product", parse.Field{Name: "name", Value: "b"}, parse.Field{Name: "price", Value: nil}),
					item("http://h/1", "review", parse.Field{Name: "tags", Value: []any{"x", 2.0}})),
			}
			pages[1].Result.Error, pages[1].Result.Detail = "http_4xx", "404 Not Found"
			pages[1].Parsed, pages[1].Result.Title = nil, ""
			for i, p := range pages {
				if err := s.HandlePage(ctx, p); err != nil {
					t.Fatal(err)
				}
				if i == 1 { // the refetch in a later batch
					if err := s.Flush(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, "SELECT count(*) FROM crawl_pages"); n != 2 {
				t.Errorf("%d page rows, want 2", n)
			}
			var (
				status, depth, attempts, links int
				title, errc, detail, job       sql.NullString
			)
			err := db.QueryRow("SELECT status, depth, attempts, links, title, error, detail, job FROM crawl_pages WHERE url = 'http://h/2'").
				Scan(&status, &depth, &attempts, &links, &title, &errc, &detail, &job)
			if err != nil {
				t.Fatal(err)
			}
			if status != 404 || depth != 1 || attempts != 1 || links != 2 || title.Valid || errc.String != "http_4xx" ||
				detail.String != "404 Not Found" || job.String != "j1" {
				t.Errorf("page 2 row: %d %d %d %d %v %v %v %v", status, depth, attempts, links, title, errc, detail, job)
			}
			if n := count(t, db, "SELECT count(*) FROM crawl_items"); n != 3 {
				t.Errorf("%d item rows, want 3", n)
			}
			var data string
			if err := db.QueryRow("SELECT data FROM crawl_items WHERE url = 'http://h/1' AND rule = 'product' AND idx = 0").Scan(&data); err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(data), &got); err != nil {
				t.Fatal(err)
			}
			if want := map[string]any{"name": "a2", "price": 1.5}; !reflect.DeepEqual(got, want) {
				t.Errorf("item data %v, want %v (the refetch's)", got, want)
			}
			if n := count(t, db, "SELECT count(*) FROM crawl_items WHERE rule = 'review' AND idx = 0"); n != 1 {
				t.Errorf("review idx 0: %d rows", n)
			}
			if n := count(t, db, "SELECT count(*) FROM crawl_links WHERE from_url = 'http://h/1'"); n != 2 {
				t.Errorf("%d links, want 2", n)
			}
			var gz []byte
			if err := db.QueryRow("SELECT body FROM crawl_bodies WHERE url = 'http://h/2'").Scan(&gz); err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(bytes.NewReader(gz))
			if err != nil {
				t.Fatal(err)
			}
			if body, _ := io.ReadAll(zr); string(body) != "<html>http://h/2</html>" {
				t.Errorf("body %q", body)
			}
			if s.Pages() != 3 || s.Items() != 6 {
				t.Errorf("Pages %d, Items %d: want the rows written, 3 and 6", s.Pages(), s.Items())
			}
		})
	}
}

// A batch holding both new rows and rows already written (a resumed
// crawl's in-flight pages beside new ones) leaves every new row and the
// newer version of every old one, in every table: on PostgreSQL, the
// COPY straight into the tables fails and the batch is upserted instead.
func TestSinkBatchOfNewAndExistingRows(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := connect(t, newURL(t, kind))
			s := open(t, db, dbsink.Options{Links: true, Bodies: true})
			first := page("http://h/1", 200, item("http://h/1", "product", parse.Field{Name: "name", Value: "old"}))
			if err := s.WriteBatch(first, page("http://h/2", 200)); err != nil {
				t.Fatal(err)
			}
			again := page("http://h/1", 500, item("http://h/1", "product", parse.Field{Name: "name", Value: "new"}))
			third := page("http://h/3", 200, item("http://h/3", "product", parse.Field{Name: "name", Value: "three"}))
			third.Parsed.Links = []string{"http://h/a", "http://h/c"} // one link already there, one new
			if err := s.WriteBatch(third, again); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				q    string
				want int
			}{
				{"SELECT count(*) FROM crawl_pages", 3},
				{"SELECT count(*) FROM crawl_pages WHERE url = 'http://h/1' AND status = 500", 1},
				{"SELECT count(*) FROM crawl_items", 2},
				{"SELECT count(*) FROM crawl_items WHERE url = 'http://h/3'", 1},
				{"SELECT count(*) FROM crawl_links", 6},
				{"SELECT count(*) FROM crawl_bodies", 3},
			} {
				if n := count(t, db, c.q); n != c.want {
					t.Errorf("%s: %d, want %d", c.q, n, c.want)
				}
			}
			var data string
			if err := db.QueryRow("SELECT data FROM crawl_items WHERE url = 'http://h/1'").Scan(&data); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(data, `"new"`) {
				t.Errorf("page 1's item %s, want the refetch's", data)
			}
		})
	}
}

// TestSinkRefetchReplacesItems: with Options.Rules, a page fetched again
// without an error replaces its items of those rules, also when it now
// yields fewer; a failed refetch leaves them; items of other rules stay.
// Within one batch, the page's last successful fetch gives its items.
func TestSinkRefetchReplacesItems(t *testing.T) {
	const u = "http://h/p"
	products := func(names ...string) []parse.Item {
		var items []parse.Item
		for _, n := range names {
			items = append(items, item(u, "product", parse.Field{Name: "name", Value: n}))
		}
		return items
	}
	failed := func() *crawler.Page {
		p := page(u, 503)
		p.Result.Error, p.Items = crawler.ClassHTTP5xx, nil
		return p
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := connect(t, newURL(t, kind))
			s := open(t, db, dbsink.Options{Rules: []string{"product", "gone"}})
			names := func() string {
				t.Helper()
				rows, err := db.Query("SELECT data FROM crawl_items WHERE rule = 'product' ORDER BY idx")
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var got []string
				for rows.Next() {
					var data string
					if err := rows.Scan(&data); err != nil {
						t.Fatal(err)
					}
					var f struct{ Name string }
					if err := json.Unmarshal([]byte(data), &f); err != nil {
						t.Fatal(err)
					}
					got = append(got, f.Name)
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				return strings.Join(got, ",")
			}
			first := page(u, 200, append(products("a", "b", "c"), item(u, "other", parse.Field{Name: "name", Value: "x"}))...)
			for n, step := range []struct {
				name  string
				batch []*crawler.Page
				want  string
			}{
				{"first fetch", []*crawler.Page{first, page("http://h/q", 200)}, "a,b,c"},
				{"refetch yields fewer", []*crawler.Page{page(u, 200, products("d")...)}, "d"},
				{"failed refetch", []*crawler.Page{failed()}, "d"},
				{"twice in a batch", []*crawler.Page{page(u, 200, products("e", "f", "g")...), page(u, 200, products("h", "i")...)}, "h,i"},
				{"then failed in the batch", []*crawler.Page{page(u, 200, products("j")...), failed()}, "j"},
				{"refetch yields none", []*crawler.Page{page(u, 200)}, ""},
			} {
				// Each fetch at its own time, but the last, whose row is
				// the first's again (an upsert that changes nothing).
				for i, p := range step.batch {
					if step.want != "" {
						p.Result.FetchedAt = p.Result.FetchedAt.Add(time.Duration(10*n+i) * time.Second)
					}
				}
				if err := s.WriteBatch(step.batch...); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				if got := names(); got != step.want {
					t.Errorf("%s: product items %q, want %q", step.name, got, step.want)
				}
			}
			if n := count(t, db, "SELECT count(*) FROM crawl_items WHERE rule = 'other'"); n != 1 {
				t.Errorf("%d items of a rule the crawl does not have, want 1 (left as it was)", n)
			}
			if n := count(t, db, "SELECT count(*) FROM crawl_pages WHERE url = '"+u+"' AND error IS NULL"); n != 1 {
				t.Errorf("page row of the last fetch: %d without an error, want 1", n)
			}
		})
	}
}

// Batches of every size land whole: SQLite splits them into statements
// of 64, 32, … 1 rows, prepared once and reused from batch to batch.
func TestSinkBatchSizes(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := connect(t, newURL(t, kind))
			s := open(t, db, dbsink.Options{})
			total := 0
			for _, n := range []int{1, 63, 64, 127, 200, 127} {
				var pages []*crawler.Page
				for i := range n {
					u := fmt.Sprintf("http://h/%d/%d", total, i)
					pages = append(pages, page(u, 200, item(u, "r", parse.Field{Name: "i", Value: float64(i)})))
				}
				if err := s.WriteBatch(pages...); err != nil {
					t.Fatalf("batch of %d: %v", n, err)
				}
				total += n
				if got := count(t, db, "SELECT count(*) FROM crawl_pages"); got != total {
					t.Fatalf("after a batch of %d: %d page rows, want %d", n, got, total)
				}
				if got := count(t, db, "SELECT count(*) FROM crawl_items"); got != total {
					t.Fatalf("after a batch of %d: %d item rows, want %d", n, got, total)
				}
			}
		})
	}
}

// TestSinkLetsBatchesGather: without WriteThrough, rows that trickle in
// gather into a batch until Linger has passed since its first row or
// BatchRows are queued, after each commit as before the first (the
// writer once lingered only when idle, then committed whatever came
// during each commit: hundreds of small transactions a second).
func TestSinkLetsBatchesGather(t *testing.T) {
	for _, tt := range []struct {
		name  string
		o     dbsink.Options
		pages int
	}{
		{"linger", dbsink.Options{Linger: 50 * time.Millisecond, BatchRows: 1 << 20}, 300},
		{"rows", dbsink.Options{Linger: time.Hour, BatchRows: 30}, 300},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := connect(t, newURL(t, "sqlite"))
			s := open(t, db, tt.o)
			// A page a millisecond: slower than the writer commits them.
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			start := time.Now()
			for i := range tt.pages {
				<-tick.C
				if err := s.HandlePage(context.Background(), page(fmt.Sprintf("http://h/%d", i), 200)); err != nil {
					t.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			// The batches Linger ended, those BatchRows did, and Flush's.
			most := int64(elapsed/tt.o.Linger) + 1 + int64(tt.pages/tt.o.BatchRows) + 1
			if got := s.Commits(); got > most {
				t.Errorf("%d pages in %v: %d commits, want at most %d", tt.pages, elapsed, got, most)
			}
			if got := count(t, db, "SELECT count(*) FROM crawl_pages"); got != tt.pages {
				t.Errorf("%d page rows, want %d", got, tt.pages)
			}
		})
	}
}

// TestSinkFullQueueDoesNotLinger: a queue full before Linger or
// BatchRows is committed at once, not after Linger, so that the workers
// it holds back go on.
func TestSinkFullQueueDoesNotLinger(t *testing.T) {
	db := connect(t, newURL(t, "sqlite"))
	s := open(t, db, dbsink.Options{Linger: time.Hour, BatchRows: 1 << 20, QueueRows: 50})
	// The hour is the bug; the minute only keeps a failing test from
	// hanging.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 200 {
		if err := s.HandlePage(ctx, page(fmt.Sprintf("http://h/%d", i), 200)); err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, "SELECT count(*) FROM crawl_pages"); got != 200 {
		t.Errorf("%d page rows, want 200", got)
	}
}

func TestSinkRefusesOtherSchemaVersion(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			db := connect(t, newURL(t, kind))
			s := open(t, db, dbsink.Options{TablePrefix: "v_"})
			s.Close(context.Background())
			if _, err := db.Exec("UPDATE v_schema SET version = 99"); err != nil {
				t.Fatal(err)
			}
			_, err := dbsink.Open(context.Background(), db, dbsink.Options{TablePrefix: "v_"})
			if !errors.Is(err, dbsink.ErrSchemaVersion) || !strings.Contains(err.Error(), "version 99") ||
				!strings.Contains(err.Error(), fmt.Sprintf("version %d", dbsink.SchemaVersion)) {
				t.Errorf("Open over version 99: %v", err)
			}
			// Another prefix is another set of tables.
			open(t, db, dbsink.Options{TablePrefix: "w_"})
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		o    dbsink.Options
		want string
	}{
		{dbsink.Options{}, ""},
		{dbsink.Options{TablePrefix: "crawl_2"}, ""},
		{dbsink.Options{TablePrefix: "2x"}, "table prefix"},
		{dbsink.Options{TablePrefix: "a;drop"}, "table prefix"},
		{dbsink.Options{QueueRows: -1}, "negative"},
		{dbsink.Options{Linger: -time.Second}, "negative"},
		{dbsink.Options{BatchRows: -1}, "negative"},
	} {
		err := tt.o.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: %v, want %q", tt.o, err, tt.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"sqlite:/tmp/x.db", ""},
		{"postgres://u@h:5432/d?sslmode=disable", ""},
		{"mysql://u:p@h:3306/d", ""},
		{"mysql://u:p@h/d", ""},
		{"foo://x", "unknown scheme"},
		{"sqlite:", "want sqlite:PATH"},
		{"mysql://u:p@h:3306/", "dbname"},
		{"mysql://u:p@h:3306/d?tls=1", "unknown parameter"},
		{"postgres://u@h:notaport/d", "bad database URL"},
		{"::", "not a URL"},
	} {
		err := dbsink.CheckURL(tt.url)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.url, err, tt.want)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:secret@h/d":          "postgres://u:xxxxx@h/d",
		"postgres://u@h/d?password=secret": "postgres://u@h/d?password=xxxxx",
		"mysql://u:secret@h:1/d":           "mysql://u:xxxxx@h:1/d",
		"sqlite:/x":                        "sqlite:/x",
	} {
		if got := dbsink.Redact(in); got != want {
			t.Errorf("Redact(%s) = %s, want %s", in, got, want)
		}
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestSinkWaitsOutAnOutage stops the server under a sink: the workers are
// held back once the queue is full, and every row is written when the
// server is back. Each kind gets a server of its own, as it is stopped.
func TestSinkWaitsOutAnOutage(t *testing.T) {
	for _, kind := range []testdb.Kind{testdb.Postgres, testdb.MariaDB} {
		t.Run(string(kind), func(t *testing.T) {
			srv, err := testdb.Start(kind)
			srv = testdb.Require(t, srv, err)
			defer srv.Close()
			ctx := context.Background()
			name, err := srv.NewDatabase(ctx)
			if err != nil {
				t.Fatal(err)
			}
			db := connect(t, srv.URL(name, srv.User, srv.Password))
			var logs syncBuffer
			s := open(t, db, dbsink.Options{QueueRows: 1, MaxBackoff: 200 * time.Millisecond,
				Log: slog.New(slog.NewTextHandler(&logs, nil))})
			srv.Stop()
			// The writer takes page 0 and fails; page 1 fills the queue.
			for i := range 2 {
				if err := s.HandlePage(ctx, page(fmt.Sprintf("http://h/%d", i), 200)); err != nil {
					t.Fatal(err)
				}
			}
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if err := s.HandlePage(cancelled, page("http://h/2", 200)); !errors.Is(err, context.Canceled) {
				t.Fatalf("HandlePage on a full queue: %v, want it to wait (and give up with its context)", err)
			}
			if err := srv.Restart(); err != nil {
				t.Fatal(err)
			}
			if err := s.HandlePage(ctx, page("http://h/2", 200)); err != nil {
				t.Fatal(err)
			}
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, "SELECT count(*) FROM crawl_pages"); n != 3 {
				t.Errorf("%d rows after the outage, want 3", n)
			}
			out := logs.String()
			if !strings.Contains(out, "database unavailable, retrying") {
				t.Errorf("no retry warning in the log:\n%s", out)
			}
			if strings.Contains(out, srv.Password) {
				t.Errorf("the log holds the password:\n%s", out)
			}
		})
	}
}

// TestSinkWriteThroughCommitsBeforeReturning reads the page's row from
// another connection as soon as HandlePage returns.
func TestSinkWriteThroughCommitsBeforeReturning(t *testing.T) {
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			url := newURL(t, kind)
			s := open(t, connect(t, url), dbsink.Options{WriteThrough: true})
			other := connect(t, url)
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					if err := s.HandlePage(context.Background(), page(fmt.Sprintf("http://h/%d", i), 200)); err != nil {
						t.Error(err)
						return
					}
					if n := count(t, other, "SELECT count(*) FROM crawl_pages WHERE url = "+param(kind), fmt.Sprintf("http://h/%d", i)); n != 1 {
						t.Errorf("page %d not committed when HandlePage returned", i)
					}
				})
			}
			wg.Wait()
		})
	}
}

// param is the first query parameter's placeholder on kind.
func param(kind string) string {
	if kind == "postgres" {
		return "$1"
	}
	return "?"
}

func TestConnectErrors(t *testing.T) {
	pg := servers[testdb.Postgres].Get(t, testdb.Postgres)
	ctx := context.Background()
	name, err := pg.NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, url, password, want string
	}{
		{"wrong password", pg.URL(name, pg.User, "wrong-pw-123"), "", "password authentication failed"},
		{"wrong password file", pg.URL(name, pg.User, ""), "wrong-pw-456", "password authentication failed"},
		{"unreachable", "postgres://crawl:pw-789@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", "", "connect"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dbsink.Connect(ctx, tt.url, tt.password)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Connect: %v, want %q", err, tt.want)
			}
			for _, secret := range []string{"wrong-pw-123", "wrong-pw-456", "pw-789"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error holds the password: %v", err)
				}
			}
		})
	}
	if db, err := dbsink.Connect(ctx, pg.URL(name, pg.User, "wrong"), pg.Password); err != nil {
		t.Errorf("the password given replaces the URL's: %v", err)
	} else {
		db.Close()
	}
}
