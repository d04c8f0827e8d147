package output

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Resolver resolves a link found on a page against the page's URL into the
// canonical URL the crawl fetched it under. urlnorm.Normalizer implements
// it; give ConvertLinks the crawl's, so that links match the URLs saved.
type Resolver interface {
	Resolve(base *url.URL, ref string) (string, error)
}

// ConvertOptions configures ConvertLinks. The zero value is usable.
type ConvertOptions struct {
	// Resolver canonicalizes links for looking them up among the saved
	// URLs. Nil means net/url's resolution with the fragment dropped and
	// the host lower-cased, which misses links the crawl's canonical form
	// would have matched (percent-encoding, stripped parameters).
	Resolver Resolver
}

// Converted counts what ConvertLinks did.
type Converted struct {
	// Files is the number of HTML and CSS files rewritten.
	Files int
	// Local is the number of links rewritten to a saved file.
	Local int
	// Absolute is the number of relative links rewritten to an absolute
	// URL, because what they point to was not saved.
	Absolute int
}

// ConvertLinks rewrites the links of the HTML and CSS files a Tree saved
// under dir, as wget -k does, so that the tree browses from disk: a link to
// a URL whose body is saved becomes the relative path of its file (with
// "%", "?" and "#" and the like escaped, so that a browser reading files
// opens that very name); a relative link to anything else becomes an
// absolute URL; a <base href> becomes empty, so that the relative paths are
// read against the file. Absolute links to what was not saved, fragments,
// and other schemes (mailto:, data:) are left as they are.
//
// In HTML, the values of href (a, area, link), src (img, script, source,
// video, audio, embed, iframe, frame, track, input), srcset (img, source),
// action (form), poster (video), data (object) and of every style attribute
// are rewritten in place, as are <style> elements; every other byte of the
// document stays as it was. In CSS, url() and @import references are.
//
// The files and what each holds are read from the Tree's index
// (IndexName), so ConvertLinks may run after the crawl, again after a
// resumed crawl saved more (converted files are recognized and their links
// brought up to date: links to what has since been saved become local),
// or be cut short and run again: each file is replaced whole, and its
// conversion is recorded in the index before it is. It must not run while
// a Tree writes to dir. It returns early, with ctx's error, when ctx ends.
func ConvertLinks(ctx context.Context, dir string, opts ConvertOptions) (Converted, error) {
	var done Converted
	root, err := os.OpenRoot(dir)
	if err != nil {
		return done, fmt.Errorf("output: convert links: %w", err)
	}
	defer root.Close()
	ix, err := readIndex(root)
	if err != nil {
		return done, fmt.Errorf("output: convert links: %w", err)
	}
	cv := &converter{root: root, ix: ix, resolver: opts.Resolver, byURL: map[string]string{}}
	if cv.resolver == nil {
		cv.resolver = netResolver{}
	}
	cv.check()
	index, err := openIndex(root)
	if err != nil {
		return done, fmt.Errorf("output: convert links: %w", err)
	}
	defer index.Close()

	files := slices.Sorted(func(yield func(string) bool) {
		for name, f := range ix.files {
			if (f.kind == kindHTML || f.kind == kindCSS) && !yield(name) {
				return
			}
		}
	})
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		changed, err := cv.convertFile(index, name, &done)
		if err != nil {
			return done, fmt.Errorf("output: convert links: %s: %w", name, err)
		}
		if changed {
			done.Files++
		}
	}
	return done, nil
}

// converter holds what ConvertLinks knows about the tree.
type converter struct {
	root     *os.Root
	ix       *treeIndex
	resolver Resolver
	byURL    map[string]string // canonical URL → file, for saved files only
}

// check drops from the index the files that are no longer there, follows
// a file that became a directory to its index.html (a move whose index line
// a crash lost), and fills byURL.
func (cv *converter) check() {
	for name, f := range cv.ix.files {
		cur := name
		for {
			fi, err := cv.root.Lstat(filepath.FromSlash(cur))
			if err == nil && fi.IsDir() {
				cur = path.Join(cur, "index.html")
				continue
			}
			if err != nil || !fi.Mode().IsRegular() {
				cur = ""
			}
			break
		}
		if cur != name {
			delete(cv.ix.files, name)
			if cur != "" && cv.ix.files[cur] == nil {
				cv.ix.files[cur] = f
				cv.ix.names[cur] = f.url
			}
		}
	}
	for u, name := range cv.ix.urls {
		f := cv.ix.files[name]
		if f == nil {
			// Its file moved (a directory now) or is gone.
			if g := cv.ix.files[path.Join(name, "index.html")]; g != nil && (g.url == u || g.final == u) {
				name = path.Join(name, "index.html")
			} else {
				continue
			}
		}
		cv.byURL[u] = name
		if base, err := url.Parse(u); err == nil {
			if c, err := cv.resolver.Resolve(base, u); err == nil {
				cv.byURL[c] = name
			}
		}
	}
}

// convertFile converts one file, recording the conversion in index first.
func (cv *converter) convertFile(index *os.File, name string, done *Converted) (bool, error) {
	f := cv.ix.files[name]
	rel := filepath.FromSlash(name)
	src, err := cv.root.ReadFile(rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	page := f.final
	if page == "" {
		page = f.url
	}
	base, err := url.Parse(page)
	if err != nil {
		return false, nil // not a URL the Tree would have indexed
	}
	p := &pageConv{cv: cv, file: name, base: base}
	if f.converted != "" && sum(src) == f.converted {
		p.converted, p.linksFrom = true, f.convertedAs
	}
	var out []byte
	var changed bool
	if f.kind == kindHTML {
		out, changed = p.convertHTML(src)
	} else {
		var css string
		css, changed = p.convertCSS(string(src), '"')
		out = []byte(css)
	}
	if !changed || bytes.Equal(out, src) {
		return false, nil
	}
	s := sum(out)
	if err := appendIndex(index, indexEntry{File: name, Converted: s}); err != nil {
		return false, err
	}
	dir, base0 := path.Split(name)
	tmp := filepath.FromSlash(dir + "." + base0 + tempSuffix)
	if err := cv.root.WriteFile(tmp, out, 0o644); err != nil {
		return false, err
	}
	if err := cv.root.Rename(tmp, rel); err != nil {
		_ = cv.root.Remove(tmp)
		return false, err
	}
	f.converted, f.convertedAs = s, name
	done.Local += p.local
	done.Absolute += p.absolute
	return true, nil
}

// sum is the hex SHA-256 of b.
func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// pageConv converts the links of one file.
type pageConv struct {
	cv        *converter
	file      string   // the file's slash path in the tree
	base      *url.URL // the URL its body came from
	converted bool     // its links were converted before: relative ones are file paths
	linksFrom string   // when converted: the file's name then, which they are relative to
	local     int
	absolute  int
}

// link returns what ref becomes, and false to leave it as it is.
func (p *pageConv) link(ref string) (string, bool) {
	ref = strings.Trim(ref, " \t\n\r\f")
	if ref == "" || ref[0] == '#' {
		return "", false
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return "", false
	}
	frag := ""
	if i := strings.IndexByte(ref, '#'); i >= 0 {
		frag = ref[i:]
	}
	relative := u.Scheme == "" && u.Host == "" && !strings.HasPrefix(ref, "//")
	if p.converted && relative {
		// A link this converter wrote: a file path. Bring it up to date
		// (its target may have moved into a directory).
		target := path.Join(path.Dir(p.linksFrom), u.Path)
		if _, ok := p.cv.ix.files[target]; !ok {
			owner, ok := p.cv.ix.names[target]
			if !ok {
				return "", false
			}
			if target, ok = p.cv.byURL[owner]; !ok {
				return "", false
			}
		}
		p.local++
		return relLink(p.file, target) + frag, true
	}
	if canon, err := p.cv.resolver.Resolve(p.base, ref); err == nil {
		if target, ok := p.cv.byURL[canon]; ok {
			p.local++
			return relLink(p.file, target) + frag, true
		}
	}
	if !relative {
		return "", false // absolute already
	}
	abs := p.base.ResolveReference(u)
	if abs.Scheme != "http" && abs.Scheme != "https" {
		return "", false
	}
	p.absolute++
	return abs.String(), true
}

// relLink is the relative URL reference from the file from to the file
// to (slash paths in the tree), each name escaped so that a browser
// resolving it against from's file: URL opens to.
func relLink(from, to string) string {
	fd := strings.Split(path.Dir(from), "/")
	ts := strings.Split(to, "/")
	common := 0
	for common < len(fd) && common < len(ts)-1 && fd[common] == ts[common] {
		common++
	}
	var b strings.Builder
	for range fd[common:] {
		b.WriteString("../")
	}
	for i, seg := range ts[common:] {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(escapeLinkSegment(seg))
	}
	link := b.String()
	if first, _, _ := strings.Cut(link, "/"); strings.Contains(first, ":") {
		link = "./" + link // "host:8080/x" would read as a scheme
	}
	return link
}

// escapeLinkSegment percent-encodes a file name for a URL path: every
// byte but the unreserved ones and a few sub-delimiters, so "%", "?", "#",
// quotes, white space and non-ASCII bytes are escaped.
func escapeLinkSegment(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!$&*+,;=:@", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// netResolver is the default Resolver: net/url's resolution, fragment
// dropped, host lower-cased, an empty path made "/".
type netResolver struct{}

func (netResolver) Resolve(base *url.URL, ref string) (string, error) {
	u, err := base.Parse(ref)
	if err != nil {
		return "", err
	}
	u.Fragment, u.RawFragment = "", ""
	u.Host = strings.ToLower(u.Host)
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}
