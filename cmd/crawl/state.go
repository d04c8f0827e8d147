package main

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/disk"
)

// seedsFile, inside a --state directory, remembers the seeds of the crawl
// so that a resumed run without URLs keeps the same scope.
const seedsFile = "seeds.json"

// cookiesFile, inside a --state directory, keeps the session's cookies
// (--session), so that a resumed run sends what the last one had; it
// holds secrets, so its mode is 0600.
const cookiesFile = "cookies.txt"

// state is a --state directory opened for a crawl.
type state struct {
	frontier *disk.Disk
	seeds    []string // the stored seeds and the new ones
	// resuming says what a resumed crawl takes up again; finished, that
	// the crawl has nothing left to do (and no new seeds were given).
	resuming, finished string
}

// openState opens the --state directory dir for a crawl of seeds with
// cfg's settings. It takes the directory's lock first and only then merges
// the seeds into it (see mergeSeeds): a run refused because another crawl
// holds the directory changes nothing in it. The caller closes the
// frontier when the crawl ends.
func openState(dir string, seeds []string, cfg crawler.Config) (*state, error) {
	_, err := os.Stat(filepath.Join(dir, seedsFile))
	earlier := err == nil
	if !earlier && len(seeds) == 0 {
		// Refuse before creating a store that nothing would ever resume.
		return nil, fmt.Errorf("%w: no URL to crawl and no crawl to resume in %s", errUsage, dir)
	}
	var before frontier.Stats
	if earlier {
		// The counters as the last run left them: what it had in flight
		// is queued again by Open. Without them (no store yet, or one
		// that Open will refuse) there is nothing to tell.
		if before, err = disk.ReadStats(filepath.Join(dir, "frontier")); err != nil {
			earlier = false
		}
	}
	d, err := disk.Open(filepath.Join(dir, "frontier"), disk.Options{Options: cfg.FrontierOptions()})
	if err != nil {
		return nil, fmt.Errorf("%w: --state %s: %v", errUsage, dir, err)
	}
	all, added, err := mergeSeeds(dir, seeds)
	if err != nil {
		if cerr := d.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close frontier: %w", cerr))
		}
		return nil, err
	}
	st := &state{frontier: d, seeds: all}
	switch {
	case !earlier:
	case before.Queued == 0 && before.Leased == 0 && !added:
		st.finished = fmt.Sprintf("the crawl in %s is finished (done %s, failed %s): nothing to resume; give new URLs to crawl more, or remove %s to start again",
			dir, thousands(before.Done), thousands(before.Failed), dir)
	default:
		st.resuming = fmt.Sprintf("resuming: %s queued, %s were in flight (done %s, failed %s before)",
			thousands(before.Queued), thousands(before.Leased), thousands(before.Done), thousands(before.Failed))
	}
	return st, nil
}

// mergeSeeds returns the seeds stored in the state directory dir plus the
// new ones, stores the union, and reports whether it added any. The
// caller must hold the directory's lock (have its frontier open): the
// stored list is read and replaced without any other guard.
func mergeSeeds(dir string, seeds []string) (all []string, added bool, err error) {
	path := filepath.Join(dir, seedsFile)
	var stored []string
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &stored); err != nil {
			return nil, false, fmt.Errorf("%w: --state %s: %s is damaged: %v", errUsage, dir, seedsFile, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, false, fmt.Errorf("--state %s: %w", dir, err)
	}
	all = slices.Clone(stored)
	for _, s := range seeds {
		if !slices.Contains(all, s) {
			all = append(all, s)
		}
	}
	if len(all) == 0 {
		return nil, false, fmt.Errorf("%w: no URL to crawl and no crawl to resume in %s", errUsage, dir)
	}
	if len(all) != len(stored) {
		data, _ := json.Marshal(all) // strings always marshal
		if err := writeFileAtomic(path, data); err != nil {
			return nil, false, fmt.Errorf("--state %s: store seeds: %w", dir, err)
		}
	}
	return all, len(all) != len(stored), nil
}

// writeFileAtomic replaces path with data, never leaving it half written.
// Its temporary file has a fixed name: the caller must be path's only
// writer, as a crawl holding the state's lock is for seeds.json. The file
// is readable by its owner only: a seed may carry a password.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// openOutput opens an output file. A resumable crawl (appendTo) appends,
// after repair has cut away the torn end that a killed process may have
// left (cutTornLine for JSON lines, cutTornCSV for CSV, cutTornGzip for a
// WARC file), so that the file stays valid; otherwise the file is
// truncated.
func openOutput(path string, appendTo bool, repair func(*os.File) error) (*os.File, error) {
	if !appendTo {
		return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := repair(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("repair %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// cutTornLine truncates f after its last newline.
func cutTornLine(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				keep := start + int64(i) + 1
				if keep == size {
					return nil
				}
				return f.Truncate(keep)
			}
		}
		end = start
	}
	if size == 0 {
		return nil
	}
	return f.Truncate(0) // not one whole line
}

// cutTornCSV truncates f after its last whole CSV record (RFC 4180, as
// output.CSVItems writes it: every record ends in a newline), the header
// row included. A quoted cell may hold newlines, so a cut after the last
// newline byte, as for JSON lines, could leave half a row and a quote
// that never closes. Instead the records are read from the start of the
// file, and it is cut at the end of the last one before a torn one: one
// with a quoted cell the end of the file tore open, or one the end of the
// file cut before its newline. The number of cells is not checked: rows
// written on an earlier run under other rules are whole too. A file of
// whole records is left as it is; one without a whole record, such as a
// torn header, is emptied, so that the writer gives it a header again. A
// syntax error with lines after it is no tear: the file is left as it is
// and the error returned. This reads the whole file once (about
// 0.2 s per 100 MB). An error reading f is returned, never taken for a
// torn record.
func cutTornCSV(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	if size == 0 {
		return nil
	}
	// csv.Reader takes the end of its input for the end of a record: a
	// record that ends there is whole only if the file ends in a newline.
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil {
		return err
	}
	src := &countingReader{r: io.NewSectionReader(f, 0, size)}
	r := csv.NewReader(bufio.NewReaderSize(src, 64<<10))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	whole := int64(0) // offset just past the last record that read whole
	for records := 0; ; records++ {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			if records > 0 {
				whole = r.InputOffset() // past any empty lines after the last record
			}
			break
		}
		var perr *csv.ParseError
		if errors.As(err, &perr) && r.InputOffset() < size {
			// A tear is at the end: a quote it left open runs to the end
			// of the file. Rows follow this error, and cutting them
			// would lose them.
			return fmt.Errorf("damaged before its end, so not cut: %w", err)
		}
		if err != nil || (r.InputOffset() == size && last[0] != '\n') {
			break // a torn record, or a failed read, told below
		}
		whole = r.InputOffset()
	}
	if src.err != nil {
		return src.err
	}
	if whole == size {
		return nil
	}
	return f.Truncate(whole)
}

// cutTornGzip truncates f after its last whole gzip member. A WARC file is
// a series of members, one per record, and a killed process may leave the
// last one half written; a cut after a newline byte, as for JSON lines,
// would chop a whole member. The members are decoded from the start of the
// file, checksums included, and the file is cut at the end of the last one
// before the first that does not decode; a file of whole members is left
// as it is. This reads the whole file once: a second or two per 100 MB of
// archive. An error reading f is returned, never taken for a torn member.
func cutTornGzip(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	src := &countingReader{r: io.NewSectionReader(f, 0, size)}
	// A bufio.Reader is an io.ByteReader, so compress/flate reads no
	// further than the end of the member it decodes: the bytes consumed
	// are those read from src less those still buffered.
	br := bufio.NewReaderSize(src, 64<<10)
	var zr gzip.Reader
	whole := int64(0) // offset just past the last member that decoded
	for whole < size {
		if err := zr.Reset(br); err != nil {
			break
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, &zr); err != nil {
			break
		}
		whole = src.n - int64(br.Buffered())
	}
	if src.err != nil {
		return src.err
	}
	if whole == size {
		return nil
	}
	return f.Truncate(whole)
}

// countingReader counts the bytes read from r and remembers its first
// error other than io.EOF, so that a failing disk is told apart from a
// torn member.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	return n, err
}
