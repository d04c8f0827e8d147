package crawler

import (
	"net"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/urlnorm"
)

// scope decides which canonical URLs the crawl may visit. It is read-only
// after construction and safe for concurrent use.
type scope struct {
	mode    string
	hosts   map[string]bool // host[:port] for ScopeHost, registrable domain for ScopeDomain
	include []*regexp.Regexp
	exclude []*regexp.Regexp
	// norm canonicalizes redirect hops as links are, so that Include and
	// Exclude see the same string for both.
	norm urlnorm.Normalizer
}

func newScope(mode string, include, exclude []*regexp.Regexp, norm urlnorm.Normalizer) *scope {
	return &scope{mode: mode, hosts: make(map[string]bool), include: include, exclude: exclude, norm: norm}
}

// addSeed widens the scope to cover a seed URL.
func (s *scope) addSeed(canonical string) {
	switch s.mode {
	case ScopeHost:
		s.hosts[frontier.HostOf(canonical)] = true
	case ScopeDomain:
		s.hosts[domainOf(frontier.HostOf(canonical))] = true
	}
}

// allows reports whether a canonical URL is in scope.
func (s *scope) allows(canonical string) bool {
	switch s.mode {
	case ScopeHost:
		if !s.hosts[frontier.HostOf(canonical)] {
			return false
		}
	case ScopeDomain:
		if !s.hosts[domainOf(frontier.HostOf(canonical))] {
			return false
		}
	}
	if len(s.include) > 0 {
		ok := false
		for _, re := range s.include {
			if re.MatchString(canonical) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, re := range s.exclude {
		if re.MatchString(canonical) {
			return false
		}
	}
	return true
}

// allowsURL is allows for a parsed URL (a redirect hop), which need not be
// canonical: it is canonicalized as links are first, and a URL that has no
// canonical form is out of scope. It returns the canonical form as well.
func (s *scope) allowsURL(u *url.URL) (canonical string, ok bool) {
	canon, err := s.norm.Canonical(u.String())
	return canon, err == nil && s.allows(canon)
}

// domainOf returns the registrable domain (eTLD+1) of a host[:port], or
// the bare host for IP addresses and names without a public suffix.
func domainOf(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if net.ParseIP(host) != nil {
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}
