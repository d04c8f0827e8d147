package output

import (
	"fmt"
	"time"

	gowarc "github.com/nlnwa/gowarc/v3"

	"github.com/hivecrawl/crawl/crawler"
)

// writeConversion writes the DOM a browser rendered from the page
// (crawler.Page.Rendered, --render) as a conversion record that refers to
// the response record it was made from, respID: the response stays as
// received, the rendered DOM sits beside it. Nothing is written for a
// page that was not rendered. The caller holds mu.
func (wr *WARC) writeConversion(p *crawler.Page, target string, date time.Time, respID string) error {
	if p.Rendered == nil || len(p.Rendered.Body) == 0 {
		return nil
	}
	conv := gowarc.NewRecordBuilder(gowarc.Conversion, wr.settings...)
	conv.AddWarcHeader(gowarc.WarcTargetURI, target)
	conv.AddWarcHeaderTime(gowarc.WarcDate, date)
	conv.AddWarcHeader(gowarc.ContentType, "text/html; charset=utf-8")
	conv.AddWarcHeader(gowarc.WarcWarcinfoID, "<"+wr.infoID+">")
	conv.AddWarcHeader(gowarc.WarcRefersTo, "<"+respID+">")
	if _, err := conv.Write(p.Rendered.Body); err != nil {
		return fmt.Errorf("output: warc: %w", err)
	}
	rec, _, err := conv.Build()
	if err != nil {
		return fmt.Errorf("output: warc: %s: conversion record: %w", target, err)
	}
	defer rec.Close()
	return wr.write(rec)
}
