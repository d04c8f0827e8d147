// Package output writes what a crawl fetched and extracted, as
// crawler.Handlers: the records as JSON lines (JSONLines), items as JSON
// lines (JSONItems) and CSV (CSVItems), responses as a WARC file (WARC,
// ISO 28500, one gzip member per record) and bodies as a file tree like
// wget -x (Tree), whose links ConvertLinks rewrites so that it browses
// offline, like wget -k.
//
// Every writer here is safe for concurrent use by the crawler's workers,
// writes whole lines or records only, and leaves the file it was given to
// its caller: flush or close the writer, then close the file.
//
// Package output imports crawler, fetch (the failure class of a response
// cut at the body cap, for WARC) and parse of this module, and no other;
// none of them imports it. It has no package-level mutable state.
package output
