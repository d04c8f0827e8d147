package login

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
)

// Field is one name and value a form submits.
type Field struct {
	Name, Value string
}

// Submission is an HTML form read from its page, as a browser would submit
// it untouched: where to, how, and its fields in document order.
type Submission struct {
	// Action is the absolute URL the form is submitted to: its action
	// attribute resolved against the page's base URL (the page's URL, or
	// its <base href>); the page's URL when the form has none.
	Action string
	// Method is "GET" or "POST" (the form's method attribute; GET when
	// absent or unknown, as in HTML).
	Method string
	// Fields are the values the form submits, in document order: every
	// named, enabled input as served (hidden ones included), checked
	// checkboxes and radio buttons (a checkbox without a value sends
	// "on"), textareas, the selected options of selects (the first option
	// of a single select that has none selected), and the name and value
	// of the first submit button that has a name. File inputs, reset and
	// other buttons are left out.
	Fields []Field
	// Password is the name of the form's first password input; empty when
	// it has none (or none with a name).
	Password string
}

// Errors of ParseForm.
var (
	// ErrNoForm: the page has no form the selector matches (or, without
	// a selector, no form with a password input).
	ErrNoForm = errors.New("login: no login form on the page")
	// ErrMultipart: the form is multipart/form-data, which Submit does not
	// send.
	ErrMultipart = errors.New("login: multipart forms are not supported")
	// ErrBadAction: the form's action is not a URL, or not an http(s) one.
	ErrBadAction = errors.New("login: the form's action is not an http(s) URL")
)

// ParseForm reads the form of an HTML page fetched from pageURL: the first
// form the CSS selector css matches, or, when css is empty, the first form
// with a password input (a css that is not a selector matches nothing).
// It returns ErrNoForm when there is none, ErrMultipart for a multipart
// form and ErrBadAction for an action that is not an http(s) URL. It
// never fails otherwise: HTML is parsed as browsers do, whatever it holds.
func ParseForm(pageURL *url.URL, body []byte, css string) (*Submission, error) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("login: parse login page: %w", err)
	}
	var form *goquery.Selection
	if css != "" {
		if _, err := cascadia.ParseGroup(css); err != nil {
			return nil, ErrNoForm
		}
		form = doc.Find(css).Filter("form").First()
	} else {
		form = doc.Find("form").FilterFunction(func(_ int, f *goquery.Selection) bool {
			return f.Find("input").FilterFunction(isPassword).Length() > 0
		}).First()
	}
	if form.Length() == 0 {
		return nil, ErrNoForm
	}
	if strings.EqualFold(strings.TrimSpace(form.AttrOr("enctype", "")), "multipart/form-data") {
		return nil, ErrMultipart
	}
	base := pageURL
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if b, err := pageURL.Parse(strings.TrimSpace(href)); err == nil {
			base = b
		}
	}
	s := &Submission{Action: pageURL.String(), Method: http.MethodGet}
	if action := strings.TrimSpace(form.AttrOr("action", "")); action != "" {
		a, err := base.Parse(action)
		if err != nil || (a.Scheme != "http" && a.Scheme != "https") || a.Host == "" {
			return nil, ErrBadAction
		}
		a.Fragment, a.RawFragment = "", ""
		s.Action = a.String()
	}
	if strings.EqualFold(strings.TrimSpace(form.AttrOr("method", "")), "post") {
		s.Method = http.MethodPost
	}
	clicked := false
	form.Find("input, textarea, select, button").Each(func(_ int, el *goquery.Selection) {
		name, named := el.Attr("name")
		if _, disabled := el.Attr("disabled"); disabled {
			return
		}
		kind := strings.ToLower(strings.TrimSpace(el.AttrOr("type", "")))
		switch goquery.NodeName(el) {
		case "textarea":
			if named && name != "" {
				s.Fields = append(s.Fields, Field{name, el.Text()})
			}
		case "select":
			if named && name != "" {
				s.Fields = append(s.Fields, selected(name, el)...)
			}
		case "button":
			if kind == "" || kind == "submit" {
				clicked = s.click(clicked, el, name, named)
			}
		case "input":
			switch kind {
			case "submit", "image":
				clicked = s.click(clicked, el, name, named)
				return
			case "reset", "button", "file":
				return
			case "checkbox", "radio":
				if _, on := el.Attr("checked"); !on {
					return
				}
			}
			if !named || name == "" {
				return
			}
			value, has := el.Attr("value")
			if !has && (kind == "checkbox" || kind == "radio") {
				value = "on"
			}
			if kind == "password" && s.Password == "" {
				s.Password = name
			}
			s.Fields = append(s.Fields, Field{name, value})
		}
	})
	return s, nil
}

// isPassword reports whether an input is a password input.
func isPassword(_ int, in *goquery.Selection) bool {
	return strings.EqualFold(strings.TrimSpace(in.AttrOr("type", "")), "password")
}

// click adds the first named submit button's name and value, once.
func (s *Submission) click(done bool, el *goquery.Selection, name string, named bool) bool {
	if done || !named || name == "" {
		return done
	}
	value, has := el.Attr("value")
	if !has && goquery.NodeName(el) == "button" {
		value = el.Text()
	}
	s.Fields = append(s.Fields, Field{name, value})
	return true
}

// selected returns the fields a select submits: its selected options, or
// its first option when it has none selected and is not multiple.
func selected(name string, sel *goquery.Selection) []Field {
	var out []Field
	opts := sel.Find("option")
	opts.Each(func(_ int, o *goquery.Selection) {
		if _, on := o.Attr("selected"); on {
			if _, disabled := o.Attr("disabled"); !disabled {
				out = append(out, Field{name, optionValue(o)})
			}
		}
	})
	if _, multiple := sel.Attr("multiple"); len(out) == 0 && !multiple && opts.Length() > 0 {
		out = append(out, Field{name, optionValue(opts.First())})
	}
	if _, multiple := sel.Attr("multiple"); !multiple && len(out) > 1 {
		out = out[len(out)-1:] // a single select keeps its last selected option
	}
	return out
}

func optionValue(o *goquery.Selection) string {
	if v, ok := o.Attr("value"); ok {
		return v
	}
	return strings.TrimSpace(o.Text())
}

// Set replaces the values of the field name with value, where the first
// one was, or appends it when the form has no such field.
func (s *Submission) Set(name, value string) {
	out := s.Fields[:0]
	set := false
	for _, f := range s.Fields {
		if f.Name != name {
			out = append(out, f)
			continue
		}
		if !set {
			out = append(out, Field{name, value})
			set = true
		}
	}
	s.Fields = out
	if !set {
		s.Fields = append(s.Fields, Field{name, value})
	}
}

// Encode returns the fields as application/x-www-form-urlencoded, in
// their order.
func (s *Submission) Encode() string {
	var b strings.Builder
	for i, f := range s.Fields {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(f.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(f.Value))
	}
	return b.String()
}
