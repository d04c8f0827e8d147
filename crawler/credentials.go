package crawler

import (
	"errors"
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

// headerOriginAdder is implemented by a Fetcher that can send the
// credential headers of its options to some origins only (*fetch.Client).
type headerOriginAdder interface {
	AddHeaderOrigin(origin string) error
}

// seedAuth lets the credentials of Config.Header and Config.BasicAuth go
// to the origin of the seed whose canonical form is canonical.
func (c *Crawler) seedAuth(canonical string) error {
	if c.cfg.Header == nil && c.cfg.BasicAuth == nil {
		return nil
	}
	origin := originOf(canonical)
	if c.cfg.Header != nil {
		if a, ok := c.cfg.Fetcher.(headerOriginAdder); ok {
			if err := a.AddHeaderOrigin(origin); err != nil {
				return fmt.Errorf("crawler: seed %q: %w", canonical, err)
			}
		}
	}
	if c.cfg.BasicAuth != nil {
		a, ok := c.cfg.Fetcher.(credentialAdder)
		if !ok {
			return errors.New("crawler: BasicAuth is set, which the Fetcher cannot send")
		}
		if err := a.AddCredentials(origin, c.cfg.BasicAuth); err != nil {
			return fmt.Errorf("crawler: seed %q: %w", canonical, err)
		}
	}
	return nil
}

// originOf returns the "scheme://host[:port]" of an absolute URL.
func originOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexAny(u[i+3:], "/?#"); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}

// authOrigins returns the origins an AuthHosts entry stands for: an
// origin as is; a host, or a host and port, over http and https.
func authOrigins(h string) ([]string, error) {
	if strings.Contains(h, "://") {
		u, err := url.Parse(h)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, fmt.Errorf("%q: want a host, host:port or an http(s) origin such as https://example.com", h)
		}
		return []string{u.Scheme + "://" + u.Host}, nil
	}
	u, err := url.Parse("http://" + h)
	if err != nil || u.Host != h || u.Hostname() == "" || u.User != nil {
		return nil, fmt.Errorf("%q: want a host, host:port or an http(s) origin such as https://example.com", h)
	}
	return []string{"http://" + h, "https://" + h}, nil
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
	if err := adder.AddCredentials(originOf(canonical), user); err != nil {
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
