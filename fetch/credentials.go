package fetch

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// credentials holds user names and passwords by origin
// ("scheme://host:port", as originKey writes it), for HTTP Basic
// authentication, and the origins the credential headers of
// Options.Header may go to. It is safe for concurrent use.
type credentials struct {
	mu sync.RWMutex
	m  map[string]*url.Userinfo
	// headerOrigins holds the origins of Options.HeaderOrigins and
	// AddHeaderOrigin; empty means every origin unless limitHeaders.
	headerOrigins map[string]bool
	limitHeaders  bool // set once, by New
}

// addHeaderOrigin lets the credential headers go to origin.
func (cr *credentials) addHeaderOrigin(origin string) error {
	k, err := originKey(origin)
	if err != nil {
		return fmt.Errorf("fetch: header origin: %w", err)
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.headerOrigins == nil {
		cr.headerOrigins = make(map[string]bool)
	}
	cr.headerOrigins[k] = true
	return nil
}

// headersAllowed reports whether a fetch that starts at u may send the
// credential headers of Options.Header.
func (cr *credentials) headersAllowed(u *url.URL) bool {
	cr.mu.RLock()
	defer cr.mu.RUnlock()
	if len(cr.headerOrigins) == 0 {
		return !cr.limitHeaders
	}
	return cr.headerOrigins[u.Scheme+"://"+net.JoinHostPort(strings.ToLower(u.Hostname()), portOf(u))]
}

// add records user for origin, replacing what was there.
func (cr *credentials) add(origin string, user *url.Userinfo) error {
	if user == nil || user.Username() == "" {
		return errors.New("fetch: credentials without a user name")
	}
	k, err := originKey(origin)
	if err != nil {
		return fmt.Errorf("fetch: credentials: %w", err)
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.m == nil {
		cr.m = make(map[string]*url.Userinfo)
	}
	cr.m[k] = user
	return nil
}

// lookup returns the credentials of u's origin, or nil.
func (cr *credentials) lookup(u *url.URL) *url.Userinfo {
	cr.mu.RLock()
	defer cr.mu.RUnlock()
	if len(cr.m) == 0 {
		return nil
	}
	return cr.m[u.Scheme+"://"+net.JoinHostPort(strings.ToLower(u.Hostname()), portOf(u))]
}

// AddCredentials makes c send user's name and password as HTTP Basic
// authentication on every request to origin ("https://example.com",
// "http://127.0.0.1:8080": scheme, host and port count, a path is
// ignored), as Options.Credentials does; it replaces what origin had. It
// is how credentials written in a URL ("http://alice:s3cret@host/") are
// used the way curl and wget use them: for that origin only. It is safe
// to call while fetches are under way.
func (c *Client) AddCredentials(origin string, user *url.Userinfo) error {
	return c.creds.add(origin, user)
}

// AddHeaderOrigin lets the credential headers of Options.Header
// (Authorization, Cookie, those of Options.SecretHeaders...) go to origin
// ("https://example.com", "http://127.0.0.1:8080": scheme, host and port
// count, a path is ignored), as Options.HeaderOrigins does; once any
// origin is listed, fetches that start elsewhere do not send them. It is
// safe to call while fetches are under way.
func (c *Client) AddHeaderOrigin(origin string) error {
	return c.creds.addHeaderOrigin(origin)
}

// setCredentials adds the Authorization header of req's origin to req,
// unless req has one already or user info of its own in its URL.
func (c *Client) setCredentials(req *http.Request) {
	if req.URL.User != nil || req.Header.Get("Authorization") != "" {
		return
	}
	if user := c.creds.lookup(req.URL); user != nil {
		pass, _ := user.Password()
		req.SetBasicAuth(user.Username(), pass)
	}
}

// redactedURL returns u as a string without its user info, as Response and
// Error carry URLs: a password never leaves this package in a URL.
func redactedURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}
