package sitemap

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
)

// Defaults applied to zero fields of Limits. MaxBytes and MaxURLs are the
// protocol's own limits.
const (
	DefaultMaxBytes = 50 << 20 // 52,428,800 bytes
	DefaultMaxURLs  = 50_000
	DefaultMaxDepth = 2
	DefaultMaxFiles = 1_000
)

// Limits caps what is read from sitemaps. The zero value takes every
// default.
type Limits struct {
	// MaxBytes caps the bytes read from one document, counted after gzip
	// decompression. Zero means DefaultMaxBytes (50 MiB).
	MaxBytes int64
	// MaxURLs caps the entries (<loc>s or lines) read from one document.
	// Zero means DefaultMaxURLs (50,000).
	MaxURLs int
	// MaxDepth caps how deep sitemap indexes nest: the sitemaps a walk
	// starts from are at depth 0, those an index at depth d lists are at
	// d+1, and deeper ones are not fetched. Zero means DefaultMaxDepth (2:
	// an index of indexes of sitemaps).
	MaxDepth int
	// MaxFiles caps the documents one walk fetches. Zero means
	// DefaultMaxFiles (1,000).
	MaxFiles int
}

// Validate reports a negative limit.
func (l Limits) Validate() error {
	if l.MaxBytes < 0 || l.MaxURLs < 0 || l.MaxDepth < 0 || l.MaxFiles < 0 {
		return errors.New("sitemap: negative limit")
	}
	return nil
}

// WithDefaults returns l with its zero fields replaced by the defaults.
func (l Limits) WithDefaults() Limits { return l.withDefaults() }

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxURLs <= 0 {
		l.MaxURLs = DefaultMaxURLs
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = DefaultMaxFiles
	}
	return l
}

// Errors wrapped by what Parse yields when a limit is reached.
var (
	ErrTooLarge = errors.New("sitemap: document larger than MaxBytes")
	ErrTooMany  = errors.New("sitemap: more entries than MaxURLs")
)

// Entry is one <url> of a urlset, one <sitemap> of a sitemap index, or one
// line of a text sitemap.
type Entry struct {
	// Loc is the URL as written, white space trimmed.
	Loc string
	// LastMod is the <lastmod> as written; empty when absent.
	LastMod string
	// Index reports that Loc names a sitemap (an entry of a sitemap
	// index), not a page.
	Index bool
	// Sitemap is the URL of the document the entry was read from; set by
	// Walk, empty from Parse.
	Sitemap string
}

// Parse reads one sitemap document from r: a <urlset>, a <sitemapindex>
// or a plain text list of URLs, one per line. Input that starts with the
// gzip magic number is decompressed. Entries are yielded in document order
// as they are read; entries without a <loc> are skipped. On malformed
// input, or when a limit is reached, Parse yields one error and stops; the
// entries yielded before it stand.
func Parse(r io.Reader, lim Limits) iter.Seq2[Entry, error] {
	lim = lim.withDefaults()
	return func(yield func(Entry, error) bool) {
		br := bufio.NewReader(r)
		if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			zr, err := gzip.NewReader(br)
			if err != nil {
				yield(Entry{}, fmt.Errorf("sitemap: gzip: %w", err))
				return
			}
			defer zr.Close()
			br = bufio.NewReader(zr)
		}
		lr := &limitReader{r: br, left: lim.MaxBytes}
		in := bufio.NewReader(lr)
		text, err := isText(in)
		if err != nil {
			yield(Entry{}, lr.wrap(err))
			return
		}
		n := 0
		emit := func(e Entry) bool {
			if n++; n > lim.MaxURLs {
				yield(Entry{}, fmt.Errorf("%w (%d)", ErrTooMany, lim.MaxURLs))
				return false
			}
			return yield(e, nil)
		}
		if text {
			parseText(in, lr, emit, yield)
			return
		}
		parseXML(in, lr, emit, yield)
	}
}

// isText reports whether the document is a text sitemap: its first
// non-space byte (after a UTF-8 byte order mark) is not '<'.
func isText(in *bufio.Reader) (bool, error) {
	for {
		b, err := in.ReadByte()
		if err == io.EOF {
			return true, nil // empty: no entries either way
		}
		if err != nil {
			return false, err
		}
		switch b {
		case ' ', '\t', '\r', '\n', 0xef, 0xbb, 0xbf:
			continue
		}
		return b != '<', in.UnreadByte()
	}
}

func parseText(in *bufio.Reader, lr *limitReader, emit func(Entry) bool, yield func(Entry, error) bool) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "http://") && !strings.HasPrefix(line, "https://") {
			continue
		}
		if !emit(Entry{Loc: line}) {
			return
		}
	}
	if err := sc.Err(); err != nil {
		yield(Entry{}, lr.wrap(fmt.Errorf("sitemap: text: %w", err)))
	}
}

func parseXML(in io.Reader, lr *limitReader, emit func(Entry) bool, yield func(Entry, error) bool) {
	dec := xml.NewDecoder(in)
	dec.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(charset, "utf-8") || strings.EqualFold(charset, "us-ascii") {
			return r, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", charset)
	}
	var (
		root       string // "urlset" or "sitemapindex", once seen
		depth      int    // of the current element; the root is 1
		entryDepth int    // depth of the open <url> or <sitemap>; 0 outside
		field      string // "loc" or "lastmod" while inside one
		text       bytes.Buffer
		cur        Entry
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if root == "" {
				yield(Entry{}, errors.New("sitemap: no <urlset> or <sitemapindex>"))
			}
			return
		}
		if err != nil {
			yield(Entry{}, lr.wrap(fmt.Errorf("sitemap: xml: %w", err)))
			return
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			name := t.Name.Local
			switch {
			case depth == 1:
				if name != "urlset" && name != "sitemapindex" {
					yield(Entry{}, fmt.Errorf("sitemap: root element <%s>: want <urlset> or <sitemapindex>", name))
					return
				}
				root = name
			case depth == 2 && (name == "url" && root == "urlset" || name == "sitemap" && root == "sitemapindex"):
				entryDepth, cur = depth, Entry{Index: root == "sitemapindex"}
			case entryDepth > 0 && depth == entryDepth+1 && (name == "loc" || name == "lastmod"):
				// Only direct children count: <image:loc> inside
				// <image:image> is not the page's <loc>.
				field = name
				text.Reset()
			}
		case xml.CharData:
			if field != "" {
				text.Write(t)
			}
		case xml.EndElement:
			switch {
			case field != "" && depth == entryDepth+1:
				v := strings.TrimSpace(text.String())
				if field == "loc" {
					cur.Loc = v
				} else {
					cur.LastMod = v
				}
				field = ""
			case entryDepth > 0 && depth == entryDepth:
				entryDepth = 0
				if cur.Loc != "" && !emit(cur) {
					return
				}
			}
			depth--
		}
	}
}

// limitReader reads at most left bytes and remembers whether the source
// had more.
type limitReader struct {
	r    io.Reader
	left int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a document of exactly the cap from a longer one.
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			l.over = true
			return 0, ErrTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// wrap returns ErrTooLarge instead of err when the cap cut the document
// (the parser then sees a truncated document and reports that instead).
func (l *limitReader) wrap(err error) error {
	if l.over || errors.Is(err, ErrTooLarge) {
		return ErrTooLarge
	}
	return err
}
