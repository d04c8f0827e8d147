package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
)

// Parse checks a proxy URL: scheme http, https, socks5 or socks5h, a host,
// an optional port (1 to 65535; the scheme's default when absent), an
// optional user:pass@, and nothing else (no path but "/", no query, no
// fragment). Its errors never show the password.
func Parse(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	shown := redactRaw(raw)
	if !strings.Contains(raw, "://") {
		// "user:pass@host" would parse as the scheme "user".
		return nil, fmt.Errorf("proxy %q: no scheme (want http://, https://, socks5:// or socks5h://)", shown)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's error would quote raw, password included.
		return nil, fmt.Errorf("proxy %q: not a URL", shown)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "socks5", "socks5h":
		u.Scheme = strings.ToLower(u.Scheme)
	case "":
		return nil, fmt.Errorf("proxy %q: no scheme (want http://, https://, socks5:// or socks5h://)", shown)
	default:
		return nil, fmt.Errorf("proxy %q: scheme %s is not http, https, socks5 or socks5h", shown, u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Errorf("proxy %q: no host", shown)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("proxy %q: bad port %q", shown, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Errorf("proxy %q: empty port", shown)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("proxy %q: a proxy URL has no path, query or fragment", shown)
	}
	if u.User != nil && u.User.Username() == "" {
		return nil, fmt.Errorf("proxy %q: credentials without a user name", shown)
	}
	u.Path, u.RawPath = "", ""
	return u, nil
}

// ParseList reads proxy URLs, one a line; blank lines and lines starting
// with # are skipped, and so are spaces around a URL. It returns the
// first bad line's error, naming its number, and an error when the list
// holds no URL.
func ParseList(r io.Reader) ([]*url.URL, error) {
	var out []*url.URL
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		u, err := Parse(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, u)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("proxy list: %w", err)
	}
	if len(out) == 0 {
		return nil, errNoProxy
	}
	return out, nil
}

var errNoProxy = errors.New("proxy list: no proxy URL in it")

// Redact names a proxy without its credentials: scheme://host:port. It is
// the only form a Pool logs, returns in errors or passes to its Observer.
func Redact(u *url.URL) string {
	if u == nil {
		return "(no proxy)"
	}
	return u.Scheme + "://" + u.Host
}

// redactRaw hides the user info of a string that may not parse as a URL:
// whatever precedes the last @ of its authority.
func redactRaw(raw string) string {
	rest := raw
	prefix := ""
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, rest = raw[:i+3], raw[i+3:]
	}
	authority, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		authority = "xxxxx@" + authority[i+1:]
	}
	return prefix + authority + path
}
