package robots

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxRobotsBytes is how much of a robots.txt is parsed; RFC 9309 2.5 asks
// for at least 500 KiB and allows ignoring the rest.
const maxRobotsBytes = 500 << 10

// utf8BOM is the byte-order mark some editors put at the start of a file.
const utf8BOM = "\xef\xbb\xbf"

// parse reads a 2xx robots.txt (RFC 9309 2.2) and returns the group that
// applies to token, a lowercased product token (nil when no group does, so
// everything is allowed), and the file's Sitemap lines.
//
// The group of token is every group with a User-agent line naming it,
// merged; failing that, every "*" group, merged. A group is one or more
// User-agent lines (blank and other lines between them do not matter) and
// the rules after them, up to the next User-agent line. Rules before the
// first User-agent line belong to no group and are ignored. "#" starts a
// comment anywhere in a line. Lines end with CR, LF or CRLF. A missing
// colon after a known key is forgiven ("Disallow /x"). Unknown keys and
// lines that cannot be read are skipped: RFC 9309 2.2 has crawlers use
// what they can parse.
func parse(body []byte, token string) (*group, []string) {
	if len(body) > maxRobotsBytes {
		body = body[:maxRobotsBytes]
		// Drop the last, cut line: a truncated path could allow too much.
		if i := bytes.LastIndexAny(body, "\r\n"); i >= 0 {
			body = body[:i+1]
		}
	}
	body = trimBOM(body)

	var (
		mine, star         group
		haveMine, haveStar bool // a group names token, or "*"
		inMine, inStar     bool // the current group names token, or "*"
		inGroup            bool // a User-agent line has been seen
		agentLines         bool // the last directive was a User-agent line
		sitemaps           []string
	)
	for len(body) > 0 {
		var line []byte
		line, body = nextLine(body)
		key, value := field(line)
		switch key {
		case "user-agent", "useragent":
			if !agentLines {
				// A User-agent line after rules starts a new group.
				inMine, inStar, agentLines, inGroup = false, false, true, true
			}
			switch agent := tokenOf(value); {
			case agent == "*":
				inStar, haveStar = true, true
			case agent != "" && agent == token:
				inMine, haveMine = true, true
			}
		case "allow", "disallow":
			agentLines = false
			if !inGroup || value == "" {
				continue // outside any group, or an empty rule (matches nothing)
			}
			r := newRule(key == "allow", value)
			if inMine {
				mine.rules = append(mine.rules, r)
			}
			if inStar {
				star.rules = append(star.rules, r)
			}
		case "crawl-delay", "crawldelay":
			agentLines = false
			d, ok := parseDelay(value)
			if !inGroup || !ok {
				continue
			}
			if inMine {
				mine.delay = max(mine.delay, d)
			}
			if inStar {
				star.delay = max(star.delay, d)
			}
		case "sitemap", "site-map":
			if value != "" {
				sitemaps = append(sitemaps, value)
			}
		}
	}
	switch {
	case haveMine:
		return &mine, sitemaps
	case haveStar:
		return &star, sitemaps
	}
	return nil, sitemaps
}

// trimBOM removes a UTF-8 byte-order mark, whole or cut short, from the
// start of body, so that it does not cost the first line.
func trimBOM(body []byte) []byte {
	for i := 0; i < len(utf8BOM) && len(body) > 0 && body[0] == utf8BOM[i]; i++ {
		body = body[1:]
	}
	return body
}

// nextLine splits body after its first line, which ends with CR, LF or
// CRLF (or the end of body), and returns that line without its end.
func nextLine(body []byte) (line, rest []byte) {
	i := bytes.IndexAny(body, "\r\n")
	if i < 0 {
		return body, nil
	}
	line, rest = body[:i], body[i+1:]
	if body[i] == '\r' && len(rest) > 0 && rest[0] == '\n' {
		rest = rest[1:]
	}
	return line, rest
}

// field splits a robots.txt line into its lowercased key and its value,
// without comment or surrounding white space. The key ends at the first
// colon or white space.
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

// parseDelay reads a Crawl-delay value: its first word, a non-negative,
// finite number of seconds. Delays too long for a time.Duration are
// clamped to the longest one (the Cache caps them far lower).
func parseDelay(v string) (time.Duration, bool) {
	if f := strings.Fields(v); len(f) > 0 {
		v = f[0]
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || secs < 0 || math.IsInf(secs, 0) || math.IsNaN(secs) {
		return 0, false
	}
	if secs >= float64(math.MaxInt64)/float64(time.Second) {
		return math.MaxInt64, true
	}
	return time.Duration(secs * float64(time.Second)), true
}
