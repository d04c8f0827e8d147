package parse

import "testing"

func TestIsHTML(t *testing.T) {
	const page = "<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>"
	tests := []struct {
		name, contentType, body string
		want                    bool
	}{
		{"text/html", "text/html", page, true},
		{"params and case", "Text/HTML; Charset=UTF-8", page, true},
		{"spaces", "  text/html ; charset=utf-8", page, true},
		{"xhtml", "application/xhtml+xml", page, true},
		{"xhtml upper", "APPLICATION/XHTML+XML; charset=utf-8", page, true},
		{"empty body", "text/html", "", true},
		{"sniffed html", "", page, true},
		{"sniffed html lower", "", "<html><body>x", true},
		{"sniffed text", "", "just some text", false},
		{"sniffed pdf", "", "%PDF-1.7\n...", false},
		{"sniffed empty", "", "", false},
		{"octet-stream", "application/octet-stream", page, false},
		{"image", "image/png", page, false},
		{"pdf", "application/pdf", "%PDF-1.4", false},
		{"plain text", "text/plain", page, false},
		{"xml", "text/xml", page, false},
		{"json", "application/json", `{"a":1}`, false},
		{"html prefix of another type", "text/html5", page, false},
		{"mislabeled pdf", "text/html", "%PDF-1.4\n%\xe2\xe3\xcf\xd3", false},
		{"mislabeled png", "text/html", "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", false},
		{"mislabeled jpeg", "text/html; charset=utf-8", "\xff\xd8\xff\xe0\x00\x10JFIF", false},
		{"mislabeled gif87", "text/html", "GIF87a\x01\x00", false},
		{"mislabeled gif89", "text/html", "GIF89a\x01\x00", false},
		{"mislabeled webp", "text/html", "RIFF\x24\x00\x00\x00WEBPVP8 ", false},
		{"mislabeled gzip", "text/html", "\x1f\x8b\x08\x00", false},
		{"mislabeled zip", "text/html", "PK\x03\x04\x14\x00", false},
		{"pdf magic later is fine", "text/html", "<p>%PDF-</p>", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsHTML(tt.contentType, []byte(tt.body)); got != tt.want {
				t.Errorf("IsHTML(%q, %q) = %v, want %v", tt.contentType, tt.body, got, tt.want)
			}
		})
	}
}
