package session

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/hivecrawl/crawl/fetch"
)

// Store keeps a jar's cookies where another run, or another process,
// finds them. Its methods are called with the Jar's lock held, one at a
// time per Jar; a Store shared by several processes must be safe for that.
type Store interface {
	// Load returns every cookie stored.
	Load(ctx context.Context) ([]fetch.NetscapeCookie, error)
	// Update stores the cookies of set, each replacing the one with its
	// domain, path and name, and removes those of del.
	Update(ctx context.Context, set, del []fetch.NetscapeCookie) error
}

// Options configures a Jar. The zero value is a jar kept in memory only.
type Options struct {
	// Store, when not nil, is where the jar writes each change it makes
	// (a cookie set, replaced or deleted) before SetCookies returns, and
	// what Load and Refresh read.
	Store Store
	// StoreTimeout bounds each write to Store from SetCookies, which has
	// no context of its own. Zero means 5s.
	StoreTimeout time.Duration
	// OnError, when not nil, is told when a write to Store fails; the
	// cookie is still kept in memory. Its error names no cookie value.
	OnError func(error)
}

// Jar is an http.CookieJar that follows RFC 6265 (net/http/cookiejar with
// the public suffix list) and records what it holds, with the domain,
// path and expiry the rules gave each cookie, so it can list them and keep
// them in a Store. It is safe for concurrent use.
type Jar struct {
	opts Options
	jar  *cookiejar.Jar

	// mu serializes changes, so that the jar, kept and the store agree.
	mu   sync.Mutex
	kept map[key]fetch.NetscapeCookie
	// synced is what the Store held when this jar last wrote or read it,
	// so that Load tells a cookie another process deleted from one this
	// jar could not store.
	synced map[key]fetch.NetscapeCookie
}

// key identifies a cookie in a jar, as RFC 6265 does.
type key struct{ domain, path, name string }

func keyOf(c fetch.NetscapeCookie) key { return key{c.Domain, c.Path, c.Name} }

// New returns an empty Jar. Call Load to fill it from its Store.
func New(opts Options) (*Jar, error) {
	inner, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		return nil, fmt.Errorf("session: cookie jar: %w", err)
	}
	if opts.StoreTimeout <= 0 {
		opts.StoreTimeout = 5 * time.Second
	}
	return &Jar{opts: opts, jar: inner, kept: make(map[key]fetch.NetscapeCookie), synced: make(map[key]fetch.NetscapeCookie)}, nil
}

// Cookies returns the cookies to send to u.
func (j *Jar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// SetCookies hands the cookies a response from u set to the jar, records
// those it stored (a cookie the rules refuse, such as one for another
// site's domain, is not) and writes the changes to the Store.
func (j *Jar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.jar.SetCookies(u, cookies)
	now := time.Now()
	var set, del []fetch.NetscapeCookie
	for _, c := range cookies {
		nc := netscapeOf(u, c, now)
		k := keyOf(nc)
		old, had := j.kept[k]
		switch {
		case j.holds(nc):
			if !had || old != nc {
				j.kept[k] = nc
				set = append(set, nc)
			}
		case had:
			delete(j.kept, k)
			del = append(del, old)
		}
	}
	j.store(set, del)
}

// store writes a change to the Store, if there is one and a change.
func (j *Jar) store(set, del []fetch.NetscapeCookie) {
	if j.opts.Store == nil || len(set)+len(del) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.StoreTimeout)
	defer cancel()
	if err := j.opts.Store.Update(ctx, set, del); err != nil {
		if j.opts.OnError != nil {
			j.opts.OnError(fmt.Errorf("session: keep cookies: %w", err))
		}
		return
	}
	for _, c := range set {
		j.synced[keyOf(c)] = c
	}
	for _, c := range del {
		delete(j.synced, keyOf(c))
	}
}

// holds reports whether the jar sends c, with its value, to c's own URL.
func (j *Jar) holds(c fetch.NetscapeCookie) bool {
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

// List returns the cookies the jar still holds (none expired), sorted by
// domain, path and name.
func (j *Jar) List() []fetch.NetscapeCookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []fetch.NetscapeCookie
	for _, c := range j.kept {
		if j.holds(c) {
			out = append(out, c)
		}
	}
	sortCookies(out)
	return out
}

// sortCookies sorts cookies by domain, path and name.
func sortCookies(cookies []fetch.NetscapeCookie) {
	slices.SortFunc(cookies, func(a, b fetch.NetscapeCookie) int {
		return cmp.Or(cmp.Compare(a.Domain, b.Domain), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Name, b.Name))
	})
}

// Add puts cookies into the jar as if their own hosts had set them (see
// fetch.LoadCookies), and into the Store, except those the jar already
// holds a cookie of the same domain, path and name for (restored from the
// Store, so set since); cookies expired at now are left out. It is how a
// cookies.txt file given by the user is loaded.
func (j *Jar) Add(cookies []fetch.NetscapeCookie, now time.Time) {
	j.mu.Lock()
	var add []fetch.NetscapeCookie
	for _, c := range cookies {
		if _, held := j.kept[keyOf(c)]; !held {
			add = append(add, c)
		}
	}
	j.mu.Unlock()
	fetch.LoadCookies(j, add, now)
}

// Load reads the Store and makes the jar hold what it holds: stored
// cookies the jar lacks or holds with another value are set, and cookies
// the jar got from the Store before but the Store no longer has are
// dropped. Cookies the jar holds that it could not store stay. Load
// writes nothing back to the Store. It returns how many cookies changed. A Jar
// without a Store loads nothing.
func (j *Jar) Load(ctx context.Context) (int, error) {
	if j.opts.Store == nil {
		return 0, nil
	}
	stored, err := j.opts.Store.Load(ctx)
	if err != nil {
		return 0, fmt.Errorf("session: load cookies: %w", err)
	}
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	in := make(map[key]bool, len(stored))
	changed := 0
	for _, c := range stored {
		k := keyOf(c)
		in[k] = true
		j.synced[k] = c
		if old, ok := j.kept[k]; ok && old == c {
			continue
		}
		if fetch.LoadCookies(j.jar, []fetch.NetscapeCookie{c}, now) == 0 || !j.holds(c) {
			continue // expired, or refused by the rules
		}
		j.kept[k] = c
		changed++
	}
	for k, c := range j.synced {
		if in[k] {
			continue
		}
		delete(j.synced, k)
		if j.kept[k] != c {
			continue // this jar's own value, not the one deleted
		}
		// Another process deleted it: delete it here too, by expiring it.
		gone := &http.Cookie{Name: c.Name, Path: c.Path, MaxAge: -1}
		if c.IncludeSubdomains {
			gone.Domain = c.Domain
		}
		j.jar.SetCookies(c.URL(), []*http.Cookie{gone})
		delete(j.kept, k)
		changed++
	}
	return changed, nil
}

// Refresh calls Load every interval until ctx ends, so that cookies other
// processes store reach this jar; errors go to Options.OnError. It is for
// a Store shared by a fleet.
func (j *Jar) Refresh(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := j.Load(ctx); err != nil && ctx.Err() == nil && j.opts.OnError != nil {
				j.opts.OnError(err)
			}
		}
	}
}
