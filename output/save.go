package output

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/parse"
)

// maxNameBytes bounds one file name; longer ones are cut and suffixed with
// a hash of the whole name, as most file systems stop at 255 bytes.
const maxNameBytes = 200

// The Tree's own names. safeName escapes every "%" of a URL, so in a name
// it makes every "%" starts a %XX escape, or the "%~" before the hash of a
// cut name: a "%" followed by a letter past F is the Tree's alone.
const (
	tempSuffix   = "%tmp~"    // ".name%tmp~": a body being written
	movingSuffix = "%moving~" // "name%moving~": a file moving into its directory
	hashMarker   = "%~"       // "cut name%~hash": a name over maxNameBytes
)

// IndexName is the name of the Tree's index in the save directory: one
// JSON object per line saying which URL each file holds (see ConvertLinks).
// No URL's file can have this name: its "%" starts no escape.
const IndexName = "crawl%index.jsonl"

// Tree saves each successfully fetched body (status 2xx) under a directory
// the way wget -x does: DIR/host/path, with "index.html" for a path that
// ends in "/" (see SavePath for how names are made safe). When a URL's
// file would sit where a directory is needed ("/docs" and "/docs/intro"),
// the file moves into the directory as index.html, and a file whose path
// is a directory is saved as its index.html.
//
// Every file operation goes through an os.Root opened on DIR, so nothing
// is written outside DIR whatever the names or the symbolic links inside
// it. Files are written to a temporary name and renamed, so a file is
// never seen half written. The temporary names hold a "%" that is not
// followed by two hexadecimal digits, which no name SavePath makes holds:
// no URL can collide with them.
//
// A body the file system refuses to store under its URL's name (one too
// long, one with bytes the file system does not allow, a path blocked by
// something the Tree cannot move) is not saved: it is counted (Skipped),
// reported to TreeOptions.OnSkip, and HandlePage returns nil, so that a
// site's names cannot stop a crawl. Any other failure, such as a full
// disk, a read-only file system or a symbolic link leading out of DIR, is
// HandlePage's error. Tree is safe for concurrent use.
type Tree struct {
	root      *os.Root
	onSkip    func(url string, err error)
	adjustExt bool
	naming    naming
	mu        sync.Mutex
	index     *os.File // IndexName, appended to
	files     int64
	skipped   int64
}

// TreeOptions configures a Tree. The zero value is usable.
type TreeOptions struct {
	// OnSkip, if not nil, is told about each body that is not saved
	// because the file system refused its name, with the URL and the
	// error. It is called with the Tree's lock held and must not call
	// the Tree.
	OnSkip func(url string, err error)
	// AdjustExtension, like wget -E, adds ".html" to the name of an HTML
	// body (by its Content-Type, or sniffed as the crawler does) that does
	// not end in ".html" or ".htm", and ".css" to a text/css body's that
	// does not end in ".css", so that a browser opening the files from disk
	// knows their types. Such a name may be a real URL's too ("/a" as
	// text/html and "/a.html"): the body saved last is kept, as with wget.
	AdjustExtension bool
}

// NewTree creates dir if needed and returns a Tree saving under it. Close
// it when the crawl is over.
func NewTree(dir string, opts TreeOptions) (*Tree, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output: save: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("output: save: %w", err)
	}
	index, err := openIndex(root)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("output: save: %w", err)
	}
	return &Tree{root: root, index: index, onSkip: opts.OnSkip, adjustExt: opts.AdjustExtension, naming: platformNaming()}, nil
}

// HandlePage implements crawler.Handler: it saves the body of a 2xx
// response under the final URL's path.
func (t *Tree) HandlePage(_ context.Context, p *crawler.Page) error {
	if p.Header == nil || p.Result == nil || p.Result.Status < 200 || p.Result.Status > 299 {
		return nil
	}
	target := p.Result.FinalURL
	if target == "" {
		target = p.Result.URL
	}
	rel, err := t.naming.savePath(target)
	if err != nil {
		return nil // not an http(s) URL with a host: nothing to save it as
	}
	kind := bodyKind(p.Result.ContentType, p.Body)
	if t.adjustExt {
		rel = adjustExtension(rel, kind)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	rel, err = t.save(rel, p.Body)
	if err == nil {
		final := ""
		if target != p.Result.URL {
			final = target
		}
		err = t.writeIndex(indexEntry{URL: p.Result.URL, Final: final, File: filepath.ToSlash(rel), Type: kind})
		if err != nil {
			return fmt.Errorf("output: save %s: index: %w", target, err)
		}
	}
	if err != nil {
		err = fmt.Errorf("output: save %s: %w", target, err)
		if !nameRefused(err) {
			return err
		}
		t.skipped++
		if t.onSkip != nil {
			t.onSkip(target, err)
		}
		return nil
	}
	t.files++
	return nil
}

// nameRefused reports whether err is the file system refusing a name or a
// layout, which the site's URLs chose, rather than failing to store data.
func nameRefused(err error) bool {
	for _, target := range []error{
		fs.ErrExist,          // EEXIST, ENOTEMPTY: in the way, and not movable
		syscall.EISDIR,       // a directory where the file goes
		syscall.ENOTDIR,      // a file where a directory is needed
		syscall.ENAMETOOLONG, // a name or path too long for this file system
		syscall.EILSEQ,       // bytes the file system's encoding refuses
		syscall.EINVAL,       // a name the file system does not allow (vfat, SMB)
	} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// Files returns the number of bodies saved.
func (t *Tree) Files() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.files
}

// Skipped returns the number of bodies not saved because the file system
// refused their names.
func (t *Tree) Skipped() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.skipped
}

// Close closes the index and releases the directory.
func (t *Tree) Close() error {
	return errors.Join(t.index.Close(), t.root.Close())
}

// save writes body at rel, resolving file/directory clashes, and returns
// where it went. The caller holds mu.
func (t *Tree) save(rel string, body []byte) (string, error) {
	dir, name := filepath.Split(rel)
	dir = filepath.Clean(dir)
	if err := t.mkdirs(dir); err != nil {
		return rel, err
	}
	// A directory is in the way: the file is its index.html, or that
	// one's, when "/a/index.html/x" made index.html a directory too.
	for {
		fi, err := t.root.Lstat(rel)
		if err != nil || !fi.IsDir() {
			break
		}
		rel = filepath.Join(rel, "index.html")
	}
	tmp := filepath.Join(dir, "."+name+tempSuffix)
	if err := t.root.WriteFile(tmp, body, 0o644); err != nil {
		return rel, err
	}
	if err := t.root.Rename(tmp, rel); err != nil {
		_ = t.root.Remove(tmp) // best effort; the rename's error is the one to report
		return rel, err
	}
	return rel, nil
}

// mkdirs creates dir and its parents, moving a file that is in the way
// into the new directory as its index.html.
func (t *Tree) mkdirs(dir string) error {
	if dir == "." || dir == "" {
		return nil
	}
	parts := strings.Split(dir, string(filepath.Separator))
	cur := ""
	for _, part := range parts {
		cur = filepath.Join(cur, part)
		fi, err := t.root.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := t.root.Mkdir(cur, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case err != nil:
			return err
		case fi.IsDir():
		case fi.Mode().IsRegular():
			moved := cur + movingSuffix
			if err := t.root.Rename(cur, moved); err != nil {
				return err
			}
			if err := t.root.Mkdir(cur, 0o755); err != nil {
				return err
			}
			if err := t.root.Rename(moved, filepath.Join(cur, "index.html")); err != nil {
				return err
			}
			err := t.writeIndex(indexEntry{Move: filepath.ToSlash(cur), File: filepath.ToSlash(filepath.Join(cur, "index.html"))})
			if err != nil {
				return fmt.Errorf("index: %w", err)
			}
		default:
			return fmt.Errorf("%s is neither a file nor a directory", cur)
		}
	}
	return nil
}

// SavePath returns the path, relative to the save directory, at which
// Tree stores the body of rawURL: host/path, like wget -x, named as on this
// platform (see below for Windows).
//
//   - The host folder is the host, lower-cased, with ":port" if the URL
//     has a port, as wget names it ("127.0.0.1:8080"); only "/", "\", "%"
//     and control characters are escaped in it. On Windows the port is
//     joined with "+" instead ("127.0.0.1+8080") and the host escaped like
//     a path segment.
//   - Each path segment is percent-decoded, then escaped again for the file
//     system: "/", "\", ":", "*", "?", '"', "<", ">", "|", "%", control
//     characters and invalid UTF-8 become %XX (upper-case hex), so
//     "a%2Fb" is one file named "a%2Fb" and never a directory.
//   - Empty segments are dropped, and "." and ".." segments are escaped to
//     "%2E" and "%2E%2E": no segment climbs out.
//   - A path that is empty or ends in "/" gets "index.html".
//   - A query is kept in the file name after a "?", as wget does:
//     "/shop?page=2" is "shop?page=2", its raw text escaped like a segment
//     (its own "?" and "/" become %3F and %2F). As "?" is escaped in every
//     segment, the "?" that starts a query is the only one in a name: no
//     path can take a query's name. On Windows, where "?" cannot be in a
//     name, "@" takes its place ("shop@page=2"), and "@" in segments and
//     queries is escaped to %40 there, so that the rule stays collision
//     free. ConvertLinks writes links to such names with "?" escaped
//     ("shop%3Fpage=2"), which a browser reading files decodes back.
//   - A name longer than 200 bytes is cut (never inside a %XX escape) and
//     suffixed with "%~" and a hash of the whole name, so distinct long
//     names stay distinct and no short name equals one.
//   - Anything else, "~" and a leading "." included, is kept as it is.
//
// The result is always relative and below the directory. SavePath fails
// for a URL that is not absolute http(s) with a host.
func SavePath(rawURL string) (string, error) {
	return platformNaming().savePath(rawURL)
}

// naming is a way of turning URLs into file names: the characters that
// join a port to its host and a query to its name, and those escaped.
type naming struct {
	portSep, querySep byte
	hostUnsafe        string // escaped in the host folder's name
	segUnsafe         string // escaped in path segments and queries
}

// platformNaming is the naming for the file systems of this platform.
func platformNaming() naming {
	if runtime.GOOS == "windows" {
		return windowsNaming()
	}
	return unixNaming()
}

// unixNaming keeps ":" and "?" as wget does on Unix; every other character
// Windows refuses is escaped in path segments all the same, so that a tree
// copied to such a file system loses only its ported hosts and queries.
func unixNaming() naming {
	return naming{portSep: ':', querySep: '?', hostUnsafe: `/\%`, segUnsafe: `/\:*?"<>|%`}
}

// windowsNaming is wget's --restrict-file-names=windows: "+" for the port
// and "@" for the query, each escaped wherever else it appears.
func windowsNaming() naming {
	return naming{portSep: '+', querySep: '@', hostUnsafe: `/\:*?"<>|%+@`, segUnsafe: `/\:*?"<>|%@`}
}

// savePath is SavePath under nm.
func (nm naming) savePath(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("output: save: %q is not an absolute http(s) URL", rawURL)
	}
	host, port := u.Host, u.Port()
	if port != "" {
		host = host[:len(host)-len(port)-1] // brackets kept: "[::1]"
	}
	host = escapeName(strings.ToLower(host), nm.hostUnsafe)
	if port != "" {
		host += string(nm.portSep) + escapeName(port, nm.hostUnsafe)
	}
	parts := []string{cutName(host)}
	raw := u.EscapedPath()
	segs := strings.Split(raw, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "" {
			if last {
				parts = append(parts, nm.nameWithQuery("index.html", u.RawQuery))
			}
			continue
		}
		dec, err := url.PathUnescape(seg)
		if err != nil {
			dec = seg
		}
		if last {
			parts = append(parts, nm.nameWithQuery(dec, u.RawQuery))
			continue
		}
		parts = append(parts, safeName(dec, nm.segUnsafe))
	}
	if len(parts) == 1 { // no path at all
		parts = append(parts, nm.nameWithQuery("index.html", u.RawQuery))
	}
	return filepath.Join(parts...), nil
}

// nameWithQuery is the file name for the last segment and the raw query.
func (nm naming) nameWithQuery(seg, rawQuery string) string {
	if rawQuery == "" {
		return safeName(seg, nm.segUnsafe)
	}
	return cutName(escapeName(seg, nm.segUnsafe) + string(nm.querySep) + escapeName(rawQuery, nm.segUnsafe))
}

// safeName escapes one path segment so that it is a plain file name.
func safeName(s, unsafe string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	return cutName(escapeName(s, unsafe))
}

// escapeName replaces the bytes of unsafe, control characters and invalid
// UTF-8 in s by %XX escapes.
func escapeName(s, unsafe string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && size == 1,
			c < 0x20, c == 0x7f,
			strings.IndexByte(unsafe, c) >= 0:
			fmt.Fprintf(&b, "%%%02X", c)
			i++
			continue
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

// cutName cuts a name longer than maxNameBytes and suffixes the hash of
// the whole.
func cutName(name string) string {
	if len(name) <= maxNameBytes {
		return name
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	cut := maxNameBytes - len(hashMarker) - 16
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	// Never cut a %XX escape: every "%" before the marker starts one.
	if i := strings.LastIndexByte(name[max(0, cut-2):cut], '%'); i >= 0 {
		cut = max(0, cut-2) + i
	}
	return fmt.Sprintf("%s%s%016x", name[:cut], hashMarker, h.Sum64())
}

// Body kinds in the index: what ConvertLinks rewrites.
const (
	kindHTML = "html"
	kindCSS  = "css"
)

// bodyKind is kindHTML for an HTML body (as the crawler decides it),
// kindCSS for a text/css one, and "" for anything else.
func bodyKind(contentType string, body []byte) string {
	mt, _, _ := strings.Cut(contentType, ";")
	switch mt = strings.ToLower(strings.TrimSpace(mt)); {
	case mt == "text/css":
		return kindCSS
	case parse.IsHTML(contentType, body):
		return kindHTML
	}
	return ""
}

// adjustExtension adds the extension a body of kind needs to the name rel.
func adjustExtension(rel, kind string) string {
	lower := strings.ToLower(rel)
	switch kind {
	case kindHTML:
		if !strings.HasSuffix(lower, ".html") && !strings.HasSuffix(lower, ".htm") {
			return rel + ".html"
		}
	case kindCSS:
		if !strings.HasSuffix(lower, ".css") {
			return rel + ".css"
		}
	}
	return rel
}

var _ crawler.Handler = (*Tree)(nil)
