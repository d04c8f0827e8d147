package frontier

import (
	"strings"

	"github.com/cespare/xxhash/v2"
)

// Fingerprint returns the 64-bit fingerprint of a canonical URL, the key of
// the seen set in every backend. It is stable across processes and versions.
func Fingerprint(canonicalURL string) uint64 { return xxhash.Sum64String(canonicalURL) }

// HostOf returns the politeness key of an absolute URL: its host and port as
// written (canonical URLs carry lower-case hosts and no default port). It
// returns "" for a URL without "//" authority.
func HostOf(rawURL string) string {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return ""
	}
	rest := rawURL[i+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	return rest
}
