package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/output"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/testsite"
)

func TestCutTornLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"{\"a\":1}\n", "{\"a\":1}\n"},
		{"{\"a\":1}\n{\"b\":", "{\"a\":1}\n"},
		{"{\"b\":", ""},
		{"{\"a\":1}\n{\"b\":2}\n{", "{\"a\":1}\n{\"b\":2}\n"},
		{strings.Repeat("x", 100<<10) + "\n" + strings.Repeat("y", 70<<10), strings.Repeat("x", 100<<10) + "\n"},
	}
	for i, tt := range tests {
		path := filepath.Join(t.TempDir(), "out.jsonl")
		if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := openOutput(path, true, cutTornLine)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("{\"next\":true}\n")
		f.Close()
		got, _ := os.ReadFile(path)
		if want := tt.want + "{\"next\":true}\n"; string(got) != want {
			t.Errorf("case %d: file %.60q..., want %.60q...", i, got, want)
		}
	}
}

// csvFile returns CSV records encoded as output.CSVItems encodes them
// (encoding/csv, newline ends), and the offset at which each ends.
func csvFile(t *testing.T, records ...[]string) (data []byte, ends []int64) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	for _, rec := range records {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		ends = append(ends, int64(buf.Len()))
	}
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ends
}

func TestCutTornCSV(t *testing.T) {
	columns := []string{"url", "rule", "name", "description"}
	records := [][]string{
		columns,
		{"https://a.test/1", "p", "Salt, \"fine\"", "one line"},
		{"https://a.test/2", "p", "Pepper", "first line\nsecond, \"quoted\"\nthird"},
		{"https://a.test/3", "p", "Oil", "last"},
	}
	whole, ends := csvFile(t, records...)
	multi := ends[1] // start of the row with a multi-line cell
	cell := multi + int64(bytes.Index(whole[multi:], []byte(`"first`)))
	at := func(s string) int64 { return multi + int64(bytes.Index(whole[multi:], []byte(s))) }
	short, _ := csvFile(t, columns, []string{"https://a.test/9", "q"}) // rows under other rules
	tests := []struct {
		name string
		in   []byte
		want int64 // bytes kept
	}{
		{"empty", nil, 0},
		{"whole records", whole, int64(len(whole))},
		{"whole header only", whole[:ends[0]], ends[0]},
		{"torn header", whole[:ends[0]-5], 0},
		{"header without its newline", whole[:ends[0]-1], 0},
		{"torn in an unquoted cell", whole[:ends[3]-3], ends[2]},
		{"last row without its newline", whole[:ends[3]-1], ends[2]},
		{"torn after the url", whole[:multi+5], ends[1]},
		{"torn at the opening quote", whole[:cell+1], ends[1]},
		{"torn before a newline in a quoted cell", whole[:at("\nsecond")], ends[1]},
		{"torn after a newline in a quoted cell", whole[:at("second")], ends[1]},
		{"torn after a newline and a comma in a quoted cell", whole[:at("third")], ends[1]},
		{"torn inside an escaped quote", whole[:at(`"quoted`)-1], ends[1]},
		{"torn at the closing quote", whole[:ends[2]-1], ends[1]},
		{"whole multi-line row last", whole[:ends[2]], ends[2]},
		{"rows of fewer cells", short, int64(len(short))},
		{"empty lines after the records", append(bytes.Clone(whole), "\n\n"...), int64(len(whole)) + 2},
		{"empty lines only", []byte("\n\n"), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkCutTornCSV(t, tt.in, tt.want, columns)
		})
	}
	// Damage that whole rows follow is not a tear: cutting there would
	// lose those rows.
	for _, tt := range []struct{ name, row string }{
		{"a bare quote", "https://a.test/x,p,a \"bare\" quote,\n"},
		{"text after a closing quote", "https://a.test/x,p,\"closed\"early,\n"},
	} {
		t.Run("damaged by "+tt.name, func(t *testing.T) {
			in := slices.Concat(whole[:ends[1]], []byte(tt.row), whole[ends[1]:])
			path := filepath.Join(t.TempDir(), "items.csv")
			if err := os.WriteFile(path, in, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := openOutput(path, true, cutTornCSV)
			if err == nil {
				f.Close()
				t.Fatal("a file damaged before its end was repaired")
			}
			var perr *csv.ParseError
			if !errors.As(err, &perr) || perr.Line != 3 {
				t.Errorf("error %v, want the parse error of line 3", err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, in) {
				t.Errorf("the file was changed to %q", got)
			}
		})
	}
	t.Run("every cut", func(t *testing.T) {
		for n := range int64(len(whole)) + 1 {
			want := int64(0)
			for _, end := range ends {
				if end <= n {
					want = end
				}
			}
			checkCutTornCSV(t, whole[:n], want, columns)
		}
	})
}

// checkCutTornCSV repairs a file holding in and checks that it keeps want
// bytes, then appends a row as a resumed crawl does (header only if the
// file is empty) and checks that the file reads as CSV: the kept records,
// then the new row.
func checkCutTornCSV(t *testing.T, in []byte, want int64, columns []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "items.csv")
	if err := os.WriteFile(path, in, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := openOutput(path, true, cutTornCSV)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != want {
		t.Fatalf("%d bytes kept of %d %q, want %d", fi.Size(), len(in), in, want)
	}
	c, err := output.NewCSVItems(f, columns, fi.Size() == 0)
	if err != nil {
		t.Fatal(err)
	}
	page := &crawler.Page{Items: []parse.Item{{URL: "https://a.test/next", Rule: "p"}}}
	if err := c.HandlePage(context.Background(), page); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("after repairing %q: %v\n%q", in, err, data)
	}
	r = csv.NewReader(bytes.NewReader(in[:want]))
	r.FieldsPerRecord = -1
	kept, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the %d bytes to keep of %q do not read: %v", want, in, err)
	}
	if len(kept) == 0 {
		kept = [][]string{columns}
	}
	wantRows := append(kept, []string{"https://a.test/next", "p", "", ""})
	if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
		t.Errorf("after repairing %q, rows %q, want %q", in, rows, wantRows)
	}
}

// warcFile returns a WARC file as output.NewWARC writes it: the warcinfo
// record and a request and a response record per page, each a gzip
// member. ends holds the offset at which each member ends.
func warcFile(t *testing.T, pages ...string) (data []byte, ends []int64) {
	t.Helper()
	var buf bytes.Buffer
	cw := &memberEnds{w: &buf}
	w, err := output.NewWARC(cw, output.WARCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range pages {
		res := &crawler.Result{URL: p, FinalURL: p, Status: 200, FetchedAt: time.Unix(1700000000, 0)}
		// A body of many lines, so that members hold newline bytes.
		body := strings.Repeat(fmt.Sprintf("line %d of page %d\n", i, i), 50)
		page := &crawler.Page{Result: res, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte(body)}
		if err := w.HandlePage(context.Background(), page); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes(), cw.ends
}

// memberEnds records where each Write ends: output.WARC writes one gzip
// member per Write.
type memberEnds struct {
	w    io.Writer
	n    int64
	ends []int64
}

func (m *memberEnds) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	m.n += int64(n)
	m.ends = append(m.ends, m.n)
	return n, err
}

func TestCutTornGzip(t *testing.T) {
	whole, ends := warcFile(t, "http://a.test/1", "http://a.test/2", "http://a.test/3")
	if len(ends) != 7 {
		t.Fatalf("%d members, want 7", len(ends))
	}
	last := ends[len(ends)-2] // start of the last member
	badCRC := bytes.Clone(whole)
	badCRC[ends[2]-8] ^= 0xff // the third member's checksum
	tests := []struct {
		name string
		in   []byte
		want int64 // bytes kept
	}{
		{"empty", nil, 0},
		{"whole members", whole, int64(len(whole))},
		{"one whole member", whole[:ends[0]], ends[0]},
		{"torn in the gzip header", whole[:last+5], last},
		{"torn after the header", whole[:last+10], last},
		{"torn in the middle", whole[:last+(int64(len(whole))-last)/2], last},
		{"torn in the trailer", whole[:len(whole)-1], last},
		{"torn first member", whole[:ends[0]-1], 0},
		{"newline after the members", append(bytes.Clone(whole), '\n'), int64(len(whole))},
		{"garbage after the members", append(bytes.Clone(whole), "WARC/1.1\r\n"...), int64(len(whole))},
		{"bad checksum", badCRC, ends[1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "w.warc.gz")
			if err := os.WriteFile(path, tt.in, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := openOutput(path, true, cutTornGzip)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() != tt.want {
				t.Fatalf("%d bytes kept of %d, want %d", fi.Size(), len(tt.in), tt.want)
			}
			// What the resumed crawl appends makes one valid archive.
			w, err := output.NewWARC(f, output.WARCOptions{})
			if err != nil {
				t.Fatal(err)
			}
			page := &crawler.Page{Result: &crawler.Result{URL: "http://a.test/next", Status: 200}, Header: http.Header{}, Body: []byte("next\n")}
			if err := w.HandlePage(context.Background(), page); err != nil {
				t.Fatal(err)
			}
			f.Close()
			checkGzipMembers(t, path)
		})
	}
}

// checkGzipMembers reads a WARC file back with gzip (as gzip -t does) and
// with gowarc, strictly, and fails the test on any error.
func checkGzipMembers(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		t.Fatalf("%s: gzip: %v", path, err)
	}
	r, err := gowarc.NewWarcFileReader(path, 0, gowarc.WithStrictValidation())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for rec, err := range r.Records() {
		if err != nil {
			t.Fatalf("%s: warc: %v", path, err)
		}
		if len(rec.Validation) > 0 {
			t.Errorf("%s: record at %d: %v", path, rec.Offset, rec.Validation)
		}
		rec.Close()
	}
}

// TestResumeKeepsWARCWhole resumes a crawl with --state and --warc, as a
// user would after a stop, and checks that the archive is still one valid
// series of gzip members, with every page in it.
func TestResumeKeepsWARCWhole(t *testing.T) {
	site := testsite.New(testsite.Options{Pages: 30, LinksPerPage: 4, PageBytes: 256})
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	warc := filepath.Join(dir, "w.warc.gz")
	args := []string{"--state", filepath.Join(dir, "state"), "-o", filepath.Join(dir, "out.jsonl"), "--warc", warc, "--rate", "0", "--quiet"}
	for i := range 3 { // the crawl, then two resumes of a finished crawl
		var stderr bytes.Buffer
		a := args
		if i == 0 {
			a = append(slices.Clone(args), srv.URL+"/")
		}
		if err := run(context.Background(), a, io.Discard, &stderr); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, stderr.String())
		}
		checkGzipMembers(t, warc)
	}
	records := readLines[crawler.Result](t, filepath.Join(dir, "out.jsonl"))
	if len(records) != len(site.Reachable(0)) {
		t.Fatalf("%d records for %d pages", len(records), len(site.Reachable(0)))
	}
	r, err := gowarc.NewWarcFileReader(warc, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	responses := 0
	for rec, err := range r.Records() {
		if err != nil {
			t.Fatal(err)
		}
		if rec.WarcRecord.Type() == gowarc.Response {
			responses++
		}
		rec.Close()
	}
	if responses != len(records) {
		t.Errorf("%d responses archived for %d records", responses, len(records))
	}
}

// TestRefusedRunChangesNoState checks that a crawl refused at the start
// leaves the state directory as it was: one refused because another crawl
// holds the directory does not add its seeds, and one with nothing to
// crawl or resume creates no store.
func TestRefusedRunChangesNoState(t *testing.T) {
	t.Run("locked", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state")
		seeds := filepath.Join(state, seedsFile)
		before := []byte(`["http://127.0.0.1:9/first/"]`)
		if err := os.MkdirAll(state, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(seeds, before, 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := parseArgs([]string{"--state", state})
		if err != nil {
			t.Fatal(err)
		}
		st, err := openState(o.State, o.Seeds, o.crawlerConfig()) // as the running crawl holds it
		if err != nil {
			t.Fatal(err)
		}
		defer st.frontier.Close()
		var stderr bytes.Buffer
		err = run(context.Background(), []string{"--state", state, "-o", os.DevNull, "http://127.0.0.1:9/other/"}, io.Discard, &stderr)
		if exitCode(err) != exitUsage || !strings.Contains(stderr.String(), "in use by another crawl") {
			t.Fatalf("second crawl on a locked state: %v, stderr %q", err, stderr.String())
		}
		if after, err := os.ReadFile(seeds); err != nil || !bytes.Equal(after, before) {
			t.Errorf("%s is %s (%v), was %s", seedsFile, after, err, before)
		}
		if _, err := os.Stat(seeds + ".tmp"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("temporary seeds file: %v", err)
		}
	})
	t.Run("nothing to resume", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state")
		var stderr bytes.Buffer
		err := run(context.Background(), []string{"--state", state, "-o", os.DevNull}, io.Discard, &stderr)
		if exitCode(err) != exitUsage || !strings.Contains(stderr.String(), "no crawl to resume") {
			t.Fatalf("crawl with no URL on an empty state: %v, stderr %q", err, stderr.String())
		}
		if _, err := os.Stat(filepath.Join(state, "frontier")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a store was created for nothing: %v", err)
		}
	})
}

// crawlProc is one run of the crawl binary.
type crawlProc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan error
}

func startCrawl(t *testing.T, bin string, args ...string) *crawlProc {
	t.Helper()
	p := &crawlProc{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p
}

// wait waits for the process to end and returns its exit status.
func (p *crawlProc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(limit):
		p.cmd.Process.Kill()
		t.Fatalf("crawl still running after %s\n%s", limit, p.stderr.String())
		return -1
	}
}

// waitUnique blocks until the site has served n unique pages.
func (p *crawlProc) waitUnique(t *testing.T, site *testsite.Site, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for site.Unique() < n {
		select {
		case <-ctx.Done():
			t.Fatalf("site served only %d of %d pages", site.Unique(), n)
		case err := <-p.done:
			t.Fatalf("crawl ended (%v) after %d of %d pages:\n%s", err, site.Unique(), n, p.stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestStateSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	site := testsite.New(testsite.Options{Pages: 2000, LinksPerPage: 10, PageBytes: 512, Latency: 2 * time.Millisecond})
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	const concurrency = 8
	args := []string{"--state", state, "-o", out, "--rate", "0", "--per-host", "8", "--concurrency", "8", "--quiet"}

	kills := 0
	for _, at := range []int{200, 700, 1200, 1700} {
		before := site.Duplicates()
		p := startCrawl(t, bin, append(args, srv.URL+"/")...)
		p.waitUnique(t, site, at)
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
		kills++
		// Refetches after this kill are those in flight at it: at most one
		// lease per worker.
		if d := site.Duplicates() - before; d > concurrency {
			t.Errorf("run %d refetched %d pages, more than the %d in flight", kills, d, concurrency)
		}
	}
	before := site.Duplicates()
	p := startCrawl(t, bin, args...) // resume without seeds
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("resumed crawl exit %d\n%s", code, p.stderr.String())
	}
	if d := site.Duplicates() - before; d > concurrency {
		t.Errorf("last run refetched %d pages", d)
	}
	for n := range site.Reachable(0) {
		if site.Fetches(n) == 0 {
			t.Errorf("page %d never fetched", n)
		}
	}
	if d := site.Duplicates(); d > kills*concurrency {
		t.Errorf("%d refetches over %d kills, want at most %d", d, kills, kills*concurrency)
	}
	if n := checkJSONLines(t, out); n < len(site.Reachable(0)) {
		t.Errorf("output has %d records for %d pages", n, len(site.Reachable(0)))
	}

	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"status", "--state", state}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "queued  0\n") || !strings.Contains(stdout.String(), "leased  0\n") {
		t.Errorf("status after a finished crawl:\n%s", stdout.String())
	}
}

func TestStateResumeAfterSIGINTRefetchesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	site := testsite.New(testsite.Options{Pages: 1500, LinksPerPage: 10, PageBytes: 512, Latency: 2 * time.Millisecond})
	srv := httptest.NewServer(site)
	defer srv.Close()
	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out.jsonl")
	args := []string{"--state", state, "-o", out, "--rate", "0", "--per-host", "8", "--grace", "20s", "--quiet"}

	p := startCrawl(t, bin, append(args, srv.URL+"/")...)
	p.waitUnique(t, site, 400)
	p.cmd.Process.Signal(syscall.SIGINT)
	if code := p.wait(t, 30*time.Second); code != exitInterrupted {
		t.Fatalf("exit %d after SIGINT\n%s", code, p.stderr.String())
	}
	stopped := site.Unique()

	// A second crawl on the same state while none runs works; while one
	// runs it is refused.
	p = startCrawl(t, bin, args...)
	if code := p.wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("resume exit %d\n%s", code, p.stderr.String())
	}
	if d := site.Duplicates(); d != 0 {
		t.Errorf("%d pages refetched after a clean stop at %d pages", d, stopped)
	}
	if site.Unique() != len(site.Reachable(0)) {
		t.Errorf("%d of %d pages fetched", site.Unique(), len(site.Reachable(0)))
	}
	if n := checkJSONLines(t, out); n < site.Unique() {
		t.Errorf("%d records for %d pages", n, site.Unique())
	}
}

func TestStateLockedByRunningCrawl(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildBinary(t)
	site := testsite.New(testsite.Options{Pages: 2000, LinksPerPage: 5, PageBytes: 256, Latency: 20 * time.Millisecond})
	srv := httptest.NewServer(site)
	defer srv.Close()
	state := filepath.Join(t.TempDir(), "state")
	p := startCrawl(t, bin, "--state", state, "-o", os.DevNull, "--rate", "0", "--quiet", srv.URL+"/")
	defer func() {
		p.cmd.Process.Kill()
		p.wait(t, 10*time.Second)
	}()
	p.waitUnique(t, site, 20)
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--state", state, "-o", os.DevNull}, &bytes.Buffer{}, &stderr)
	if exitCode(err) != exitUsage || !strings.Contains(stderr.String(), "in use") {
		t.Errorf("second crawl on a locked state: %v, stderr %q", err, stderr.String())
	}
}

// TestSeedsFileIsPrivate checks that seeds.json, which keeps a seed's
// user and password for the resume, is readable by its owner only.
func TestSeedsFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := mergeSeeds(dir, []string{"http://alice:s3cret@127.0.0.1:1/"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, seedsFile))
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %v, want 0600", seedsFile, mode)
	}
}
