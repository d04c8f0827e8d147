package fetch_test

import (
	"testing"
	"time"

	"github.com/hivecrawl/crawl/fetch"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		v      string
		want   time.Duration
		wantOK bool
	}{
		{"seconds", "120", 2 * time.Minute, true},
		{"zero seconds", "0", 0, true},
		{"spaces", " 5 ", 5 * time.Second, true},
		{"seconds clamped", "86400", time.Hour, true},
		{"seconds overflow", "99999999999999999999999", time.Hour, true},
		{"IMF-fixdate", "Tue, 25 Nov 2025 12:01:30 GMT", 90 * time.Second, true},
		{"RFC 850 date", "Tuesday, 25-Nov-25 12:00:10 GMT", 10 * time.Second, true},
		{"asctime date", "Tue Nov 25 12:00:20 2025", 20 * time.Second, true},
		{"date in the past", "Tue, 25 Nov 2025 11:00:00 GMT", 0, true},
		{"date clamped", "Wed, 26 Nov 2025 12:00:00 GMT", time.Hour, true},
		{"empty", "", 0, false},
		{"negative", "-5", 0, false},
		{"fraction", "1.5", 0, false},
		{"garbage", "soon", 0, false},
		{"bad date", "Tue, 32 Nov 2025 12:00:00 GMT", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := fetch.ParseRetryAfter(tt.v, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
