package proxy

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		raw     string
		want    string // the URL's String, or "" for an error
		wantErr string // part of the error
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"  HTTP://proxy.example:3128/ ", "http://proxy.example:3128", ""},
		{"https://u:p@proxy.example", "https://u:p@proxy.example", ""},
		{"socks5://alice:s3cret@[::1]:1080", "socks5://alice:s3cret@[::1]:1080", ""},
		{"socks5h://10.0.0.1:1080", "socks5h://10.0.0.1:1080", ""},
		{"ftp://x", "", "scheme ftp is not http"},
		{"ftp://u:s3cret@x", "", "scheme ftp"},
		{"proxy.example:8080", "", "no scheme"},
		{"alice:s3cret@proxy.example:8080", "", "no scheme"},
		{"http://", "", "no host"},
		{"http://:8080", "", "no host"},
		{"http://h:0", "", "bad port"},
		{"http://h:70000", "", "bad port"},
		{"http://h:", "", "empty port"},
		{"http://h/path", "", "no path"},
		{"http://h/?q", "", "no path"},
		{"http://h#f", "", "no path"},
		{"http://:s3cret@h", "", "without a user name"},
		{"http://u:s3cret@h:bad", "", "not a URL"},
		{"http://u:s3cret@h\x7f", "", "not a URL"},
		{"", "", "no scheme"},
	}
	for _, tt := range tests {
		u, err := Parse(tt.raw)
		switch {
		case tt.want != "" && err != nil:
			t.Errorf("Parse(%q): %v", tt.raw, err)
		case tt.want != "" && u.String() != tt.want:
			t.Errorf("Parse(%q) = %s, want %s", tt.raw, u, tt.want)
		case tt.want == "" && err == nil:
			t.Errorf("Parse(%q) = %s, want an error", tt.raw, u)
		case tt.want == "" && !strings.Contains(err.Error(), tt.wantErr):
			t.Errorf("Parse(%q): %v, want %q", tt.raw, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Parse(%q): error shows the password: %v", tt.raw, err)
		}
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		wantErr  string
	}{
		{"urls, comments, blanks", "# proxies\n\nhttp://a:1\n  socks5://u:p@b:2  \r\n#http://c:3\n", []string{"http://a:1", "socks5://u:p@b:2"}, ""},
		{"bad line named", "http://a:1\n\nftp://u:s3cret@b\n", nil, "line 3: proxy"},
		{"empty", "\n# none\n", nil, "no proxy URL"},
		{"too long a line", "http://a:1\n" + strings.Repeat("x", 70_000), nil, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseList(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, u := range got {
				s = append(s, u.String())
			}
			if strings.Join(s, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	u, err := Parse("socks5://alice:s3cret@127.0.0.1:1080")
	if err != nil {
		t.Fatal(err)
	}
	if got := Redact(u); got != "socks5://127.0.0.1:1080" {
		t.Errorf("Redact = %q", got)
	}
}

// FuzzParseList: no input makes ParseList panic; every URL it returns
// parses again to itself; an error never shows a password from the input.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"http://a:1\n# c\n\nsocks5://u:p@b:2\n",
		"https://user:pw@[::1]:443/\n",
		"ftp://x\n", "http://h:99999", "socks5h://h", "http://u:pw@h:bad\n", "\xff\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		urls, err := ParseList(strings.NewReader(in))
		if err != nil {
			if urls != nil {
				t.Fatalf("URLs and an error")
			}
			for _, line := range strings.Split(in, "\n") {
				// A password that Parse would have seen as one.
				if i := strings.Index(line, "://"); i >= 0 {
					auth := line[i+3:]
					if j := strings.IndexAny(auth, "/?#"); j >= 0 {
						auth = auth[:j]
					}
					if at := strings.LastIndex(auth, "@"); at >= 0 {
						if _, pw, ok := strings.Cut(auth[:at], ":"); ok && len(pw) >= 6 && strings.Contains(err.Error(), pw) {
							t.Fatalf("error %q shows password %q", err, pw)
						}
					}
				}
			}
			return
		}
		if len(urls) == 0 {
			t.Fatal("no URL and no error")
		}
		for _, u := range urls {
			again, err := Parse(u.String())
			if err != nil || again.String() != u.String() {
				t.Fatalf("%s parses again as %v, %v", u, again, err)
			}
		}
	})
}
