package urlnorm

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Defaults of IgnoredParams' zero fields.
const (
	DefaultMaxPaths        = 10_000
	DefaultMaxPathsPerHost = 1_000
	// maxNamesPerPath caps the names learned for one path.
	maxNamesPerPath = 16
)

// IgnoredParams remembers, per host and path, the query parameters that a
// page's canonical URL showed to be irrelevant: when the page
// "/list?id=7&sort=price" declares "/list?id=7" canonical, sort is ignored
// on "/list" of that host from then on, and "/list?id=9&sort=name" is
// "/list?id=9". It is what a crawl learns as it goes; keep one per run.
//
// It is bounded, so that a hostile site cannot grow it without end: past
// MaxPaths host-and-path entries, or MaxPathsPerHost for one host, or 16
// names for one path, nothing more is learned.
//
// The zero value is ready to use. An IgnoredParams is safe for concurrent
// use; it must not be copied after first use.
type IgnoredParams struct {
	// MaxPaths caps the host-and-path entries. Zero means
	// DefaultMaxPaths (10,000).
	MaxPaths int
	// MaxPathsPerHost caps the entries of one host (scheme, host and
	// port). Zero means DefaultMaxPathsPerHost (1,000).
	MaxPathsPerHost int

	mu    sync.RWMutex
	paths map[string][]string // URL up to '?' → ignored names, sorted
	hosts map[string]int      // scheme://host[:port] → entries
	n     atomic.Int64        // len(paths), read without the lock
}

// Learn compares a page's canonical URL with the canonical URL the page
// declares (both as Normalizer.Canonical writes them). When they differ
// only in that the page has query parameters the declared URL lacks, the
// names of those parameters are remembered as ignored for the page's host
// and path, and returned (those already known included). Otherwise, or
// when a bound is reached, it learns nothing and returns nil.
func (ip *IgnoredParams) Learn(pageURL, canonical string) []string {
	pagePrefix, pageQuery, _ := strings.Cut(pageURL, "?")
	canonPrefix, canonQuery, _ := strings.Cut(canonical, "?")
	if pagePrefix != canonPrefix || pageQuery == "" || pageQuery == canonQuery {
		return nil
	}
	// Every parameter of the canonical URL must be one of the page's,
	// value included: "?page=2" declaring "?page=1" is another page.
	pageParams := strings.Split(pageQuery, "&")
	var canonKeys []string
	if canonQuery != "" {
		for p := range strings.SplitSeq(canonQuery, "&") {
			i := slices.Index(pageParams, p)
			if i < 0 {
				return nil
			}
			pageParams = slices.Delete(pageParams, i, i+1)
			canonKeys = append(canonKeys, keyOf(p))
		}
	}
	var names []string
	for _, p := range pageParams {
		k := keyOf(p)
		if !slices.Contains(canonKeys, k) && !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return ip.add(pagePrefix, names)
}

// add merges names into the entry of prefix, within the bounds.
func (ip *IgnoredParams) add(prefix string, names []string) []string {
	ip.mu.Lock()
	defer ip.mu.Unlock()
	old, ok := ip.paths[prefix]
	if !ok {
		host := hostPrefix(prefix)
		if len(ip.paths) >= orDefault(ip.MaxPaths, DefaultMaxPaths) ||
			ip.hosts[host] >= orDefault(ip.MaxPathsPerHost, DefaultMaxPathsPerHost) {
			return nil
		}
		if ip.paths == nil {
			ip.paths = make(map[string][]string)
			ip.hosts = make(map[string]int)
		}
		ip.hosts[host]++
	}
	merged := slices.Clone(old)
	for _, n := range names {
		if !slices.Contains(merged, n) {
			if len(merged) >= maxNamesPerPath {
				break
			}
			merged = append(merged, n)
		}
	}
	slices.Sort(merged)
	ip.paths[prefix] = merged // a new slice: Apply may be reading the old one
	ip.n.Store(int64(len(ip.paths)))
	return slices.Clone(merged)
}

// Apply returns the canonical URL u without the parameters learned as
// ignored for its host and path: still canonical, and u itself (no
// allocation) when there is nothing to remove.
func (ip *IgnoredParams) Apply(u string) string {
	if ip.n.Load() == 0 {
		return u
	}
	q := strings.IndexByte(u, '?')
	if q < 0 {
		return u
	}
	ip.mu.RLock()
	names := ip.paths[u[:q]]
	ip.mu.RUnlock()
	if names == nil {
		return u
	}
	query := u[q+1:]
	drop := false
	for p := range strings.SplitSeq(query, "&") {
		if _, ok := slices.BinarySearch(names, keyOf(p)); ok {
			drop = true
			break
		}
	}
	if !drop {
		return u
	}
	var b strings.Builder
	b.Grow(len(u))
	b.WriteString(u[:q])
	sep := byte('?')
	for p := range strings.SplitSeq(query, "&") {
		if _, ok := slices.BinarySearch(names, keyOf(p)); ok {
			continue
		}
		b.WriteByte(sep)
		b.WriteString(p)
		sep = '&'
	}
	return b.String()
}

// Len returns the number of host-and-path entries learned.
func (ip *IgnoredParams) Len() int { return int(ip.n.Load()) }

// keyOf returns the name of a "name=value" parameter.
func keyOf(p string) string {
	k, _, _ := strings.Cut(p, "=")
	return k
}

// hostPrefix returns "scheme://host[:port]" of a canonical URL prefix.
func hostPrefix(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	if j := strings.IndexByte(s[i+3:], '/'); j >= 0 {
		return s[:i+3+j]
	}
	return s
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}
