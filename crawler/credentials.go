package crawler

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hivecrawl/crawl/urlnorm"
)

// credentialAdder is implemented by a Fetcher that can send credentials to
// one origin only (*fetch.Client).
type credentialAdder interface {
	AddCredentials(origin string, user *url.Userinfo) error
}

// seedCredentials hands the user info of a seed ("http://alice:s3cret@host/")
// to the Fetcher, which sends it as Basic authentication to the seed's
// origin (scheme, host and port) only, as curl and wget do: never to another
// host, by a redirect, a link or another host's robots.txt. canonical is the
// seed's canonical form, which has no user info, so that URLs, records and
// logs never show it. A Fetcher that cannot send credentials is an error.
func (c *Crawler) seedCredentials(seed, canonical string) error {
	if urlnorm.Redact(seed) == seed {
		return nil // no user info: the usual case
	}
	user, err := userinfoOf(seed)
	if err != nil {
		return fmt.Errorf("crawler: seed %q: %w", urlnorm.Redact(seed), err)
	}
	if user == nil {
		return nil
	}
	adder, ok := c.cfg.Fetcher.(credentialAdder)
	if !ok {
		return fmt.Errorf("crawler: seed %q has credentials, which the Fetcher cannot send", urlnorm.Redact(seed))
	}
	origin := canonical
	if i := strings.Index(origin, "://"); i >= 0 {
		if j := strings.IndexByte(origin[i+3:], '/'); j >= 0 {
			origin = origin[:i+3+j]
		}
	}
	if err := adder.AddCredentials(origin, user); err != nil {
		return fmt.Errorf("crawler: seed %q: %w", urlnorm.Redact(seed), err)
	}
	return nil
}

// userinfoOf returns the decoded user info of an absolute URL, or nil when
// it has none or only an empty user name.
func userinfoOf(raw string) (*url.Userinfo, error) {
	i := strings.Index(raw, "//")
	if i < 0 {
		return nil, nil
	}
	auth := raw[i+2:]
	if end := strings.IndexAny(auth, "/?#\\"); end >= 0 {
		auth = auth[:end]
	}
	at := strings.LastIndexByte(auth, '@')
	if at < 0 {
		return nil, nil
	}
	// net/url decodes the escapes of user info ("p%40ss" is "p@ss").
	u, err := url.Parse("http://" + auth[:at] + "@host/")
	if err != nil || u.User == nil {
		return nil, fmt.Errorf("unusable user info in URL")
	}
	if u.User.Username() == "" {
		return nil, nil
	}
	return u.User, nil
}
