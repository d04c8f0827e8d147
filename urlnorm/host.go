package urlnorm

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// appendAuthority appends the canonical host[:port] of auth, the text
// between "//" and the path. User info is dropped.
func appendAuthority(buf []byte, auth string, https bool) ([]byte, error) {
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		auth = auth[at+1:]
	}
	var (
		port string
		err  error
	)
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			return buf, ErrInvalid
		}
		switch after := auth[end+1:]; {
		case after == "":
		case after[0] == ':':
			port = after[1:]
		default:
			return buf, ErrInvalid
		}
		buf, err = appendIPv6(buf, auth[1:end])
	} else {
		host := auth
		if c := strings.LastIndexByte(auth, ':'); c >= 0 {
			host, port = auth[:c], auth[c+1:]
		}
		buf, err = appendHost(buf, host)
	}
	if err != nil {
		return buf, err
	}
	return appendPort(buf, port, https)
}

// appendHost appends the canonical form of a registered name or IPv4
// address: escapes decoded, lower-cased, IDNA-converted, trailing dots
// removed, and restricted to letters, digits, '-', '.' and '_'.
func appendHost(buf []byte, host string) ([]byte, error) {
	i := 0
	for i < len(host) && isHostChar(host[i]) {
		i++
	}
	if i == len(host) && i > 0 && host[i-1] != '.' {
		return append(buf, host...), nil // already canonical
	}
	start := len(buf)
	ascii := true
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c == '%' {
			if i+2 >= len(host) || !isHex(host[i+1]) || !isHex(host[i+2]) {
				return buf, ErrInvalid
			}
			c = unhex(host[i+1])<<4 | unhex(host[i+2])
			i += 2
		}
		switch {
		case c >= utf8.RuneSelf:
			ascii = false
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	if !ascii {
		name := string(buf[start:])
		if !utf8.ValidString(name) {
			return buf, ErrInvalid
		}
		a, err := idna.Lookup.ToASCII(name)
		if err != nil {
			return buf, ErrInvalid
		}
		buf = append(buf[:start], a...)
	}
	for len(buf) > start && buf[len(buf)-1] == '.' {
		buf = buf[:len(buf)-1]
	}
	if len(buf) == start {
		return buf, ErrInvalid
	}
	for _, c := range buf[start:] {
		if !isHostChar(c) {
			return buf, ErrInvalid
		}
	}
	return buf, nil
}

// isHostChar reports the bytes allowed in a canonical host name.
func isHostChar(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_'
}

// appendIPv6 appends "[addr]" in RFC 5952 form. Zones are not accepted: they
// mean nothing outside the machine that wrote them.
func appendIPv6(buf []byte, s string) ([]byte, error) {
	if strings.IndexByte(s, '%') >= 0 {
		return buf, ErrInvalid
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return buf, ErrInvalid
	}
	buf = append(buf, '[')
	buf = a.AppendTo(buf)
	return append(buf, ']'), nil
}

// appendPort appends ":port" unless port is empty or the scheme's default.
func appendPort(buf []byte, port string, https bool) ([]byte, error) {
	if port == "" {
		return buf, nil
	}
	v := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return buf, ErrInvalid
		}
		v = v*10 + int(c-'0')
		if v > 65535 {
			return buf, ErrInvalid
		}
	}
	if https && v == 443 || !https && v == 80 {
		return buf, nil
	}
	buf = append(buf, ':')
	return strconv.AppendInt(buf, int64(v), 10), nil
}
