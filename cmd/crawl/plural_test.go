package main

import "testing"

func TestPlural(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{{0, "requests"}, {1, "request"}, {2, "requests"}} {
		if got := plural(tt.n, "request", "requests"); got != tt.want {
			t.Errorf("plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
