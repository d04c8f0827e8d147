package testsite

import "net/http"

// Docs is a small documentation site, served from memory, for testing
// offline mirrors (crawl --save --convert-links): pages in nested folders
// linked root-relatively ("/tutorial/intro.html"), relatively ("os.html",
// "../", "./"), with fragments and queries ("sys.html?highlight=path"), one
// through a <base href>; a page at "/howto" next to a folder "/howto/"; a
// style sheet behind a "?v=" query that imports another and references
// images, itself an image's relative folder; an image with srcset, a
// favicon, an object, a poster, a style attribute and a <style> element
// with an @import; a link to DocsPrivate (to exclude from the crawl), to an
// off-site page, and mailto: and fragment links. Every other path is a 404.
// The zero value is ready to serve and safe for concurrent use.
type Docs struct{}

// DocsPrivate is the folder of the Docs page that a test excludes from the
// crawl, to check that links to it become absolute URLs.
const DocsPrivate = "/private/"

// docsFile is one file of the Docs site.
type docsFile struct {
	contentType, body string
}

const (
	docsHTML = "text/html; charset=utf-8"
	docsCSS  = "text/css; charset=utf-8"
)

// docsHead is the head every page shares: the style sheet behind a query
// and the favicon, root-relative.
const docsHead = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<link rel="stylesheet" href="/_static/docs.css?v=2022.1" type="text/css">
<link rel="icon" href="/_static/favicon.ico">
`

// docsFiles returns the site's files by path (queries are ignored): a new
// map each time, so that nothing is shared between callers.
func docsFiles() map[string]docsFile {
	return map[string]docsFile{
		"/": {docsHTML, docsHead + `<title>Docs</title></head>
<body id="top"><a href="#top">top</a>
<img src="/_static/logo.png" srcset="/_static/logo.png 1x, /_static/logo@2x.png 2x" alt="logo">
<ul>
<li><a href="library/">Library</a>
<li><a href="/tutorial/intro.html">Tutorial</a>
<li><a href='howto/sockets.html#sockets'>Sockets</a>
<li><a href=/howto>How-to guides</a>
<li><a href="/private/secret.html">Private</a>
<li><a href="https://off-site.example/">Elsewhere</a>
<li><a href="mailto:docs@example.com">Mail</a>
</ul></body></html>
`},
		"/library/": {docsHTML, docsHead + `<title>Library</title></head>
<body><a href="../">Home</a> <a href="os.html">os</a> <a href="/library/sys.html?highlight=path">sys</a>
<a href="../tutorial/intro.html#start">Tutorial</a>
<img src="../_static/logo.png" alt=""></body></html>
`},
		"/library/os.html": {docsHTML, docsHead + `<title>os</title>
<style>@import url(/_static/print.css); .note { background: url("../_static/note.png") }</style></head>
<body><div class="note" style="background-image: url('../_static/note.png')">Note</div>
<a href="./">Library</a> <a href="sys.html?highlight=path#sys.path">sys.path</a>
<a href="../private/secret.html">Private</a></body></html>
`},
		"/library/sys.html": {docsHTML, docsHead + `<title>sys</title></head>
<body><a href="os.html">os</a> <a href="/">Home</a></body></html>
`},
		"/tutorial/intro.html": {docsHTML, docsHead + `<title>Intro</title><base href="/library/"></head>
<body id="start"><a href="os.html">os, through the base</a> <a href="../tutorial/more.html">More</a>
<object data="/_static/diagram.svg" type="image/svg+xml"></object>
<video poster="/_static/poster.png"></video></body></html>
`},
		"/tutorial/more.html": {docsHTML, docsHead + `<title>More</title></head>
<body><a href="intro.html">Intro</a> <a href="/howto/">How-to</a></body></html>
`},
		"/howto": {docsHTML, docsHead + `<title>How-to guides</title></head>
<body><a href="howto/sockets.html">Sockets</a></body></html>
`},
		"/howto/": {docsHTML, docsHead + `<title>How-to index</title></head>
<body><a href="sockets.html">Sockets</a> <a href="/howto">Guides</a></body></html>
`},
		"/howto/sockets.html": {docsHTML, docsHead + `<title>Sockets</title></head>
<body id="sockets"><a href="../library/os.html">os</a> <a href="/howto">Guides</a></body></html>
`},
		"/private/secret.html": {docsHTML, docsHead + `<title>Private</title></head><body>secret</body></html>
`},
		"/_static/docs.css":     {docsCSS, "@import \"base.css\";\nbody { background: url(bg.png) }\n.logo { background: url(\"/_static/logo.png\") }\n"},
		"/_static/base.css":     {docsCSS, "h1 { background: url(icons/h1.png) no-repeat }\n"},
		"/_static/print.css":    {docsCSS, "@media print { a { color: black } }\n"},
		"/_static/favicon.ico":  {"image/x-icon", "ICO"},
		"/_static/logo.png":     {"image/png", "PNG logo"},
		"/_static/logo@2x.png":  {"image/png", "PNG logo 2x"},
		"/_static/bg.png":       {"image/png", "PNG bg"},
		"/_static/note.png":     {"image/png", "PNG note"},
		"/_static/poster.png":   {"image/png", "PNG poster"},
		"/_static/icons/h1.png": {"image/png", "PNG h1"},
		"/_static/diagram.svg":  {"image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg"/>`},
	}
}

// DocsPaths returns the paths of the Docs site's files, pages and assets.
func DocsPaths() []string {
	paths := make([]string, 0, len(docsFiles()))
	for p := range docsFiles() {
		paths = append(paths, p)
	}
	return paths
}

// ServeHTTP serves the file at the request's path, whatever its query, or
// a 404.
func (Docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := docsFiles()[r.URL.Path]
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(f.body))
}
