package login_test

import (
	"errors"
	"net/url"
	"reflect"
	"testing"

	"github.com/hivecrawl/crawl/login"
)

func TestParseForm(t *testing.T) {
	page, _ := url.Parse("https://shop.example/account/login?next=/cart")
	type F = login.Field
	tests := []struct {
		name, html, css string
		want            *login.Submission
		err             error
	}{
		{
			name: "from_response",
			html: `<form id=search action=/s><input name=q></form>
<form id=login method=post action="do?x=1#frag">
 <input type=hidden name=csrf value="t0k&en">
 <input name=user value="">
 <input type=password name=pw>
 <input type=checkbox name=remember checked>
 <input type=checkbox name=spam value=yes>
 <input type=radio name=lang value=en>
 <input type=radio name=lang value=fr checked>
 <input type=file name=avatar>
 <input name=off value=1 disabled>
 <input value=nameless>
 <textarea name=note>hi there</textarea>
 <select name=country><option value=de>Germany<option value=fr selected>France</select>
 <select name=size><option>S<option>M</select>
 <select name=tags multiple><option value=a selected><option value=b><option value=c selected></select>
 <select name=none multiple><option value=a></select>
 <input type=reset name=r value=R>
 <input type=submit name=go value=Sign&#32;in>
 <button name=other value=2>Other</button>
</form>`,
			want: &login.Submission{
				Action: "https://shop.example/account/do?x=1", Method: "POST", Password: "pw",
				Fields: []F{{"csrf", "t0k&en"}, {"user", ""}, {"pw", ""}, {"remember", "on"}, {"lang", "fr"},
					{"note", "hi there"}, {"country", "fr"}, {"size", "S"}, {"tags", "a"}, {"tags", "c"}, {"go", "Sign in"}},
			},
		},
		{
			name: "no action, GET, button submit, base href",
			html: `<base href="https://cdn.example/x/"><form><input type=PASSWORD name=p value=old><button name=b>Log in</button></form>`,
			want: &login.Submission{Action: page.String(), Method: "GET", Password: "p", Fields: []F{{"p", "old"}, {"b", "Log in"}}},
		},
		{
			name: "base href resolves the action",
			html: `<base href="https://cdn.example/x/"><form action=in method=POST><input type=password name=p></form>`,
			want: &login.Submission{Action: "https://cdn.example/x/in", Method: "POST", Password: "p", Fields: []F{{"p", ""}}},
		},
		{
			name: "selector picks a form without password",
			html: `<form id=a action=/a><input name=q value=1></form><form id=b action=/b><input type=password name=p></form>`,
			css:  "form#a",
			want: &login.Submission{Action: "https://shop.example/a", Method: "GET", Fields: []F{{"q", "1"}}},
		},
		{name: "no password form", html: `<form><input name=q></form>`, err: login.ErrNoForm},
		{name: "selector matches no form", html: `<div id=login><input type=password name=p></div>`, css: "#login", err: login.ErrNoForm},
		{name: "not a selector", html: `<form><input type=password name=p></form>`, css: "form[", err: login.ErrNoForm},
		{name: "empty page", html: ``, err: login.ErrNoForm},
		{name: "binary", html: "\x00\xff\xfe<form", err: login.ErrNoForm},
		{name: "action not a URL", html: `<form action=":::"><input type=password name=p></form>`, err: login.ErrBadAction},
		{name: "javascript action", html: `<form action="javascript:go()"><input type=password name=p></form>`, err: login.ErrBadAction},
		{name: "multipart", html: `<form enctype="Multipart/Form-Data"><input type=password name=p></form>`, err: login.ErrMultipart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := login.ParseForm(page, []byte(tt.html), tt.css)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSubmissionSetEncode(t *testing.T) {
	s := &login.Submission{Fields: []login.Field{{"a", "1"}, {"user", "x"}, {"b", "2"}, {"user", "y"}}}
	s.Set("user", "alice & bob")
	s.Set("new", "ü")
	if got, want := s.Encode(), "a=1&user=alice+%26+bob&b=2&new=%C3%BC"; got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
}
