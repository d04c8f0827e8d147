package output

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/base32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"github.com/hivecrawl/crawl/crawler"
)

func sha1Digest(b []byte) string {
	sum := sha1.Sum(b)
	return "sha1:" + base32.StdEncoding.EncodeToString(sum[:])
}

// warcPages are the pages TestWARC archives: a page, a 404, a truncated
// body, and a URL without a response (not archived).
func warcPages() []*crawler.Page {
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return []*crawler.Page{
		{
			Result: &crawler.Result{URL: "https://a.test/", FinalURL: "https://a.test/home?x=1", Status: 200, FetchedAt: at},
			Header: http.Header{"Content-Type": {"text/html"}, "Set-Cookie": {"a=1", "b=2"}, "Transfer-Encoding": {"chunked"}},
			Body:   []byte("<html>hello\r\n\r\nworld</html>"),
		},
		{
			Result: &crawler.Result{URL: "https://a.test/gone", FinalURL: "https://a.test/gone", Status: 404, FetchedAt: at},
			Header: http.Header{"Content-Length": {"999"}},
			Body:   nil,
		},
		{
			Result: &crawler.Result{URL: "https://a.test/big", FinalURL: "https://a.test/big", Status: 200, Error: "too_large", FetchedAt: at},
			Header: http.Header{"Content-Type": {"application/octet-stream"}},
			Body:   bytes.Repeat([]byte{0, 1, 2}, 1000),
		},
		{Result: &crawler.Result{URL: "https://a.test/down", Error: "connect"}},
	}
}

func writeWARC(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWARC(&buf, WARCOptions{UserAgent: "test-agent/1", Filename: "t.warc.gz"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range warcPages() {
		if err := w.HandlePage(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	if w.Records() != 7 {
		t.Errorf("%d records, want 7 (warcinfo and three pairs)", w.Records())
	}
	return buf.Bytes()
}

// TestWARCIndependentReader reads the file without any WARC library: one
// gzip member per record, each a WARC/1.1 record whose Content-Length and
// digests hold.
func TestWARCIndependentReader(t *testing.T) {
	data := writeWARC(t)
	br := bufio.NewReader(bytes.NewReader(data))
	var types []string
	for {
		if _, err := br.Peek(1); err == io.EOF {
			break
		}
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		rec, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		head, rest, ok := bytes.Cut(rec, []byte("\r\n\r\n"))
		if !ok || !bytes.HasPrefix(head, []byte("WARC/1.1\r\n")) {
			t.Fatalf("member is not one WARC record: %q", rec[:min(len(rec), 80)])
		}
		fields := map[string]string{}
		for _, line := range strings.Split(string(head), "\r\n")[1:] {
			k, v, _ := strings.Cut(line, ":")
			fields[strings.ToLower(k)] = strings.TrimSpace(v)
		}
		n, err := strconv.Atoi(fields["content-length"])
		if err != nil || len(rest) != n+4 || !bytes.HasSuffix(rest, []byte("\r\n\r\n")) {
			t.Fatalf("%s record: content-length %q, %d bytes follow the header", fields["warc-type"], fields["content-length"], len(rest))
		}
		block := rest[:n]
		if got := sha1Digest(block); fields["warc-block-digest"] != got {
			t.Errorf("%s %s: block digest %s, computed %s", fields["warc-type"], fields["warc-target-uri"], fields["warc-block-digest"], got)
		}
		types = append(types, fields["warc-type"])
		if fields["warc-type"] != "response" {
			continue
		}
		_, payload, _ := bytes.Cut(block, []byte("\r\n\r\n"))
		if got := sha1Digest(payload); fields["warc-payload-digest"] != got {
			t.Errorf("%s: payload digest %s, computed %s", fields["warc-target-uri"], fields["warc-payload-digest"], got)
		}
		if fields["warc-target-uri"] == "https://a.test/big" && fields["warc-truncated"] != "length" {
			t.Error("a body cut at the cap is not marked WARC-Truncated")
		}
	}
	if got := strings.Join(types, ","); got != "warcinfo,request,response,request,response,request,response" {
		t.Errorf("records %s", got)
	}
}

// TestWARCGowarcReader reads the file back with gowarc, validating strictly.
func TestWARCGowarcReader(t *testing.T) {
	data := writeWARC(t)
	r, err := gowarc.NewWarcFileReaderFromStream(bytes.NewReader(data), 0, gowarc.WithStrictValidation())
	if err != nil {
		t.Fatal(err)
	}
	pages := warcPages()
	i := 0
	for rec, err := range r.Records() {
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Validation) > 0 {
			t.Errorf("record at %d: %v", rec.Offset, rec.Validation)
		}
		wr := rec.WarcRecord
		if wr.Type() != gowarc.Response {
			rec.Close()
			continue
		}
		p := pages[i]
		i++
		block := wr.Block().(gowarc.HttpResponseBlock)
		if block.HttpStatusCode() != p.Result.Status || wr.WarcHeader().Get(gowarc.WarcTargetURI) != p.Result.FinalURL {
			t.Errorf("record %d: status %d, target %s", i, block.HttpStatusCode(), wr.WarcHeader().Get(gowarc.WarcTargetURI))
		}
		h := block.HttpHeader()
		if h.Get("Content-Length") != strconv.Itoa(len(p.Body)) || h.Get("Transfer-Encoding") != "" {
			t.Errorf("%s: framing headers %v", p.Result.FinalURL, h)
		}
		pr, _ := block.PayloadBytes()
		payload, _ := io.ReadAll(pr)
		if !bytes.Equal(payload, p.Body) {
			t.Errorf("%s: payload %q, want %q", p.Result.FinalURL, payload, p.Body)
		}
		if d, _ := wr.Date(); !d.Equal(p.Result.FetchedAt) {
			t.Errorf("%s: WARC-Date %s", p.Result.FinalURL, d)
		}
		rec.Close()
	}
	if i != 3 {
		t.Errorf("%d responses read, want 3", i)
	}
}

func TestWARCConcurrentPages(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWARC(&buf, WARCOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := warcPages()[0]
	done := make(chan error)
	for range 8 {
		go func() {
			var err error
			for range 20 {
				if err = w.HandlePage(context.Background(), p); err != nil {
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	r, err := gowarc.NewWarcFileReaderFromStream(bytes.NewReader(buf.Bytes()), 0, gowarc.WithStrictValidation())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rec, err := range r.Records() {
		if err != nil || len(rec.Validation) > 0 {
			t.Fatalf("record %d: %v %v", n, err, rec.Validation)
		}
		rec.Close()
		n++
	}
	if n != 1+8*20*2 {
		t.Errorf("%d records, want %d", n, 1+8*20*2)
	}
}
