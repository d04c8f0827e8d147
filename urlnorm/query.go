package urlnorm

import (
	"bytes"
	"slices"
	"strings"
)

// trackingParams is the list TrackingParams returns; trackingParam must
// match exactly these (a test ties them together).
var trackingParams = [...]string{
	// Campaign tags (Google Analytics and everyone since).
	"utm_*",
	// Ad click identifiers: Google Ads (gclid, gclsrc, dclid, gbraid,
	// wbraid), Facebook, Microsoft Ads, Yandex, Twitter/X, TikTok,
	// Instagram shares.
	"gclid", "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid",
	"yclid", "twclid", "ttclid", "igshid",
	// Mailchimp, HubSpot and Marketo e-mail tracking.
	"mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok",
	// Google Analytics cross-domain linkers.
	"_ga", "_gl",
	// Server session identifiers (Java servlets, PHP, generic).
	"jsessionid", "phpsessid", "sessionid",
}

// TrackingParams returns the query parameters every Normalizer removes
// unless told to keep them (Normalizer.KeepParams), matched ASCII
// case-insensitively; "utm_*" stands for every name starting with
// "utm_". They identify a click, a campaign, an e-mail or a session, never
// the content of a page:
//
//	utm_*
//	gclid gclsrc dclid gbraid wbraid fbclid msclkid yclid twclid ttclid igshid
//	mc_cid mc_eid _hsenc _hsmi mkt_tok
//	_ga _gl
//	jsessionid phpsessid sessionid
//
// Names that some sites use for content are left out on purpose: sid,
// ref, source, session, s, id. The slice is the caller's.
func TrackingParams() []string { return slices.Clone(trackingParams[:]) }

// trackingParam reports whether the canonical parameter name key is in
// TrackingParams. It allocates nothing.
func trackingParam(key []byte) bool {
	if len(key) >= 4 && key[0]|0x20 == 'u' && key[1]|0x20 == 't' && key[2]|0x20 == 'm' && key[3] == '_' {
		return true
	}
	if len(key) < 3 || len(key) > 10 {
		return false
	}
	var lower [10]byte
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(key)]) {
	case "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid",
		"yclid", "twclid", "ttclid", "igshid",
		"mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok",
		"_ga", "_gl",
		"jsessionid", "phpsessid", "sessionid":
		return true
	}
	return false
}

// strip reports whether the parameter named key (canonical form) is
// removed.
func (n *Normalizer) strip(key []byte) bool {
	if !trackingParam(key) && !matchAny(n.StripParams, key, false) {
		return false
	}
	return !matchAny(n.KeepParams, key, true)
}

// matchAny reports whether key matches one of the names or prefixes
// ("name*") in list.
func matchAny(list []string, key []byte, fold bool) bool {
	for _, p := range list {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if len(key) >= len(prefix) && equal(key[:len(prefix)], prefix, fold) {
				return true
			}
		} else if equal(key, p, fold) {
			return true
		}
	}
	return false
}

func equal(b []byte, s string, fold bool) bool {
	if fold {
		return len(b) == len(s) && strings.EqualFold(string(b), s)
	}
	return string(b) == s
}

// param locates one parameter written into a buffer: its name is
// buf[start:keyEnd], the whole "name=value" buf[start:end].
type param struct{ start, keyEnd, end int }

// appendQuery appends '?' and the normalized parameters of q, or nothing
// when no parameter is left.
func (n *Normalizer) appendQuery(buf []byte, q string) []byte {
	qStart := len(buf)
	buf = append(buf, '?')
	var stack [16]param
	params := stack[:0]
	sorted := true
	for q != "" {
		piece := q
		if i := strings.IndexByte(q, '&'); i >= 0 {
			piece, q = q[:i], q[i+1:]
		} else {
			q = ""
		}
		if piece == "" {
			continue
		}
		mark := len(buf)
		if len(params) > 0 {
			buf = append(buf, '&')
		}
		key, val, hasVal := strings.Cut(piece, "=")
		keyStart := len(buf)
		buf = appendEscaped(buf, key, false)
		if n.strip(buf[keyStart:]) {
			buf = buf[:mark]
			continue
		}
		p := param{start: keyStart, keyEnd: len(buf)}
		if hasVal {
			buf = append(buf, '=')
			buf = appendEscaped(buf, val, false)
		}
		p.end = len(buf)
		if sorted && len(params) > 0 {
			last := params[len(params)-1]
			sorted = bytes.Compare(buf[last.start:last.keyEnd], buf[p.start:p.keyEnd]) <= 0
		}
		params = append(params, p)
	}
	switch {
	case len(params) == 0:
		return buf[:qStart]
	case !sorted && !n.KeepQueryOrder:
		return sortParams(buf, params)
	}
	return buf
}

// sortParams rewrites the parameters in buf, which end the buffer and are
// separated by '&', in the stable order of their names.
func sortParams(buf []byte, params []param) []byte {
	cmp := func(a, b param) int {
		return bytes.Compare(buf[a.start:a.keyEnd], buf[b.start:b.keyEnd])
	}
	if len(params) <= 16 {
		// Insertion sort: stable, and no allocation for the usual few.
		for i := 1; i < len(params); i++ {
			for j := i; j > 0 && cmp(params[j-1], params[j]) > 0; j-- {
				params[j-1], params[j] = params[j], params[j-1]
			}
		}
	} else {
		slices.SortStableFunc(params, cmp)
	}
	// Copy the parameters past the end, then write them back in order.
	first, end := params[0].start, len(buf)
	for _, p := range params {
		first = min(first, p.start)
	}
	buf = append(buf, buf[first:end]...)
	shift := end - first
	w := first
	for i, p := range params {
		if i > 0 {
			buf[w] = '&'
			w++
		}
		w += copy(buf[w:], buf[p.start+shift:p.end+shift])
	}
	return buf[:end]
}

// sessionParam is the path parameter Java servlet containers append to
// URLs for clients without cookies.
const sessionParam = ";jsessionid="

// removeSessionParam removes ";jsessionid=..." path parameters (name
// ASCII case-insensitive, value up to the next ';' or '/') from the path
// in buf[pathStart:], unless KeepParams keeps jsessionid.
func (n *Normalizer) removeSessionParam(buf []byte, pathStart int) []byte {
	if matchAny(n.KeepParams, []byte("jsessionid"), true) {
		return buf
	}
	for i := pathStart; i+len(sessionParam) <= len(buf); {
		j := bytes.IndexByte(buf[i:], ';')
		if j < 0 {
			break
		}
		i += j
		if i+len(sessionParam) > len(buf) || !strings.EqualFold(string(buf[i:i+len(sessionParam)]), sessionParam) {
			i++
			continue
		}
		end := i + len(sessionParam)
		for end < len(buf) && buf[end] != ';' && buf[end] != '/' {
			end++
		}
		buf = append(buf[:i], buf[end:]...)
	}
	return buf
}
