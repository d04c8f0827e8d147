package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/urlnorm"
)

// TestExpandInputs checks how seeds, --input files and standard input
// combine: "-" is replaced by stdin's URLs in place, files follow, stdin
// is read once, blank lines and # comments are skipped.
func TestExpandInputs(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "urls.txt")
	if err := os.WriteFile(list, []byte("# my list\n\nhttp://f.test/1\n  http://f.test/2  \r\n#http://f.test/not\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n := urlnorm.Normalizer{}
	tests := []struct {
		name   string
		seeds  []string
		inputs []string
		stdin  string
		want   []string
	}{
		{"args only", []string{"http://a.test/"}, nil, "", []string{"http://a.test/"}},
		{"dash in place", []string{"http://a.test/", "-", "http://b.test/"}, nil, "http://s.test/1\n# c\n\nhttp://s.test/2",
			[]string{"http://a.test/", "http://s.test/1", "http://s.test/2", "http://b.test/"}},
		{"file after args", []string{"http://a.test/"}, []string{list}, "", []string{"http://a.test/", "http://f.test/1", "http://f.test/2"}},
		{"input dash", nil, []string{"-"}, "http://s.test/1\n", []string{"http://s.test/1"}},
		{"stdin read once", []string{"-"}, []string{"-", list}, "http://s.test/1\n", []string{"http://s.test/1", "http://f.test/1", "http://f.test/2"}},
		{"only comments", nil, []string{"-"}, "# nothing\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expandInputs(tt.seeds, tt.inputs, strings.NewReader(tt.stdin), n.Canonical)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestInputErrors checks that a bad line of an input list gets the error
// of a bad URL argument, with where it is, and that a missing file or an
// unreadable stdin are one line and exit 2.
func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noScheme := write("noscheme", "http://127.0.0.1:1/\n\nexample.com/docs\n")
	ftp := write("ftp", "ftp://example.com/\n")
	secret := write("secret", "http://alice:s3cret@exa mple.com/\n")
	long := write("long", strings.Repeat("x", maxInputLine+1))
	empty := write("empty", "# nothing here\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"host without scheme", []string{"-i", noScheme}, []string{noScheme + ", line 3", "did you mean https://example.com/docs?"}},
		{"ftp", []string{"--input", ftp}, []string{ftp + ", line 1", "only http:// and https://"}},
		{"credentials not shown", []string{"-i", secret}, []string{secret + ", line 1"}},
		{"missing file", []string{"-i", filepath.Join(dir, "missing")}, []string{"--input", "no such file"}},
		{"binary file", []string{"-i", long}, []string{long, "longer than"}},
		{"empty list", []string{"-i", empty}, []string{"no URL to crawl"}},
		{"no stdin", []string{"-"}, []string{"standard input"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if code := exitCode(err); code != exitUsage {
				t.Errorf("exit %d (%v), want %d", code, err, exitUsage)
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Contains(msg, "\n") {
				t.Errorf("stderr is not one line: %q", msg)
			}
			for _, want := range tt.want {
				if !strings.Contains(msg, want) {
					t.Errorf("stderr %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("stderr %q shows the password", msg)
			}
		})
	}
}

// TestInputList crawls the URLs of an --input file and of an argument.
func TestInputList(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("leaf"))
	}))
	defer srv.Close()
	list := filepath.Join(t.TempDir(), "urls.txt")
	if err := os.WriteFile(list, []byte("# pages\n"+srv.URL+"/a\n\n"+srv.URL+"/b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-q", "--rate", "0", "--format", "url", "-i", list, srv.URL + "/c"}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	got := strings.Fields(stdout.String())
	slices.Sort(got)
	if want := []string{srv.URL + "/a", srv.URL + "/b", srv.URL + "/c"}; !slices.Equal(got, want) {
		t.Errorf("crawled %q, want %q", got, want)
	}
}

// TestStdinSeeds pipes URLs into the crawl binary, as "crawl -" and as
// "crawl -i -".
func TestStdinSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("leaf"))
	}))
	defer srv.Close()
	urls := "# from a pipe\n" + srv.URL + "/a\n\n" + srv.URL + "/b\n"
	for _, args := range [][]string{{"-"}, {"-i", "-"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			cmd := exec.Command(buildBinary(t), append([]string{"-q", "--rate", "0", "--format", "url"}, args...)...)
			cmd.Stdin = strings.NewReader(urls)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("crawl: %v\n%s", err, stderr.String())
			}
			got := strings.Fields(stdout.String())
			slices.Sort(got)
			if want := []string{srv.URL + "/a", srv.URL + "/b"}; !slices.Equal(got, want) {
				t.Errorf("crawled %q, want %q", got, want)
			}
		})
	}
}

// FuzzExpandInputs feeds arbitrary standard input: no panic, and every
// URL kept is a valid seed without surrounding space.
func FuzzExpandInputs(f *testing.F) {
	f.Add("http://a.test/\n# c\n\n  https://b.test/x \r\n")
	f.Add("example.com\n")
	f.Add("\x00\xff\n-\n")
	n := urlnorm.Normalizer{MaxLength: urlnorm.DefaultMaxLength}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := expandInputs([]string{"-"}, nil, strings.NewReader(in), n.Canonical)
		if err != nil {
			return
		}
		for _, s := range got {
			if s != strings.TrimSpace(s) || checkSeed(s, n.Canonical) != nil {
				t.Errorf("kept %q", s)
			}
		}
	})
}
