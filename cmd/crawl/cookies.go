package main

import (
	"cmp"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hivecrawl/crawl/fetch"
)

// savingJar is a cookie jar that can list its cookies, for
// --save-cookies: net/http/cookiejar cannot. It records each cookie a
// response set (and --cookies loaded) as the jar stored it, with the
// domain, path and expiry it got by RFC 6265's rules, once the jar shows
// it stored it: a cookie the jar refused (a Domain another host's, say)
// is never recorded, and one it replaced or deleted is dropped. Recording
// what SetCookies received, rather than asking the jar for the cookies of
// the URLs the crawl visited, keeps the domain, path and expiry that
// jar.Cookies does not return.
type savingJar struct {
	jar *cookiejar.Jar

	// mu serializes SetCookies, so that the jar's state and kept agree.
	mu   sync.Mutex
	kept map[cookieKey]fetch.NetscapeCookie
}

// cookieKey identifies a cookie in a jar, as RFC 6265 does.
type cookieKey struct{ domain, path, name string }

func newSavingJar(jar *cookiejar.Jar) *savingJar {
	return &savingJar{jar: jar, kept: make(map[cookieKey]fetch.NetscapeCookie)}
}

// Cookies returns the jar's cookies for u.
func (j *savingJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// SetCookies hands cookies to the jar and records those it stored.
func (j *savingJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.jar.SetCookies(u, cookies)
	now := time.Now()
	for _, c := range cookies {
		nc := netscapeOf(u, c, now)
		k := cookieKey{nc.Domain, nc.Path, nc.Name}
		if j.holds(nc) {
			j.kept[k] = nc
		} else {
			delete(j.kept, k)
		}
	}
}

// holds reports whether the jar sends c, with its value, to c's own URL.
func (j *savingJar) holds(c fetch.NetscapeCookie) bool {
	for _, got := range j.jar.Cookies(c.URL()) {
		if got.Name == c.Name && got.Value == c.Value {
			return true
		}
	}
	return false
}

// netscapeOf is c as the jar stores it when set by a response from u.
func netscapeOf(u *url.URL, c *http.Cookie, now time.Time) fetch.NetscapeCookie {
	nc := fetch.NetscapeCookie{
		Domain: strings.ToLower(u.Hostname()), Path: c.Path,
		Secure: c.Secure, HTTPOnly: c.HttpOnly, Name: c.Name, Value: c.Value,
	}
	if d := strings.TrimPrefix(strings.ToLower(c.Domain), "."); d != "" {
		nc.Domain, nc.IncludeSubdomains = d, true
	}
	if !strings.HasPrefix(nc.Path, "/") {
		// RFC 6265 5.1.4: the default path is the request path's directory.
		nc.Path = "/"
		if i := strings.LastIndex(u.Path, "/"); i > 0 {
			nc.Path = u.Path[:i]
		}
	}
	switch {
	case c.MaxAge > 0:
		nc.Expires = now.Add(time.Duration(c.MaxAge) * time.Second).Truncate(time.Second)
	case !c.Expires.IsZero():
		nc.Expires = c.Expires
	}
	return nc
}

// list returns the cookies the jar still holds, sorted by domain, path
// and name.
func (j *savingJar) list() []fetch.NetscapeCookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []fetch.NetscapeCookie
	for _, c := range j.kept {
		if j.holds(c) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b fetch.NetscapeCookie) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// save writes the jar's cookies to name in Netscape format, mode 0600,
// replacing the file whole.
func (j *savingJar) save(name string) error {
	f, err := os.CreateTemp(filepath.Dir(name), ".cookies-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := fetch.WriteNetscapeCookies(f, j.list()); err != nil {
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

// loadCookiesFile reads a cookies.txt file into jar. Its errors name the
// file and the line, never a cookie's value.
func loadCookiesFile(jar http.CookieJar, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	cookies, err := fetch.ParseNetscapeCookies(f)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	fetch.LoadCookies(jar, cookies, time.Now())
	return nil
}
