package parse

import (
	"reflect"
	"testing"
)

func TestParseAssetsCSSAndSrcset(t *testing.T) {
	const page = "https://example.com/dir/page.html"
	tests := []struct {
		name string
		body string
		want []string
	}{
		{
			name: "srcset",
			body: `<img src="a.png" srcset="a-2x.png 2x, /b.png 640w,c,d.png"><picture><source srcset="s.webp 1x , s2.webp 2x"></picture>`,
			want: []string{"https://example.com/dir/a.png", "https://example.com/dir/a-2x.png", "https://example.com/b.png",
				"https://example.com/dir/c,d.png", "https://example.com/dir/s.webp", "https://example.com/dir/s2.webp"},
		},
		{
			name: "object, poster and icons",
			body: `<object data="/movie.swf"></object><video poster="p.jpg" src="v.mp4"></video>
				<link rel="shortcut icon" href="/favicon.ico"><link rel="apple-touch-icon" href="/touch.png"><link rel="next" href="/2">`,
			want: []string{"https://example.com/movie.swf", "https://example.com/dir/v.mp4", "https://example.com/dir/p.jpg",
				"https://example.com/favicon.ico", "https://example.com/touch.png"},
		},
		{
			name: "style element and attribute",
			body: `<style>@import "/base.css?v=1"; body{background:URL(bg.png)} /* url(no.png) */</style>
				<div style="background-image: url('/hero.jpg')">x</div><p style="color:red">y</p>`,
			want: []string{"https://example.com/base.css?v=1", "https://example.com/dir/bg.png", "https://example.com/hero.jpg"},
		},
		{
			name: "no assets in links",
			body: `<a href="x.png" style="">x</a><img data-srcset="lazy.png 2x">`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := HTML{}.Parse(mustURL(t, page), "text/html", []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Assets, tt.want) {
				t.Errorf("Assets =\n %q\nwant\n %q", p.Assets, tt.want)
			}
		})
	}
}

func TestSrcset(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a.png", []string{"a.png"}},
		{"a.png 1x, b.png 2x", []string{"a.png", "b.png"}},
		{" a.png,b.png ", []string{"a.png,b.png"}}, // commas inside a URL are its own
		{"a.png, b.png", []string{"a.png", "b.png"}},
		{"a,b.png 1x", []string{"a,b.png"}},
		{"a.png 100w (x, y), b.png", []string{"a.png", "b.png"}},
		{",,, ", nil},
		{"data:image/png;base64,AA 1x", []string{"data:image/png;base64,AA"}},
	}
	for _, tt := range tests {
		var got []string
		for _, c := range Srcset(tt.in) {
			got = append(got, tt.in[c.Start:c.End])
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Srcset(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzSrcset(f *testing.F) {
	for _, s := range []string{"a.png 1x, b.png 2x", "a,b", "x (,) y, z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prev := 0
		for _, c := range Srcset(s) {
			if c.Start < prev || c.End <= c.Start || c.End > len(s) {
				t.Fatalf("Srcset(%q): bad candidate %d:%d after %d", s, c.Start, c.End, prev)
			}
			prev = c.End
		}
	})
}
