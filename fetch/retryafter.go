package fetch

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps the wait a Retry-After header can ask for, so that a
// hostile or broken server cannot park a host for days.
const maxRetryAfter = time.Hour

// ParseRetryAfter parses the value of a Retry-After header, either
// delta-seconds ("120") or an HTTP-date, into a wait relative to now,
// clamped to [0, 1h]. It reports false, with a zero duration, for an empty
// or invalid value. A date in the past yields 0 and true.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if isDigits(v) {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs > int64(maxRetryAfter/time.Second) {
			// Only overflow fails here: a huge number is a long wait.
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
