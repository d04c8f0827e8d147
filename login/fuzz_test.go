package login_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/login"
)

// FuzzParseForm checks that any page and selector give a form or a clear
// error, never a panic, and that a form found keeps ParseForm's promises:
// an absolute action, a known method, named fields that Encode writes as
// a query that parses back to them, and a password input among them.
func FuzzParseForm(f *testing.F) {
	for _, seed := range []struct{ html, css string }{
		{`<form method=post action=/in><input type=hidden name=csrf value=x><input name=u><input type=password name=p><input type=submit name=go value=Go></form>`, ""},
		{`<form action="//other.example/x?y#z"><select name=s multiple><option selected>a<option selected value=b></select><input type=password name=p></form>`, "form"},
		{`<base href="javascript:alert(1)"><form action=":::"><textarea name=t>&amp;</textarea></form>`, "form"},
		{`<form enctype=multipart/form-data><input type=password name=p></form>`, ""},
		{"<form><input type=password name='\x00&=%'>", "form:nth-child(2n+1)"},
		{``, "["},
	} {
		f.Add(seed.html, seed.css)
	}
	page, _ := url.Parse("https://shop.example/login")
	f.Fuzz(func(t *testing.T, html, css string) {
		s, err := login.ParseForm(page, []byte(html), css)
		if err != nil {
			if s != nil {
				t.Fatalf("a form and an error")
			}
			if !errors.Is(err, login.ErrNoForm) && !errors.Is(err, login.ErrMultipart) && !errors.Is(err, login.ErrBadAction) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		a, err := url.Parse(s.Action)
		if err != nil || (a.Scheme != "http" && a.Scheme != "https") || a.Fragment != "" {
			t.Fatalf("action %q is not an absolute URL without fragment", s.Action)
		}
		if s.Method != "GET" && s.Method != "POST" {
			t.Fatalf("method %q", s.Method)
		}
		names := map[string]bool{}
		for _, fl := range s.Fields {
			if fl.Name == "" {
				t.Fatalf("a field without a name: %+v", s.Fields)
			}
			names[fl.Name] = true
		}
		if s.Password != "" && !names[s.Password] {
			t.Fatalf("password input %q is not among the fields", s.Password)
		}
		if css == "" && s.Password == "" && !strings.Contains(strings.ToLower(html), "password") {
			t.Fatalf("the default form has no password input")
		}
		s.Set("user", "alice")
		q, err := url.ParseQuery(s.Encode())
		if err != nil {
			t.Fatalf("Encode %q: %v", s.Encode(), err)
		}
		n := 0
		for _, vv := range q {
			n += len(vv)
		}
		if n != len(s.Fields) || q.Get("user") != "alice" {
			t.Fatalf("Encode %q: %d values for %d fields", s.Encode(), n, len(s.Fields))
		}
	})
}
