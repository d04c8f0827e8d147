package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// indexEntry is one line of the Tree's index (IndexName). Lines are only
// appended, each written through to the kernel before the handler that
// saved the file returns, so a crash loses at most the line of a file whose
// URL's completion was not yet committed: a resumed crawl fetches that URL
// again and writes both anew. A torn last line is cut away when the index
// is opened again. Three kinds of lines:
//
//   - a save: URL (and Final, when the body came from a redirect's last
//     hop) is held in File, with the body's Type ("html", "css" or "");
//   - a move: the file Move moved to File (a file that had to become a
//     directory: "a" is now "a/index.html");
//   - a conversion: File's links were converted by ConvertLinks, giving a
//     file whose SHA-256 is Converted. The line is written before the
//     converted file replaces the saved one, and a file whose content does
//     not have that sum is taken as not converted.
//
// Later lines override earlier ones. File, Move and the names are slash
// separated and relative to the save directory.
type indexEntry struct {
	URL       string `json:"url,omitempty"`
	Final     string `json:"final,omitempty"`
	File      string `json:"file"`
	Type      string `json:"type,omitempty"`
	Move      string `json:"move,omitempty"`
	Converted string `json:"converted,omitempty"`
}

// openIndex opens the index in root for appending, creating it if needed,
// and cuts a torn last line.
func openIndex(root *os.Root) (*os.File, error) {
	f, err := root.OpenFile(IndexName, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if err := cutTornIndexLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", IndexName, err)
	}
	return f, nil
}

// cutTornIndexLine truncates f after its last newline, reading backwards
// from its end a block at a time.
func cutTornIndexLine(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	end := fi.Size()
	buf := make([]byte, 4096)
	for pos := end; pos > 0; {
		n := int64(len(buf))
		if pos < n {
			n = pos
		}
		pos -= n
		if _, err := f.ReadAt(buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			if cut := pos + int64(i) + 1; cut < end {
				return f.Truncate(cut)
			}
			return nil
		}
	}
	if end > 0 {
		return f.Truncate(0)
	}
	return nil
}

// writeIndex appends one line to the index, in one write.
func (t *Tree) writeIndex(e indexEntry) error {
	return appendIndex(t.index, e)
}

// appendIndex appends e to the index file f as one line, in one write.
func appendIndex(f *os.File, e indexEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	return err
}

// treeIndex is the index as read back: where each URL's body is, and what
// each file holds.
type treeIndex struct {
	files map[string]*indexedFile // by current file name
	urls  map[string]string       // URL or final URL → current file name
	// names maps every name a file has had to the URL saved in it, for
	// links written into files converted under earlier names.
	names map[string]string
}

// indexedFile is what the index says about one file.
type indexedFile struct {
	url, final string
	kind       string
	converted  string // SHA-256 of the file once converted; "" if never
	// convertedAs is the file's name when it was converted: its links
	// are relative to that place, even after a move.
	convertedAs string
}

// readIndex reads the index in root; a missing index is an empty one.
// Lines that do not parse (a torn last line) are skipped.
func readIndex(root *os.Root) (*treeIndex, error) {
	ix := &treeIndex{files: map[string]*indexedFile{}, urls: map[string]string{}, names: map[string]string{}}
	b, err := root.ReadFile(IndexName)
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, err
	}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		var e indexEntry
		if json.Unmarshal(line, &e) != nil || e.File == "" {
			continue
		}
		ix.apply(e)
	}
	return ix, nil
}

// apply applies one index line.
func (ix *treeIndex) apply(e indexEntry) {
	switch {
	case e.Move != "":
		f := ix.files[e.Move]
		if f == nil {
			return
		}
		delete(ix.files, e.Move)
		ix.files[e.File] = f
		ix.names[e.File] = f.url
		for _, u := range []string{f.url, f.final} {
			if u != "" && ix.urls[u] == e.Move {
				ix.urls[u] = e.File
			}
		}
	case e.Converted != "":
		if f := ix.files[e.File]; f != nil {
			f.converted, f.convertedAs = e.Converted, e.File
		}
	case e.URL != "":
		f := &indexedFile{url: e.URL, final: e.Final, kind: e.Type}
		ix.files[e.File] = f
		ix.names[e.File] = e.URL
		ix.urls[e.URL] = e.File
		if e.Final != "" {
			ix.urls[e.Final] = e.File
		}
	}
}
