package fetch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// NetscapeCookie is one cookie of a Netscape cookies.txt file, the format
// of curl -b/-c, wget --load-cookies/--save-cookies and browser export
// extensions.
type NetscapeCookie struct {
	// Domain is the host or domain, lower case, without a leading dot.
	Domain string
	// IncludeSubdomains is true for a domain cookie (sent to Domain and
	// its subdomains), false for a host-only one.
	IncludeSubdomains bool
	// Path is the cookie's path; it starts with "/".
	Path string
	// Secure limits the cookie to https.
	Secure bool
	// HTTPOnly is the "#HttpOnly_" mark of the line.
	HTTPOnly bool
	// Expires is when the cookie expires; zero for a session cookie.
	Expires time.Time
	// Name and Value are the cookie's.
	Name, Value string
}

// maxCookieLine bounds a line of cookies.txt; browsers cap a cookie at
// 4 KiB.
const maxCookieLine = 64 << 10

// ParseNetscapeCookies reads a cookies.txt file: one cookie a line, seven
// fields separated by tabs (domain, include-subdomains TRUE/FALSE, path,
// secure TRUE/FALSE, expiry in Unix seconds with 0 for a session cookie,
// name, value; a line of six has an empty value). A "#HttpOnly_" prefix
// marks an HttpOnly cookie; other lines starting with "#", and blank
// lines, are skipped. A leading dot on the domain makes a domain cookie.
// Its errors name the line, never a cookie's value.
func ParseNetscapeCookies(r io.Reader) ([]NetscapeCookie, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxCookieLine)
	var out []NetscapeCookie
	for n := 1; sc.Scan(); n++ {
		c, ok, err := parseCookieLine(strings.TrimSuffix(sc.Text(), "\r"))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if ok {
			out = append(out, c)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("a line longer than %d bytes", maxCookieLine)
		}
		return nil, err
	}
	return out, nil
}

// parseCookieLine parses one line; ok is false for a comment or blank.
func parseCookieLine(line string) (c NetscapeCookie, ok bool, err error) {
	if rest, found := strings.CutPrefix(line, "#HttpOnly_"); found {
		line, c.HTTPOnly = rest, true
	} else if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
		return c, false, nil
	}
	f := strings.Split(line, "\t")
	switch len(f) {
	case 6:
		f = append(f, "")
	case 7:
	default:
		return c, false, fmt.Errorf("want 7 tab-separated fields, got %d", len(f))
	}
	dom := strings.ToLower(f[0])
	if strings.HasPrefix(dom, ".") {
		dom, c.IncludeSubdomains = dom[1:], true
	}
	if dom == "" || strings.ContainsAny(dom, " /:;,\"\\") {
		return c, false, errors.New("bad domain")
	}
	if u, err := url.Parse("http://" + dom + "/"); err != nil || u.Hostname() != dom {
		return c, false, errors.New("bad domain")
	}
	c.Domain = dom
	sub, err := parseBool(f[1])
	if err != nil {
		return c, false, fmt.Errorf("include-subdomains: %w", err)
	}
	c.IncludeSubdomains = c.IncludeSubdomains || sub
	if c.Path = f[2]; !strings.HasPrefix(c.Path, "/") || strings.ContainsAny(c.Path, " ;") {
		return c, false, errors.New("path must start with /")
	}
	if c.Secure, err = parseBool(f[3]); err != nil {
		return c, false, fmt.Errorf("secure: %w", err)
	}
	exp, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil || exp < 0 || exp > 1<<40 {
		return c, false, errors.New("expiry: want Unix seconds, 0 for a session cookie")
	}
	if exp > 0 {
		c.Expires = time.Unix(exp, 0)
	}
	c.Name, c.Value = f[5], f[6]
	// Valid's errors may quote a byte of the value: ours does not.
	if (&http.Cookie{Name: c.Name, Value: c.Value}).Valid() != nil {
		return c, false, errors.New("bad cookie name or value")
	}
	return c, true, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToUpper(s) {
	case "TRUE":
		return true, nil
	case "FALSE":
		return false, nil
	}
	return false, errors.New("want TRUE or FALSE")
}

// WriteNetscapeCookies writes cookies in the format ParseNetscapeCookies
// reads, after a header comment curl and wget recognize.
func WriteNetscapeCookies(w io.Writer, cookies []NetscapeCookie) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# Netscape HTTP Cookie File\n# Written by crawl. It holds secrets: keep it private.\n\n")
	for _, c := range cookies {
		if c.HTTPOnly {
			bw.WriteString("#HttpOnly_")
		}
		dom := c.Domain
		if c.IncludeSubdomains {
			dom = "." + dom
		}
		var exp int64
		if !c.Expires.IsZero() {
			exp = c.Expires.Unix()
		}
		fmt.Fprintf(bw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", dom, boolField(c.IncludeSubdomains), c.Path,
			boolField(c.Secure), exp, c.Name, c.Value)
	}
	return bw.Flush()
}

func boolField(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// URL is the URL a cookie of c is set from: its host and path, https when
// Secure.
func (c NetscapeCookie) URL() *url.URL {
	scheme := "http"
	if c.Secure {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: c.Domain, Path: c.Path}
}

// LoadCookies puts cookies into jar, each as set by its own host: with a
// Domain attribute when IncludeSubdomains, host-only otherwise, with its
// path, expiry and flags. Cookies expired at now are left out. It returns
// how many it handed to the jar (the jar may still refuse some, by its
// own rules).
func LoadCookies(jar http.CookieJar, cookies []NetscapeCookie, now time.Time) int {
	n := 0
	for _, c := range cookies {
		if !c.Expires.IsZero() && !c.Expires.After(now) {
			continue
		}
		hc := &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Secure: c.Secure,
			HttpOnly: c.HTTPOnly, Expires: c.Expires}
		if c.IncludeSubdomains {
			hc.Domain = c.Domain
		}
		jar.SetCookies(c.URL(), []*http.Cookie{hc})
		n++
	}
	return n
}
