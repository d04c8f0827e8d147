package output

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nlnwa/gowarc/v3"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
)

// TestWARCConversion archives a rendered page: the response as received,
// then a conversion record of the rendered DOM that refers to it; a page
// that was not rendered gets none.
func TestWARCConversion(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	shell := []byte(`<div id="root"></div><script src="/app.js"></script>`)
	dom := []byte(`<html><body><div id="root"><a href="/x">x</a></div></body></html>`)
	var buf bytes.Buffer
	w, err := NewWARC(&buf, WARCOptions{UserAgent: "test-agent/1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*crawler.Page{
		{
			Result:   &crawler.Result{URL: "https://a.test/app/", Status: 200, FetchedAt: at, Rendered: true},
			Header:   http.Header{"Content-Type": {"text/html"}},
			Body:     shell,
			Rendered: &fetch.Rendered{Body: dom, FinalURL: "https://a.test/app/"},
		},
		{
			Result: &crawler.Result{URL: "https://a.test/plain", Status: 200, FetchedAt: at},
			Header: http.Header{"Content-Type": {"text/html"}},
			Body:   []byte("<p>plain</p>"),
		},
	} {
		if err := w.HandlePage(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	r, err := gowarc.NewWarcFileReaderFromStream(bytes.NewReader(buf.Bytes()), 0, gowarc.WithStrictValidation())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{} // response record id → target
	var conversions int
	for rec, err := range r.Records() {
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Validation) > 0 {
			t.Errorf("record at %d: %v", rec.Offset, rec.Validation)
		}
		wr := rec.WarcRecord
		switch wr.Type() {
		case gowarc.Response:
			ids["<"+wr.RecordId()+">"] = wr.WarcHeader().Get(gowarc.WarcTargetURI)
		case gowarc.Conversion:
			conversions++
			ref := wr.WarcHeader().Get(gowarc.WarcRefersTo)
			if ids[ref] != "https://a.test/app/" {
				t.Errorf("conversion refers to %q (%q), want the app's response", ref, ids[ref])
			}
			rd, _ := wr.Block().RawBytes()
			got, _ := io.ReadAll(rd)
			if !bytes.Equal(got, dom) {
				t.Errorf("conversion block %q, want the rendered DOM", got)
			}
		}
		rec.Close()
	}
	if conversions != 1 || w.Records() != 6 {
		t.Errorf("%d conversions, %d records; want 1 and 6 (warcinfo, two pairs, one conversion)", conversions, w.Records())
	}
}
