package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hivecrawl/crawl/internal/testdb"
	"github.com/hivecrawl/crawl/output/dbsink"
	"github.com/hivecrawl/crawl/testsite"
)

// dbServers are the PostgreSQL and MariaDB servers the --db tests share,
// started on first use and stopped by TestMain (closeDBServers).
var dbServers = map[testdb.Kind]*testdb.Shared{testdb.Postgres: {}, testdb.MariaDB: {}}

func closeDBServers() {
	for _, s := range dbServers {
		s.Close()
	}
}

// dbKinds are the databases every --db test runs against.
var dbKinds = []string{"sqlite", "postgres", "mariadb"}

// newDBURL returns the --db URL of an empty database of kind, and the
// password in it ("" for SQLite).
func newDBURL(t *testing.T, kind string) (url, password string) {
	t.Helper()
	if kind == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "crawl.db"), ""
	}
	s := dbServers[testdb.Kind(kind)].Get(t, testdb.Kind(kind))
	name, err := s.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.URL(name, s.User, s.Password), s.Password
}

func dbConnect(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := dbsink.Connect(context.Background(), url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// itemRules extract one "page" item per page (its heading) and, on the
// pages whose number ends in 7 (so that reading them back stays quick
// under the race detector), one "link" item per list entry.
const itemRules = `rules:
  - name: page
    fields:
      - {name: title, selector: h1}
  - name: link
    url: '/p/[0-9]*7$'
    each: li
    fields:
      - {name: href, selector: a, attr: href}
      - {name: text, selector: a}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type itemKey struct {
	url, rule string
	idx       int
}

// itemsFile reads --items' output, keyed as the items table is: idx is
// the item's place among its page's items of its rule.
func itemsFile(t *testing.T, path string) map[itemKey]map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[itemKey]map[string]any{}
	next := map[[2]string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		url, rule := m["url"].(string), m["rule"].(string)
		delete(m, "url")
		delete(m, "rule")
		k := [2]string{url, rule}
		out[itemKey{url, rule, next[k]}] = m
		next[k]++
	}
	return out
}

// itemsTable reads the items table.
func itemsTable(t *testing.T, db *sql.DB) map[itemKey]map[string]any {
	t.Helper()
	rows, err := db.Query("SELECT url, rule, idx, data FROM crawl_items")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[itemKey]map[string]any{}
	for rows.Next() {
		var (
			k    itemKey
			data string
			m    map[string]any
		)
		if err := rows.Scan(&k.url, &k.rule, &k.idx, &data); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatal(err)
		}
		out[k] = m
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type pageFacts struct {
	Status  int    `json:"status"`
	Depth   int    `json:"depth"`
	Title   string `json:"title"`
	Parent  string `json:"parent"`
	Bytes   int64  `json:"bytes"`
	Links   int    `json:"links"`
	Error   string `json:"error"`
	Content string `json:"content_type"`
}

func recordsFile(t *testing.T, path string) map[string]pageFacts {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pageFacts{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			URL string `json:"url"`
			pageFacts
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		out[r.URL] = r.pageFacts
	}
	return out
}

func pagesTable(t *testing.T, db *sql.DB) map[string]pageFacts {
	t.Helper()
	rows, err := db.Query("SELECT url, status, depth, title, parent, bytes, links, error, content_type FROM crawl_pages")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]pageFacts{}
	for rows.Next() {
		var (
			url                              string
			p                                pageFacts
			title, parent, errc, contentType sql.NullString
		)
		if err := rows.Scan(&url, &p.Status, &p.Depth, &title, &parent, &p.Bytes, &p.Links, &errc, &contentType); err != nil {
			t.Fatal(err)
		}
		p.Title, p.Parent, p.Error, p.Content = title.String, parent.String, errc.String, contentType.String
		if _, dup := out[url]; dup {
			t.Errorf("two rows for %s", url)
		}
		out[url] = p
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDBSyntheticSite crawls the 5,000-page site with extraction rules
// into each database: one pages row per URL, as -o records it, and the
// items --items writes, value for value.
func TestDBSyntheticSite(t *testing.T) {
	if testing.Short() {
		t.Skip("crawls 5,000 pages per database")
	}
	bin := buildBinary(t)
	site := testsite.New(testsite.Options{Pages: 5000, LinksPerPage: 6, PageBytes: 512})
	srv := httptest.NewServer(site)
	defer srv.Close()
	config := writeFile(t, "rules.yaml", itemRules)
	for _, kind := range dbKinds {
		t.Run(kind, func(t *testing.T) {
			url, _ := newDBURL(t, kind)
			dir := t.TempDir()
			out, items := filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "items.jsonl")
			// The binary, not run: the race detector would slow the
			// transpiled SQLite tenfold.
			p := startCrawl(t, bin, "--config", config, "--db", url, "-o", out, "--items", items,
				"--rate", "0", "--per-host", "16", "--concurrency", "16", "--quiet", srv.URL+"/")
			if code := p.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("crawl exit %d\n%s", code, p.stderr.String())
			}
			db := dbConnect(t, url)
			records, rows := recordsFile(t, out), pagesTable(t, db)
			if len(records) < 5000 {
				t.Fatalf("only %d records", len(records))
			}
			if len(rows) != len(records) {
				t.Errorf("%d pages rows for %d records", len(rows), len(records))
			}
			for u, want := range records {
				if got, ok := rows[u]; !ok {
					t.Errorf("no row for %s", u)
				} else if got != want {
					t.Errorf("%s: row %+v, record %+v", u, got, want)
				}
			}
			wantItems, gotItems := itemsFile(t, items), itemsTable(t, db)
			if len(gotItems) != len(wantItems) {
				t.Errorf("%d item rows, --items wrote %d", len(gotItems), len(wantItems))
			}
			bad := 0
			for k, want := range wantItems {
				if got := gotItems[k]; !reflect.DeepEqual(got, want) && bad < 5 {
					bad++
					t.Errorf("item %+v: row %v, --items %v", k, got, want)
				}
			}
		})
	}
}

// TestDBRecrawlReplacesItems crawls a page into SQLite twice, the second
// time yielding fewer items: the items table then holds what the second
// crawl's --items wrote, no more (the rules reach the sink).
func TestDBRecrawlReplacesItems(t *testing.T) {
	var entries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "<html><h1>List</h1><ul>")
		for i := range entries.Load() {
			fmt.Fprintf(w, "<li><a href=\"#%d\">entry %d</a></li>", i, i)
		}
		fmt.Fprint(w, "</ul></html>")
	}))
	defer srv.Close()
	config := writeFile(t, "rules.yaml", `rules:
  - name: entry
    each: li
    fields:
      - {name: text, selector: a}
`)
	url, _ := newDBURL(t, "sqlite")
	for _, n := range []int64{3, 1} {
		entries.Store(n)
		items := filepath.Join(t.TempDir(), "items.jsonl")
		var stderr bytes.Buffer
		if err := run(context.Background(), []string{"--config", config, "--db", url, "--items", items, "-o", os.DevNull,
			"--quiet", srv.URL + "/"}, io.Discard, &stderr); err != nil {
			t.Fatalf("crawl with %d entries: %v\n%s", n, err, stderr.String())
		}
		want, got := itemsFile(t, items), itemsTable(t, dbConnect(t, url))
		if len(want) != int(n) || !reflect.DeepEqual(got, want) {
			t.Errorf("crawl with %d entries: items table %v, --items %v", n, got, want)
		}
		if line := fmt.Sprintf("crawl: database rows written: pages 1, items %d\n", n); !strings.Contains(stderr.String(), line) {
			t.Errorf("crawl with %d entries: no %q in the summary:\n%s", n, line, stderr.String())
		}
	}
}

// TestDBSurvivesSIGKILL kills a --state crawl into each database three
// times, then resumes it: one pages row per URL, every page's item once.
func TestDBSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := buildBinary(t)
	config := writeFile(t, "rules.yaml", "rules:\n  - name: page\n    fields:\n      - {name: title, selector: h1}\n")
	for _, kind := range dbKinds {
		t.Run(kind, func(t *testing.T) {
			site := testsite.New(testsite.Options{Pages: 1500, LinksPerPage: 6, PageBytes: 512, Latency: 2 * time.Millisecond})
			srv := httptest.NewServer(site)
			defer srv.Close()
			url, _ := newDBURL(t, kind)
			state := filepath.Join(t.TempDir(), "state")
			args := []string{"--config", config, "--state", state, "--db", url, "-o", os.DevNull,
				"--rate", "0", "--per-host", "8", "--concurrency", "8", "--quiet"}
			for _, at := range []int{200, 600, 1000} {
				p := startCrawl(t, bin, append(args, srv.URL+"/")...)
				p.waitUnique(t, site, at)
				p.cmd.Process.Signal(syscall.SIGKILL)
				p.wait(t, 10*time.Second)
			}
			p := startCrawl(t, bin, args...)
			if code := p.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("resumed crawl exit %d\n%s", code, p.stderr.String())
			}
			db := dbConnect(t, url)
			rows := pagesTable(t, db)
			items := itemsTable(t, db)
			pages := 0
			for n := range site.Reachable(0) {
				u := srv.URL + site.Path(n)
				pages++
				if r, ok := rows[u]; !ok || r.Status != 200 {
					t.Errorf("page %d (%s): row %+v, %v", n, u, r, ok)
					continue
				}
				if _, ok := items[itemKey{u, "page", 0}]; !ok {
					t.Errorf("page %d: no item", n)
				}
			}
			var total, perPage int
			db.QueryRow("SELECT count(*) FROM crawl_items").Scan(&total)
			db.QueryRow("SELECT count(*) FROM crawl_items WHERE idx > 0").Scan(&perPage)
			if perPage != 0 || total != len(items) {
				t.Errorf("%d items, %d beyond a page's first: want one per page", total, perPage)
			}
			if len(items) < pages {
				t.Errorf("%d items for %d pages", len(items), pages)
			}
		})
	}
}

// TestDBOutageMidCrawl stops the database server for a while during a
// crawl: the workers wait, the log says so, and every row is written.
func TestDBOutageMidCrawl(t *testing.T) {
	if testing.Short() {
		t.Skip("stops and starts database servers")
	}
	for _, kind := range []testdb.Kind{testdb.Postgres, testdb.MariaDB} {
		t.Run(string(kind), func(t *testing.T) {
			dbsrv, err := testdb.Start(kind) // its own: it is stopped
			dbsrv = testdb.Require(t, dbsrv, err)
			defer dbsrv.Close()
			name, err := dbsrv.NewDatabase(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			// The password comes from a file; the URL has none.
			url := dbsrv.URL(name, dbsrv.User, "")
			pwFile := writeFile(t, "pw", dbsrv.Password+"\n")
			site := testsite.New(testsite.Options{Pages: 1500, LinksPerPage: 6, PageBytes: 512, Latency: 2 * time.Millisecond})
			srv := httptest.NewServer(site)
			defer srv.Close()
			out := filepath.Join(t.TempDir(), "out.jsonl")
			var stderr syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- run(context.Background(), []string{"--db", url, "--db-password-file", pwFile, "-o", out,
					"--rate", "0", "--per-host", "8", "--concurrency", "8", srv.URL + "/"}, &bytes.Buffer{}, &stderr)
			}()
			waitCrawl(t, done, &stderr, func() bool { return site.Unique() >= 300 })
			dbsrv.Stop()
			waitCrawl(t, done, &stderr, func() bool { return strings.Contains(stderr.String(), "database unavailable, retrying") })
			if err := dbsrv.Restart(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("crawl: %v\n%s", err, stderr.String())
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("crawl still running 2m after the database came back\n%s", stderr.String())
			}
			rows := pagesTable(t, dbConnect(t, dbsrv.URL(name, dbsrv.User, dbsrv.Password)))
			records := recordsFile(t, out)
			if len(rows) != len(records) || len(records) < len(site.Reachable(0)) {
				t.Errorf("%d rows, %d records, %d reachable pages", len(rows), len(records), len(site.Reachable(0)))
			}
			if strings.Contains(stderr.String(), dbsrv.Password) {
				t.Errorf("the password is in the log:\n%s", stderr.String())
			}
		})
	}
}

// waitCrawl polls cond until it holds, failing if the crawl ends first.
func waitCrawl(t *testing.T, done <-chan error, stderr *syncBuffer, cond func() bool) {
	t.Helper()
	deadline := time.After(time.Minute)
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("crawl ended (%v) too early:\n%s", err, stderr.String())
		case <-deadline:
			t.Fatalf("condition not met in a minute:\n%s", stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// TestDBBadInputExitsTwo: a --db the crawl cannot write to is one line on
// stderr, exit 2, and nothing fetched; no password in the line.
func TestDBBadInputExitsTwo(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 10})
	srv := httptest.NewServer(site)
	defer srv.Close()
	ctx := context.Background()
	type tc struct {
		name   string
		args   []string
		want   string
		secret string
	}
	tests := []tc{
		{"unknown scheme", []string{"--db", "foo://x"}, "unknown scheme", ""},
		{"db flags without --db", []string{"--db-links"}, "need --db", ""},
		{"bad prefix", []string{"--db", "sqlite:x.db", "--db-table-prefix", "1; drop"}, "prefix", ""},
		{"missing password file", []string{"--db", "sqlite:x.db", "--db-password-file", "/nonexistent/pw"}, "db-password-file", ""},
		{"sqlite in a missing directory", []string{"--db", "sqlite:/nonexistent/dir/x.db"}, "--db", ""},
		{"unreachable postgres", []string{"--db", fmt.Sprintf("postgres://crawl:pw-unreach-1@127.0.0.1:%d/x?sslmode=disable", closedPort(t))}, "--db", "pw-unreach-1"},
		{"unreachable mysql", []string{"--db", fmt.Sprintf("mysql://crawl:pw-unreach-2@127.0.0.1:%d/x", closedPort(t))}, "--db", "pw-unreach-2"},
	}
	for _, kind := range []testdb.Kind{testdb.Postgres, testdb.MariaDB} {
		s := dbServers[kind].Get(t, kind)
		name, err := s.NewDatabase(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ro, err := s.NewDatabase(ctx)
		if err != nil {
			t.Fatal(err)
		}
		roURL := s.URL(ro, s.User, s.Password)
		if kind == testdb.Postgres {
			if err := s.Exec(ctx, "ALTER DATABASE "+ro+" SET default_transaction_read_only = on"); err != nil {
				t.Fatal(err)
			}
		} else {
			if err := s.Exec(ctx, "CREATE USER 'reader_"+ro+"'@'%' IDENTIFIED BY 'reader-pw-3'"); err != nil {
				t.Fatal(err)
			}
			if err := s.Exec(ctx, "GRANT SELECT ON "+ro+".* TO 'reader_"+ro+"'@'%'"); err != nil {
				t.Fatal(err)
			}
			roURL = s.URL(ro, "reader_"+ro, "reader-pw-3")
		}
		tests = append(tests,
			tc{"wrong password " + string(kind), []string{"--db", s.URL(name, s.User, "wrong-pw-4")}, "--db", "wrong-pw-4"},
			tc{"wrong password file " + string(kind), []string{"--db", s.URL(name, s.User, ""),
				"--db-password-file", writeFile(t, "pw", "wrong-pw-5\n")}, "--db", "wrong-pw-5"},
			tc{"read-only " + string(kind), []string{"--db", roURL}, "--db", "reader-pw-3"},
		)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := site.Unique()
			var stdout, stderr bytes.Buffer
			err := run(ctx, append(tt.args, "--quiet", srv.URL+"/"), &stdout, &stderr)
			if code := exitCode(err); code != exitUsage {
				t.Fatalf("exit %d (err %v), want %d", code, err, exitUsage)
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], tt.want) {
				t.Errorf("stderr %q: want one line mentioning %q", stderr.String(), tt.want)
			}
			if tt.secret != "" && strings.Contains(stderr.String(), tt.secret) {
				t.Errorf("the password is on stderr: %q", stderr.String())
			}
			if n := site.Unique() - before; n != 0 {
				t.Errorf("%d pages fetched", n)
			}
		})
	}
}
