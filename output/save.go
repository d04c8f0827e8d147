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
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/hivecrawl/crawl/crawler"
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
	root    *os.Root
	onSkip  func(url string, err error)
	mu      sync.Mutex
	files   int64
	skipped int64
}

// TreeOptions configures a Tree. The zero value is usable.
type TreeOptions struct {
	// OnSkip, if not nil, is told about each body that is not saved
	// because the file system refused its name, with the URL and the
	// error. It is called with the Tree's lock held and must not call
	// the Tree.
	OnSkip func(url string, err error)
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
	return &Tree{root: root, onSkip: opts.OnSkip}, nil
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
	rel, err := SavePath(target)
	if err != nil {
		return nil // not an http(s) URL with a host: nothing to save it as
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.save(rel, p.Body); err != nil {
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

// Close releases the directory.
func (t *Tree) Close() error { return t.root.Close() }

// save writes body at rel, resolving file/directory clashes. The caller
// holds mu.
func (t *Tree) save(rel string, body []byte) error {
	dir, name := filepath.Split(rel)
	dir = filepath.Clean(dir)
	if err := t.mkdirs(dir); err != nil {
		return err
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
		return err
	}
	if err := t.root.Rename(tmp, rel); err != nil {
		_ = t.root.Remove(tmp) // best effort; the rename's error is the one to report
		return err
	}
	return nil
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
		default:
			return fmt.Errorf("%s is neither a file nor a directory", cur)
		}
	}
	return nil
}

// SavePath returns the path, relative to the save directory, at which
// Tree stores the body of rawURL: host/path, like wget -x.
//
//   - The host is lower-cased, with its port if the URL has one.
//   - Each path segment is percent-decoded, then escaped again for the file
//     system: "/", "\", ":", "*", "?", '"', "<", ">", "|", "%", control
//     characters and invalid UTF-8 become %XX (upper-case hex), so
//     "a%2Fb" is one file named "a%2Fb" and never a directory.
//   - Empty segments are dropped, and "." and ".." segments are escaped to
//     "%2E" and "%2E%2E": no segment climbs out.
//   - A path that is empty or ends in "/" gets "index.html".
//   - A query is kept in the file name after an escaped "?": "/shop?page=2"
//     is "shop%3Fpage=2".
//   - A name longer than 200 bytes is cut (never inside a %XX escape) and
//     suffixed with "%~" and a hash of the whole name, so distinct long
//     names stay distinct and no short name equals one.
//   - Anything else, "~" and a leading "." included, is kept as it is.
//
// The result is always relative and below the directory. SavePath fails
// for a URL that is not absolute http(s) with a host.
func SavePath(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("output: save: %q is not an absolute http(s) URL", rawURL)
	}
	parts := []string{safeName(strings.ToLower(u.Host))}
	raw := u.EscapedPath()
	segs := strings.Split(raw, "/")
	for i, seg := range segs {
		last := i == len(segs)-1
		if seg == "" {
			if last {
				parts = append(parts, nameWithQuery("index.html", u.RawQuery))
			}
			continue
		}
		dec, err := url.PathUnescape(seg)
		if err != nil {
			dec = seg
		}
		if last {
			parts = append(parts, nameWithQuery(dec, u.RawQuery))
			continue
		}
		parts = append(parts, safeName(dec))
	}
	if len(parts) == 1 { // no path at all
		parts = append(parts, nameWithQuery("index.html", u.RawQuery))
	}
	return filepath.Join(parts...), nil
}

// nameWithQuery is the file name for the last segment and the raw query.
func nameWithQuery(seg, rawQuery string) string {
	if rawQuery == "" {
		return safeName(seg)
	}
	return safeName(seg + "?" + rawQuery)
}

// safeName escapes one path segment so that it is a plain file name.
func safeName(s string) string {
	switch s {
	case ".":
		return "%2E"
	case "..":
		return "%2E%2E"
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		c := s[i]
		switch {
		case r == utf8.RuneError && size == 1,
			c < 0x20, c == 0x7f,
			strings.IndexByte(`/\:*?"<>|%`, c) >= 0:
			fmt.Fprintf(&b, "%%%02X", c)
			i++
			continue
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	name := b.String()
	if len(name) > maxNameBytes {
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
		name = fmt.Sprintf("%s%s%016x", name[:cut], hashMarker, h.Sum64())
	}
	return name
}

var _ crawler.Handler = (*Tree)(nil)
