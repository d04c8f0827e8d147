package mirrortest

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"h/index.html": `<base href="sub/"><a href="p.html">p</a> <a href="../s.css%3Fv=1">s</a> <a href="../s.css?v=1">q</a>
			<img src="/etc/passwd" srcset="gone.png 2x"> <a href="http://x.test/">x</a> <a href="mailto:a@b">m</a> <a href="#t">t</a>
			<div style="background:url(../../h/s.css%3Fv=1)"></div><style>a{b:url(missing.png)}</style>`,
		"h/sub/p.html":  `<link rel=stylesheet href="../s.css%3Fv=1"><img src="http://x.test/i.png">`,
		"h/s.css?v=1":   `@import "sub";`, // a directory
		"h/notes.txt":   `<a href="nowhere">`,
		"h/sub/gone.md": ``,
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	refs := func(ls []Link) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.File+" "+l.Ref)
		}
		slices.Sort(out)
		return out
	}
	want := map[string][]string{
		"local":  {"h/index.html ../../h/s.css%3Fv=1", "h/index.html ../s.css%3Fv=1", "h/index.html p.html", "h/sub/p.html ../s.css%3Fv=1"},
		"remote": {"h/index.html http://x.test/", "h/sub/p.html http://x.test/i.png"},
		"broken": {"h/index.html ../s.css?v=1", "h/index.html /etc/passwd", "h/index.html gone.png", "h/index.html missing.png"},
	}
	for kind, got := range map[string][]string{"local": refs(rep.Local), "remote": refs(rep.Remote), "broken": refs(rep.Broken)} {
		if !slices.Equal(got, want[kind]) {
			t.Errorf("%s: %q\nwant %q", kind, got, want[kind])
		}
	}
	for _, l := range rep.Remote {
		if l.Embedded != (l.Ref == "http://x.test/i.png") {
			t.Errorf("%+v: Embedded wrong", l)
		}
	}
}

func TestReportProblemsAndRemote(t *testing.T) {
	r := Report{
		Broken: []Link{{File: "a.html", Ref: "x.css", Resolved: "file:///m/x.css"}},
		Remote: []Link{
			{File: "a.html", Ref: "http://h:1/p", Resolved: "http://h:1/p"},
			{File: "b.html", Ref: "http://h:1/p", Resolved: "http://h:1/p"},
			{File: "a.html", Ref: "https://cdn.example/i.png", Resolved: "https://cdn.example/i.png", Embedded: true},
		},
	}
	if p := r.Problems(); len(p) != 2 || !strings.HasPrefix(p[0], "broken: a.html") || !strings.Contains(p[1], "embeds a remote resource") {
		t.Errorf("Problems() = %q", p)
	}
	if got, want := r.RemoteURLs("http://h:1"), []string{"BASE/p", "https://cdn.example/i.png"}; !slices.Equal(got, want) {
		t.Errorf("RemoteURLs() = %q, want %q", got, want)
	}
	if p := (Report{Local: []Link{{}}}).Problems(); len(p) != 0 {
		t.Errorf("a tree with only local links has problems %q", p)
	}
}
