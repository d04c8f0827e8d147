// Package mirrortest checks that a tree saved by crawl --save
// --convert-links browses offline: it reads every saved HTML and CSS file,
// resolves each link and reference the way a browser resolves a relative
// reference against the file's file: URL, and reports those that name no
// saved file. It is for tests, this module's and its users'.
//
// Package mirrortest imports parse (for srcset and CSS) and no other
// package of this module.
package mirrortest

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/net/html"

	"github.com/hivecrawl/crawl/parse"
)

// Link is one reference found in a saved file.
type Link struct {
	// File is the file it is in, slash-separated, relative to the tree.
	File string
	// Ref is the reference as written.
	Ref string
	// Resolved is Ref resolved against the file's file: URL (and its
	// <base href>): a file: or http(s) URL.
	Resolved string
	// Embedded reports a reference the page needs to render (a style
	// sheet, image, script, frame or object), not one to follow.
	Embedded bool
}

// Report sorts the references of a tree's HTML and CSS files.
type Report struct {
	// Local are references to a saved file.
	Local []Link
	// Remote are absolute http(s) URLs.
	Remote []Link
	// Broken are references that a browser would resolve to a file that
	// is not there (or not a file), to a place outside the tree, or with
	// a query (which a browser drops for file: URLs).
	Broken []Link
}

// Problems describes what keeps the tree from browsing offline, one line
// each: a broken reference, or a remote resource a page embeds (it would
// not render without the network). None means the tree browses offline.
func (r Report) Problems() []string {
	var p []string
	for _, l := range r.Broken {
		p = append(p, fmt.Sprintf("broken: %s: %q resolves to %s", l.File, l.Ref, l.Resolved))
	}
	for _, l := range r.Remote {
		if l.Embedded {
			p = append(p, fmt.Sprintf("%s: %q embeds a remote resource", l.File, l.Ref))
		}
	}
	return p
}

// RemoteURLs returns the distinct remote URLs the tree links to, sorted,
// with base (the crawled site's scheme://host:port) written as "BASE".
func (r Report) RemoteURLs(base string) []string {
	var urls []string
	for _, l := range r.Remote {
		urls = append(urls, strings.ReplaceAll(l.Resolved, base, "BASE"))
	}
	slices.Sort(urls)
	return slices.Compact(urls)
}

// Check reads every file under dir whose name ends in .html, .htm or .css
// (a browser opening files from disk decides their type by their name, so
// a mirror saved without --adjust-extension is not checked for pages whose
// names do not say so) and sorts its references. Empty and fragment-only
// references and other schemes (mailto:, javascript:, data:) are skipped.
func Check(dir string) (Report, error) {
	var rep Report
	abs, err := filepath.Abs(dir)
	if err != nil {
		return rep, err
	}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		lower := strings.ToLower(p)
		isHTML := strings.HasSuffix(lower, ".html") || strings.HasSuffix(lower, ".htm")
		if !isHTML && !strings.HasSuffix(lower, ".css") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, p)
		fileURL := &url.URL{Scheme: "file", Path: filepath.ToSlash(p)}
		c := checker{rep: &rep, root: filepath.ToSlash(abs), file: filepath.ToSlash(rel), base: fileURL}
		if isHTML {
			return c.html(b)
		}
		c.css(string(b))
		return nil
	})
	return rep, err
}

// checker sorts the references of one file.
type checker struct {
	rep  *Report
	root string // the tree, an absolute slash path
	file string
	base *url.URL
}

func (c *checker) html(b []byte) error {
	doc, err := html.Parse(strings.NewReader(string(b)))
	if err != nil {
		return fmt.Errorf("mirrortest: %s: %w", c.file, err)
	}
	var nodes []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode {
			nodes = append(nodes, n)
		}
	}
	for _, n := range nodes { // the first <base href> applies to every link
		if n.Data == "base" {
			if href, ok := attr(n, "href"); ok {
				if b, err := c.base.Parse(strings.TrimSpace(href)); err == nil {
					c.base = b
				}
				break
			}
		}
	}
	for _, n := range nodes {
		switch n.Data {
		case "a", "area":
			c.ref(n, "href", false)
		case "link":
			rel, _ := attr(n, "rel")
			c.ref(n, "href", strings.Contains(rel, "stylesheet") || strings.Contains(rel, "icon"))
		case "img", "script", "source", "video", "audio", "embed", "iframe", "frame", "track":
			c.ref(n, "src", true)
		case "object":
			c.ref(n, "data", true)
		case "style":
			for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
				if ch.Type == html.TextNode {
					c.css(ch.Data)
				}
			}
		}
		if n.Data == "video" {
			c.ref(n, "poster", true)
		}
		if set, ok := attr(n, "srcset"); ok && (n.Data == "img" || n.Data == "source") {
			for _, cand := range parse.Srcset(set) {
				c.add(set[cand.Start:cand.End], true)
			}
		}
		if style, ok := attr(n, "style"); ok {
			c.css(style)
		}
	}
	return nil
}

func (c *checker) css(s string) {
	for _, r := range parse.ScanCSS(s) {
		c.add(r.URL, true)
	}
}

func (c *checker) ref(n *html.Node, key string, embedded bool) {
	if v, ok := attr(n, key); ok {
		c.add(v, embedded)
	}
}

// add sorts one reference.
func (c *checker) add(ref string, embedded bool) {
	ref = strings.Trim(ref, " \t\n\r\f")
	if ref == "" || strings.HasPrefix(ref, "#") {
		return
	}
	l := Link{File: c.file, Ref: ref, Embedded: embedded}
	u, err := c.base.Parse(ref)
	if err != nil {
		c.rep.Broken = append(c.rep.Broken, l)
		return
	}
	l.Resolved = u.String()
	switch u.Scheme {
	case "http", "https":
		c.rep.Remote = append(c.rep.Remote, l)
		return
	case "file":
	default:
		return // mailto:, javascript:, data: and the like
	}
	if u.RawQuery != "" || u.ForceQuery || !strings.HasPrefix(u.Path, c.root+"/") {
		c.rep.Broken = append(c.rep.Broken, l)
		return
	}
	fi, err := os.Stat(filepath.FromSlash(u.Path))
	if err != nil || !fi.Mode().IsRegular() {
		c.rep.Broken = append(c.rep.Broken, l)
		return
	}
	c.rep.Local = append(c.rep.Local, l)
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}
