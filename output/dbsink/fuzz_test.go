package dbsink_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/output/dbsink"
)

// FuzzCheckURL: any string is taken or refused with an error, never a
// panic, and neither the error nor Redact shows the URL's password.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"postgres://u:hunter22@h:5432/d?sslmode=disable", "postgresql://u@h/d?password=hunter22",
		"mysql://u:hunter22@h:3306/d", "mysql://u:hunter22@h/d?socket=/tmp/s", "sqlite:/tmp/x.db",
		"sqlite:", "foo://x", "mysql://u:hunter22@[::1", "postgres://u:hunter22@h:99999/d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := dbsink.CheckURL(raw)
		red := dbsink.Redact(raw)
		u, perr := url.Parse(raw)
		if perr != nil || strings.HasPrefix(raw, "sqlite:") {
			return
		}
		pw, ok := u.User.Password()
		if !ok || len(pw) < 6 || strings.Contains(strings.ReplaceAll(raw, ":"+pw+"@", ""), pw) {
			return // too short to tell apart, or also elsewhere in the URL
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("CheckURL(%q): the error shows the password: %v", raw, err)
		}
		if strings.Contains(red, pw) {
			t.Errorf("Redact(%q) = %q shows the password", raw, red)
		}
	})
}
