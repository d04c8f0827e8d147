package parse

import (
	"bytes"
	"net/http"
	"strings"
)

// IsHTML reports whether a response is an HTML page worth parsing:
// contentType (the Content-Type header; parameters and case are ignored) is
// text/html or application/xhtml+xml, or, when contentType is empty, the
// body sniffs as text/html (http.DetectContentType). A body that starts
// with the signature of a common binary format (PDF, PNG, JPEG, GIF, WebP,
// gzip, zip) is never HTML, whatever the header says: servers mislabel
// binaries.
func IsHTML(contentType string, body []byte) bool {
	if isBinary(body) {
		return false
	}
	if strings.TrimSpace(contentType) == "" {
		contentType = http.DetectContentType(body)
	}
	mediaType, _, _ := strings.Cut(contentType, ";")
	mediaType = strings.TrimSpace(mediaType)
	return strings.EqualFold(mediaType, "text/html") || strings.EqualFold(mediaType, "application/xhtml+xml")
}

// isBinary reports whether body starts with a binary file signature.
func isBinary(body []byte) bool {
	for _, magic := range [...]string{
		"%PDF-",
		"\x89PNG\r\n\x1a\n",
		"\xff\xd8\xff",
		"GIF87a",
		"GIF89a",
		"\x1f\x8b",   // gzip (a compressed body without Content-Encoding)
		"PK\x03\x04", // zip, docx, xlsx, jar
	} {
		if bytes.HasPrefix(body, []byte(magic)) {
			return true
		}
	}
	return len(body) >= 12 && string(body[:4]) == "RIFF" && string(body[8:12]) == "WEBP"
}
