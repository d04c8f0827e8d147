package urlnorm

import (
	"fmt"
	"net/url"
	"strings"
)

// CheckCanonical returns an error saying how s falls short of a canonical
// URL of n, or nil: a canonical URL is a fixed point of Canonical, no
// longer than the length limit, that net/url parses to an http(s) URL with
// a host and no user or fragment, and writes back unchanged. Tests and
// fuzzers of code that hands out canonical URLs use it.
func (n *Normalizer) CheckCanonical(s string) error {
	again, err := n.Canonical(s)
	if err != nil {
		return fmt.Errorf("not canonical: %w", err)
	}
	if again != s {
		return fmt.Errorf("not idempotent: Canonical gives %q", again)
	}
	if len(s) > n.maxLen() {
		return fmt.Errorf("%d bytes, over %d", len(s), n.maxLen())
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("net/url rejects it: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("net/url reads it as %#v", u)
	}
	if !strings.HasPrefix(s, u.Scheme+"://"+u.Host+"/") {
		return fmt.Errorf("net/url sees host %q", u.Host)
	}
	if u.String() != s {
		return fmt.Errorf("net/url writes it back as %q", u.String())
	}
	return nil
}
