package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hivecrawl/crawl/fetch"
)

// FileStore is a Store in a cookies.txt file (Netscape format, mode
// 0600), rewritten whole on each change by a rename, so that a process
// killed at any moment leaves the old file or the new one. It is meant
// for one process at a time (a --state directory, which is locked).
type FileStore struct {
	path string

	mu      sync.Mutex
	cookies map[key]fetch.NetscapeCookie // nil until loaded
}

// NewFileStore returns a store in the file path; a missing file is an
// empty store.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Load reads the file.
func (s *FileStore) Load(ctx context.Context) ([]fetch.NetscapeCookie, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.read(); err != nil {
		return nil, err
	}
	out := make([]fetch.NetscapeCookie, 0, len(s.cookies))
	for _, c := range s.cookies {
		out = append(out, c)
	}
	return out, nil
}

// read loads the file into s.cookies once.
func (s *FileStore) read() error {
	if s.cookies != nil {
		return nil
	}
	s.cookies = make(map[key]fetch.NetscapeCookie)
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	cs, err := fetch.ParseNetscapeCookies(f)
	if err != nil {
		s.cookies = nil
		return fmt.Errorf("%s: %w", s.path, err)
	}
	for _, c := range cs {
		s.cookies[keyOf(c)] = c
	}
	return nil
}

// Update applies the change and rewrites the file.
func (s *FileStore) Update(ctx context.Context, set, del []fetch.NetscapeCookie) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.read(); err != nil {
		return err
	}
	for _, c := range set {
		s.cookies[keyOf(c)] = c
	}
	for _, c := range del {
		delete(s.cookies, keyOf(c))
	}
	list := make([]fetch.NetscapeCookie, 0, len(s.cookies))
	for _, c := range s.cookies {
		list = append(list, c)
	}
	sortCookies(list)
	return WriteFile(s.path, list)
}

// WriteFile writes cookies to name in Netscape format, mode 0600,
// replacing the file whole by a rename.
func WriteFile(name string, cookies []fetch.NetscapeCookie) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".cookies-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := fetch.WriteNetscapeCookies(f, cookies); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Hash is a shared string map that HashStore keeps cookies in, such as a
// Redis hash (frontier/redis's SessionHash).
type Hash interface {
	// All returns every field and value.
	All(ctx context.Context) (map[string]string, error)
	// Update sets the fields of set and removes those of del, at once.
	Update(ctx context.Context, set map[string]string, del []string) error
}

// HashStore returns a Store that keeps each cookie in h under a field
// naming its domain, path and name, as one cookies.txt line; processes
// sharing h share the cookies.
func HashStore(h Hash) Store { return hashStore{h} }

type hashStore struct{ h Hash }

func field(c fetch.NetscapeCookie) string { return c.Domain + "\t" + c.Path + "\t" + c.Name }

func (s hashStore) Load(ctx context.Context) ([]fetch.NetscapeCookie, error) {
	all, err := s.h.All(ctx)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, line := range all {
		b.WriteString(line)
	}
	cs, err := fetch.ParseNetscapeCookies(&b)
	if err != nil {
		return nil, fmt.Errorf("stored cookies: %w", err)
	}
	return cs, nil
}

func (s hashStore) Update(ctx context.Context, set, del []fetch.NetscapeCookie) error {
	m := make(map[string]string, len(set))
	for _, c := range set {
		var b strings.Builder
		if err := fetch.WriteNetscapeCookies(&b, []fetch.NetscapeCookie{c}); err != nil {
			return err
		}
		m[field(c)] = cookieLine(b.String())
	}
	var fields []string
	for _, c := range del {
		fields = append(fields, field(c))
	}
	return s.h.Update(ctx, m, fields)
}

// cookieLine drops the header comment WriteNetscapeCookies writes first,
// keeping the cookie's line (with its "#HttpOnly_" mark) and its newline.
func cookieLine(s string) string {
	for {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			return s
		}
		if line != "" && (!strings.HasPrefix(line, "#") || strings.HasPrefix(line, "#HttpOnly_")) {
			return s
		}
		s = rest
	}
}
