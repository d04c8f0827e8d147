package main

import (
	"context"
	"fmt"
	"io"

	"github.com/hivecrawl/crawl/output"
)

// convertLinks rewrites the links of the --save tree when --convert-links
// asks for it, after a crawl: the whole one, or what a stopped crawl saved
// (a resumed one converts again, bringing earlier files up to date). It
// runs to the end even when ctx was cancelled by the first Ctrl-C; the
// second quits at once, and a later run converts again. resolver is the
// crawl's URL canonicalizer, so that links match the saved URLs.
func (o *pipelineOptions) convertLinks(ctx context.Context, resolver output.Resolver, w io.Writer) error {
	if !o.Convert || o.Save == "" {
		return nil
	}
	done, err := output.ConvertLinks(context.WithoutCancel(ctx), o.Save, output.ConvertOptions{Resolver: resolver})
	if err != nil {
		return fmt.Errorf("--convert-links: %w", err)
	}
	fmt.Fprintf(w, "crawl: links converted in %d files (%d to saved files, %d to absolute URLs)\n", done.Files, done.Local, done.Absolute)
	return nil
}
