package parse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
)

// utf8BOM is the UTF-8 byte order mark, which the HTML parser would
// otherwise take for text.
const utf8BOM = "\xef\xbb\xbf"

// decode returns body as UTF-8, following the HTML standard's encoding
// sniffing (Content-Type charset, BOM, <meta> prescan, UTF-8 check,
// windows-1252). UTF-8 and pure-ASCII bodies in an ASCII-compatible encoding
// are returned without a copy. queryEnc is the legacy encoding that link
// queries are encoded in, or nil for UTF-8.
func decode(body []byte, contentType string) (text []byte, queryEnc encoding.Encoding, err error) {
	enc, name, _ := charset.DetermineEncoding(body, contentType)
	if name == "utf-8" || asciiCompatible(name) && isASCII(body) {
		return bytes.TrimPrefix(body, []byte(utf8BOM)), nil, nil
	}
	text, err = enc.NewDecoder().Bytes(body)
	if err != nil {
		return nil, nil, fmt.Errorf("parse: decode %s: %w", name, err)
	}
	text = bytes.TrimPrefix(text, []byte(utf8BOM))
	if !asciiCompatible(name) {
		// Browsers encode queries in UTF-8 on UTF-16 pages.
		return text, nil, nil
	}
	return text, enc, nil
}

// asciiCompatible reports whether the encoding named (by its WHATWG name)
// decodes bytes below 0x80 as ASCII with no state, so an all-ASCII body
// needs no decoding.
func asciiCompatible(name string) bool {
	return !strings.HasPrefix(name, "utf-16") && name != "iso-2022-jp" && name != "replacement"
}

// isASCII reports whether b holds only bytes below 0x80, eight at a time.
func isASCII(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b)&0x8080808080808080 != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
