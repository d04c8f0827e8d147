package robots

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	"github.com/temoto/robotstxt"
)

// maxRobotsBytes is how much of a robots.txt is parsed; RFC 9309 2.5 asks
// for at least 500 KiB and allows ignoring the rest.
const maxRobotsBytes = 500 << 10

// parse returns the group of a 2xx robots.txt that applies to token (nil
// if everything is allowed) and its Sitemap lines.
func parse(body []byte, token string) (*robotstxt.Group, []string) {
	if len(body) > maxRobotsBytes {
		body = body[:maxRobotsBytes]
		// Drop the last, cut line: a truncated path could allow too much.
		if i := bytes.LastIndexAny(body, "\r\n"); i >= 0 {
			body = body[:i+1]
		}
	}
	body = bytes.TrimPrefix(body, []byte("\ufeff"))
	data, err := robotstxt.FromBytes(lenient(body))
	if err != nil {
		// lenient removes what the library rejects; should a file still
		// fail, RFC 9309 2.2 has crawlers use what they can parse, and
		// nothing was.
		return nil, nil
	}
	return groupFor(data, token), data.Sitemaps
}

// groupFor returns the group for token: the group named exactly token
// (case-insensitively), else the "*" group. robotstxt.FindGroup also takes
// a group whose name is a prefix of the token ("craw" for "crawl"), which
// RFC 9309 2.2.1 does not; it matches exactly when dropping the token's
// last byte changes its answer.
func groupFor(data *robotstxt.RobotsData, token string) *robotstxt.Group {
	g := data.FindGroup(token)
	if token != "" && data.FindGroup(token[:len(token)-1]) != g {
		return g
	}
	return data.FindGroup("*")
}

// lenient returns body without the lines robotstxt.FromBytes rejects
// outright, failing the whole file: rules and Crawl-delay before any
// User-agent line (RFC 9309 2.2 ignores them), and Crawl-delay values that
// are not non-negative numbers. body is returned as is when there are none.
func lenient(body []byte) []byte {
	var (
		out       []byte
		copied    int // body[:copied] is in out or needs no copy
		seenAgent bool
	)
	for start := 0; start < len(body); {
		end := bytes.IndexAny(body[start:], "\r\n")
		if end < 0 {
			end = len(body)
		} else {
			end += start + 1
		}
		key, value := field(body[start:end])
		drop := false
		switch key {
		case "user-agent", "useragent":
			seenAgent = true
		case "allow", "disallow":
			drop = !seenAgent
		case "crawl-delay", "crawldelay":
			drop = !seenAgent || !validDelay(value)
		}
		if drop {
			if out == nil {
				out = make([]byte, 0, len(body))
			}
			out = append(out, body[copied:start]...)
			copied = end
		}
		start = end
	}
	if out == nil {
		return body
	}
	return append(out, body[copied:]...)
}

// field splits a robots.txt line into its lowercased key and its value,
// without comment, the way the library's scanner does: the key ends at the
// first colon or space.
func field(line []byte) (key, value string) {
	if i := bytes.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	s := strings.TrimSpace(string(line))
	if i := strings.IndexAny(s, ": \t"); i >= 0 {
		key, value = s[:i], strings.TrimSpace(strings.TrimLeft(s[i:], ": \t"))
	} else {
		key = s
	}
	return strings.ToLower(key), value
}

// validDelay reports whether the library accepts a Crawl-delay value: it
// reads the first word as a non-negative, finite number of seconds.
func validDelay(v string) bool {
	if f := strings.Fields(v); len(f) > 0 {
		v = f[0]
	}
	d, err := strconv.ParseFloat(v, 64)
	return err == nil && d >= 0 && !math.IsInf(d, 0) && !math.IsNaN(d)
}
