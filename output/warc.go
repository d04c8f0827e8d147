package output

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
)

// WARCOptions configures a WARC writer. The zero value is usable.
type WARCOptions struct {
	// Software names the program in the warcinfo record. Empty means
	// "crawl/" + crawler.Version.
	Software string
	// UserAgent is the User-Agent written in request records: the one the
	// crawl sends. Empty means crawler.DefaultUserAgent.
	UserAgent string
	// Filename is the warcinfo record's WARC-Filename; empty leaves it out.
	Filename string
}

// WARC writes each fetched response as a WARC/1.1 response record, preceded
// by the request record it answers (ISO 28500), each record its own gzip
// member, so that standard tools (warcio, pywb, the gowarc reader) read the
// file as a .warc.gz and can seek to any record. NewWARC starts the file
// with a warcinfo record.
//
// Records carry SHA-1 block and payload digests (base32, as Heritrix and
// wget write them). What is archived is what the crawler kept of the
// exchange: the final hop of a redirect chain, its header as received but
// with the body decompressed (Content-Encoding and Transfer-Encoding do
// not apply any more, and Content-Length states the body's length), and a
// request record rebuilt from the URL and the User-Agent. A body cut at
// the crawl's size cap is marked WARC-Truncated: length. URLs that got no
// response are not archived.
//
// WARC is safe for concurrent use; records are built and written one at a
// time, each with one Write on the underlying writer, so a crash leaves
// whole records only (and at most a torn last one). Two WARC writers in one
// process must not run at once: gowarc builds records with unsynchronized
// package state.
type WARC struct {
	opts     WARCOptions
	infoID   string
	mu       sync.Mutex
	w        io.Writer
	buf      bytes.Buffer
	zw       *gzip.Writer
	marshal  gowarc.Marshaler
	records  int64
	settings []gowarc.WarcRecordOption
}

// NewWARC returns a WARC writing to w, after writing the warcinfo record.
// The caller owns w.
func NewWARC(w io.Writer, opts WARCOptions) (*WARC, error) {
	if opts.Software == "" {
		opts.Software = "crawl/" + crawler.Version
	}
	if opts.UserAgent == "" {
		opts.UserAgent = crawler.DefaultUserAgent
	}
	wr := &WARC{
		opts:    opts,
		w:       w,
		marshal: gowarc.NewMarshaler(),
		settings: []gowarc.WarcRecordOption{
			gowarc.WithDefaultDigestAlgorithm("sha1"),
			gowarc.WithAddMissingDigest(true),
			gowarc.WithAddMissingContentLength(true),
			// Bodies are in memory already: never spill to temporary files.
			gowarc.WithBufferMaxMemBytes(1 << 62),
		},
	}
	wr.zw = gzip.NewWriter(&wr.buf)

	var info strings.Builder
	info.WriteString("software: " + opts.Software + "\r\n")
	info.WriteString("format: WARC File Format 1.1\r\n")
	info.WriteString("conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n")
	info.WriteString("http-header-user-agent: " + opts.UserAgent + "\r\n")
	b := gowarc.NewRecordBuilder(gowarc.Warcinfo, wr.settings...)
	b.AddWarcHeaderTime(gowarc.WarcDate, time.Now())
	b.AddWarcHeader(gowarc.ContentType, gowarc.ApplicationWarcFields)
	if opts.Filename != "" {
		b.AddWarcHeader(gowarc.WarcFilename, opts.Filename)
	}
	if _, err := b.WriteString(info.String()); err != nil {
		return nil, fmt.Errorf("output: warc: %w", err)
	}
	rec, _, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("output: warc: warcinfo: %w", err)
	}
	wr.infoID = rec.RecordId()
	if err := wr.write(rec); err != nil {
		return nil, err
	}
	return wr, nil
}

// HandlePage implements crawler.Handler: it archives the page's response,
// if it got one.
func (wr *WARC) HandlePage(_ context.Context, p *crawler.Page) error {
	if p.Header == nil || p.Result == nil || p.Result.Status == 0 {
		return nil
	}
	res := p.Result
	target := res.FinalURL
	if target == "" {
		target = res.URL
	}
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("output: warc: %s: %w", target, err)
	}
	date := res.FetchedAt
	if date.IsZero() {
		date = time.Now()
	}

	// gowarc v3.1.0 writes a package variable of github.com/google/uuid
	// (EnableRandPool) in every NewRecordBuilder, which races with uuid
	// calls of other record builders: build records one at a time.
	wr.mu.Lock()
	defer wr.mu.Unlock()

	resp := gowarc.NewRecordBuilder(gowarc.Response, wr.settings...)
	resp.AddWarcHeader(gowarc.WarcTargetURI, target)
	resp.AddWarcHeaderTime(gowarc.WarcDate, date)
	resp.AddWarcHeader(gowarc.ContentType, "application/http;msgtype=response")
	resp.AddWarcHeader(gowarc.WarcWarcinfoID, "<"+wr.infoID+">")
	if res.Error == fetch.ClassTooLarge {
		resp.AddWarcHeader(gowarc.WarcTruncated, "length")
	}
	if _, err := resp.Write(responseBlock(res.Status, p.Header, p.Body)); err != nil {
		return fmt.Errorf("output: warc: %w", err)
	}
	respRec, _, err := resp.Build()
	if err != nil {
		return fmt.Errorf("output: warc: %s: response record: %w", target, err)
	}
	defer respRec.Close()

	req := gowarc.NewRecordBuilder(gowarc.Request, wr.settings...)
	req.AddWarcHeader(gowarc.WarcTargetURI, target)
	req.AddWarcHeaderTime(gowarc.WarcDate, date)
	req.AddWarcHeader(gowarc.ContentType, "application/http;msgtype=request")
	req.AddWarcHeader(gowarc.WarcWarcinfoID, "<"+wr.infoID+">")
	req.AddWarcHeader(gowarc.WarcConcurrentTo, "<"+respRec.RecordId()+">")
	if _, err := req.Write(requestBlock(u, wr.opts.UserAgent)); err != nil {
		return fmt.Errorf("output: warc: %w", err)
	}
	reqRec, _, err := req.Build()
	if err != nil {
		return fmt.Errorf("output: warc: %s: request record: %w", target, err)
	}
	defer reqRec.Close()

	if err := wr.write(reqRec); err != nil {
		return err
	}
	if err := wr.write(respRec); err != nil {
		return err
	}
	return wr.writeConversion(p, target, date, respRec.RecordId())
}

// BorrowsPages implements crawler.Borrower: the records are written
// before HandlePage returns, and nothing of the Page is kept.
func (wr *WARC) BorrowsPages() bool { return true }

// Records returns the number of records written, warcinfo included.
func (wr *WARC) Records() int64 {
	wr.mu.Lock()
	defer wr.mu.Unlock()
	return wr.records
}

// write appends one record as its own gzip member, in one Write. The
// caller holds mu (or is NewWARC).
func (wr *WARC) write(rec gowarc.WarcRecord) error {
	wr.buf.Reset()
	wr.zw.Reset(&wr.buf)
	if _, _, err := wr.marshal.Marshal(wr.zw, rec, 0); err != nil {
		return fmt.Errorf("output: warc: marshal: %w", err)
	}
	if err := wr.zw.Close(); err != nil {
		return fmt.Errorf("output: warc: gzip: %w", err)
	}
	if _, err := wr.w.Write(wr.buf.Bytes()); err != nil {
		return fmt.Errorf("output: warc: write: %w", err)
	}
	wr.records++
	return nil
}

// requestBlock rebuilds the GET request the fetcher sent for u.
func requestBlock(u *url.URL, userAgent string) []byte {
	var b bytes.Buffer
	b.WriteString("GET " + u.RequestURI() + " HTTP/1.1\r\n")
	b.WriteString("Host: " + u.Host + "\r\n")
	b.WriteString("User-Agent: " + userAgent + "\r\n")
	b.WriteString("Accept: text/html,application/xhtml+xml;q=0.9,*/*;q=0.8\r\n")
	b.WriteString("Accept-Encoding: gzip\r\n\r\n")
	return b.Bytes()
}

// responseBlock serializes a response as HTTP/1.1 with the body as kept:
// header fields in sorted order, the framing fields replaced by the body's
// Content-Length.
func responseBlock(status int, h http.Header, body []byte) []byte {
	var b bytes.Buffer
	text := http.StatusText(status)
	if text == "" {
		text = "status code " + strconv.Itoa(status)
	}
	b.WriteString("HTTP/1.1 " + strconv.Itoa(status) + " " + text + "\r\n")
	keys := make([]string, 0, len(h))
	for k := range h {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Transfer-Encoding", "Content-Encoding":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			// A header value cannot hold a line break; net/http has
			// refused those already, this keeps the record parseable.
			v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n")
	b.Write(body)
	return b.Bytes()
}

var _ crawler.Handler = (*WARC)(nil)
