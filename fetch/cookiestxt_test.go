package fetch_test

import (
	"bytes"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/hivecrawl/crawl/fetch"
)

// TestParseNetscapeCookies checks the fields, the HttpOnly mark, comments,
// blank lines, CRLF and a six-field line, and that bad lines are errors
// naming the line and never the value.
func TestParseNetscapeCookies(t *testing.T) {
	tests := []struct {
		name, in string
		want     []fetch.NetscapeCookie
		err      string
	}{
		{"empty", "", nil, ""},
		{"comments and blanks", "# Netscape HTTP Cookie File\n\n   \n#x\tTRUE\n", nil, ""},
		{"host-only", "example.com\tFALSE\t/\tFALSE\t0\tsid\tabc\n",
			[]fetch.NetscapeCookie{{Domain: "example.com", Path: "/", Name: "sid", Value: "abc"}}, ""},
		{"domain, secure, expiry, CRLF", ".Example.com\tTRUE\t/app\tTRUE\t2000000000\ta\tb\r\n",
			[]fetch.NetscapeCookie{{Domain: "example.com", IncludeSubdomains: true, Path: "/app", Secure: true,
				Expires: time.Unix(2000000000, 0), Name: "a", Value: "b"}}, ""},
		{"httponly", "#HttpOnly_127.0.0.1\tfalse\t/\tfalse\t0\ta\tb",
			[]fetch.NetscapeCookie{{Domain: "127.0.0.1", Path: "/", HTTPOnly: true, Name: "a", Value: "b"}}, ""},
		{"six fields", "h\tFALSE\t/\tFALSE\t0\tempty",
			[]fetch.NetscapeCookie{{Domain: "h", Path: "/", Name: "empty"}}, ""},
		{"too few fields", "# c\nh\tFALSE\t/\tFALSE\ts3cret", nil, "line 2: want 7"},
		{"spaces not tabs", "h FALSE / FALSE 0 a s3cret", nil, "line 1: want 7"},
		{"bad flag", "h\tyes\t/\tFALSE\t0\ta\ts3cret", nil, "line 1: include-subdomains"},
		{"bad secure", "h\tFALSE\t/\t1\t0\ta\ts3cret", nil, "line 1: secure"},
		{"bad expiry", "h\tFALSE\t/\tFALSE\tsoon\ta\ts3cret", nil, "line 1: expiry"},
		{"negative expiry", "h\tFALSE\t/\tFALSE\t-1\ta\ts3cret", nil, "line 1: expiry"},
		{"bad path", "h\tFALSE\tapp\tFALSE\t0\ta\ts3cret", nil, "line 1: path"},
		{"bad domain", "h/x\tFALSE\t/\tFALSE\t0\ta\ts3cret", nil, "line 1: bad domain"},
		{"empty domain", "\tFALSE\t/\tFALSE\t0\ta\ts3cret", nil, "line 1: bad domain"},
		{"empty name", "h\tFALSE\t/\tFALSE\t0\t\ts3cret", nil, "line 1: bad cookie"},
		{"bad value", "h\tFALSE\t/\tFALSE\t0\ta\ts3cret\x01", nil, "line 1: bad cookie"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fetch.ParseNetscapeCookies(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error %v, want one with %q and no value", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestLoadCookies loads a file into a jar and checks that domain, path,
// secure and expiry are honoured: expired cookies are dropped, host-only
// ones stay off subdomains, secure ones off http.
func TestLoadCookies(t *testing.T) {
	file := "example.com\tFALSE\t/\tFALSE\t0\thost\t1\n" +
		".example.com\tTRUE\t/\tFALSE\t0\tdom\t2\n" +
		"example.com\tFALSE\t/app\tFALSE\t0\tapp\t3\n" +
		"example.com\tFALSE\t/\tTRUE\t0\tsec\t4\n" +
		"example.com\tFALSE\t/\tFALSE\t1000\told\t5\n" +
		"example.com\tFALSE\t/\tFALSE\t4000000000\tlater\t6\n"
	cookies, err := fetch.ParseNetscapeCookies(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		t.Fatal(err)
	}
	if n := fetch.LoadCookies(jar, cookies, time.Now()); n != 5 {
		t.Errorf("loaded %d, want 5 (one expired)", n)
	}
	tests := []struct{ url, want string }{
		{"http://example.com/", "dom host later"},
		{"https://example.com/app/x", "app dom host later sec"},
		{"http://www.example.com/app", "dom"},
		{"http://example.org/", ""},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		var names []string
		for _, c := range jar.Cookies(u) {
			names = append(names, c.Name)
		}
		slices.Sort(names)
		if got := strings.Join(names, " "); got != tt.want {
			t.Errorf("%s: cookies %q, want %q", tt.url, got, tt.want)
		}
	}
}

// FuzzParseNetscapeCookies checks that the parser never panics, that its
// errors never show a value, and that what it accepts survives a write
// and a parse unchanged.
func FuzzParseNetscapeCookies(f *testing.F) {
	f.Add("example.com\tFALSE\t/\tFALSE\t0\tsid\tabc\n")
	f.Add("#HttpOnly_.a.b\tTRUE\t/x\tTRUE\t2000000000\ta\tb\r\n# c\n\n")
	f.Add("h\tFALSE\t/\tFALSE\t0\tempty")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := fetch.ParseNetscapeCookies(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := fetch.WriteNetscapeCookies(&buf, got); err != nil {
			t.Fatal(err)
		}
		again, err := fetch.ParseNetscapeCookies(&buf)
		if err != nil {
			t.Fatalf("written cookies do not parse: %v\n%s", err, buf.String())
		}
		if len(again) != len(got) || (len(got) > 0 && !reflect.DeepEqual(again, got)) {
			t.Fatalf("round trip changed\n%+v\n%+v", got, again)
		}
	})
}
