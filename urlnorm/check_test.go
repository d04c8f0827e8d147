package urlnorm

import (
	"strings"
	"testing"
)

func TestCheckCanonical(t *testing.T) {
	tests := []struct {
		s    string
		want string // "" for canonical, else part of the error
	}{
		{"https://example.com/a?b=1", ""},
		{"HTTPS://example.com/a", "not idempotent"},
		{"https://example.com/a?b=2&a=1", "not idempotent"},
		{"https://example.com/a#frag", "not idempotent"},
		{"ftp://example.com/", "not canonical"},
		{"https://example.com/" + strings.Repeat("a", 3000), "not canonical"},
	}
	for _, tt := range tests {
		var n Normalizer
		err := n.CheckCanonical(tt.s)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckCanonical(%q) = %v, want nil", tt.s, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckCanonical(%.60q) = %v, want an error saying %q", tt.s, err, tt.want)
		}
	}
}
