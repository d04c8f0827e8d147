package login

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/parse"
	"github.com/hivecrawl/crawl/urlnorm"
)

// Secret is a password: printed with fmt it shows as "[redacted]", so
// that a Config logged by mistake does not give it away.
type Secret string

// String returns "[redacted]".
func (Secret) String() string { return "[redacted]" }

// GoString returns "[redacted]".
func (Secret) GoString() string { return "[redacted]" }

// Config says how to log in. It is plain data; New checks it.
type Config struct {
	// URL is the login page, an absolute http(s) URL. Required.
	URL string
	// Form is a CSS selector of the login form. Empty means the first form
	// with a password input.
	Form string
	// Fields gives values to the form's inputs by name (a user name, say);
	// a name the form lacks is added. The other inputs keep the values the
	// page served them with: hidden ones, such as a CSRF token, included.
	// Nil means none.
	Fields map[string]string
	// Password fills the form's first password input. It is never logged
	// nor shown in an error.
	Password Secret
	// Success is a CSS selector found on the page the submitted form leads
	// to (after its redirects) when the login worked, such as "a.logout".
	// SuccessURL is another test: the URL of that page matches it. With
	// both, both must hold; with neither, the login worked when that page
	// is not an error and has no login form (a form with a password
	// input, or the one Form selects).
	Success    string
	SuccessURL *regexp.Regexp
	// Expired is a CSS selector found on a page only when the session is
	// over (the login form, say): such a page asks for a login again. A
	// page the crawl was redirected to the login URL for asks for one too,
	// whatever Expired says. Empty means only the redirect tells.
	Expired string
}

// Form is a form login, ready to run: it implements crawler.Login. Build
// it with New. It is safe for concurrent use.
type Form struct {
	url      *url.URL
	loginKey string // the login URL without query or fragment
	form     string // CSS selectors, checked by New; empty: none
	fields   map[string]string
	password Secret
	success  string
	succURL  *regexp.Regexp
	expired  string
}

var _ crawler.Login = (*Form)(nil)

// New checks cfg and returns the Form it describes. Its errors name the
// bad setting (the keys of the command's login: section), never the
// password.
func New(cfg Config) (*Form, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("login: url %q: want an absolute http(s) URL", urlnorm.Redact(cfg.URL))
	}
	if u.User != nil {
		return nil, fmt.Errorf("login: url %q: put no user info in the login URL", urlnorm.Redact(cfg.URL))
	}
	u.Fragment, u.RawFragment = "", ""
	for _, s := range []struct{ key, css string }{{"form", cfg.Form}, {"success", cfg.Success}, {"expired", cfg.Expired}} {
		if s.css == "" {
			continue
		}
		if _, err := cascadia.ParseGroup(s.css); err != nil {
			return nil, fmt.Errorf("login: %s %q is not a CSS selector: %w", s.key, s.css, err)
		}
	}
	return &Form{url: u, loginKey: withoutQuery(u), form: cfg.Form, fields: cfg.Fields, password: cfg.Password,
		success: cfg.Success, succURL: cfg.SuccessURL, expired: cfg.Expired}, nil
}

// URL returns the login page's URL.
func (f *Form) URL() string { return f.url.String() }

// poster is what Login needs of the crawl's Fetcher besides Fetch:
// *fetch.Client has it.
type poster interface {
	Post(ctx context.Context, rawURL, contentType string, body []byte, check func(context.Context, *url.URL) error) (*fetch.Response, error)
}

// Error is a login that did not work: its step and why, with no password
// in it.
type Error struct {
	// Step is "fetch the login page", "read the login form", "submit the
	// login form" or "check the login".
	Step string
	// Err is the cause.
	Err error
}

func (e *Error) Error() string { return "login: " + e.Step + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrNotLoggedIn is wrapped by the Error of a login whose form was
// submitted but whose success test failed.
var ErrNotLoggedIn = errors.New("not logged in")

// Login logs in with f, the crawl's Fetcher, which must also be able to
// POST (as *fetch.Client does) and should keep cookies (a cookie jar):
// it fetches the login page, fills the form, submits it and checks the
// result. check, when not nil, is asked about each URL before it is
// requested (the login page, the form's action) and about each redirect
// hop, as crawler.Fetcher's check is: its error stops the login, except
// one matching fetch.ErrUseLastResponse on a hop, which stops there and
// takes the redirect as the result. Whatever check says, the form is
// submitted only to the login URL's host name, and a redirect of the
// submission to another host is not followed: the password goes nowhere
// else.
func (f *Form) Login(ctx context.Context, fetcher crawler.Fetcher, check func(context.Context, *url.URL) error) error {
	p, ok := fetcher.(poster)
	if !ok {
		return &Error{"submit the login form", errors.New("the crawl's Fetcher cannot send a POST")}
	}
	if check != nil {
		if err := check(ctx, f.url); err != nil {
			return &Error{"fetch the login page", err}
		}
	}
	page, err := fetcher.Fetch(ctx, f.url.String(), check)
	if err != nil {
		return &Error{"fetch the login page", err}
	}
	defer page.Release()
	if page.Status >= 400 {
		return &Error{"fetch the login page", fmt.Errorf("%s answered HTTP %d", f.url.Redacted(), page.Status)}
	}
	pageURL, err := url.Parse(page.FinalURL)
	if err != nil {
		pageURL = f.url
	}
	sub, err := ParseForm(pageURL, page.Body, f.form)
	if err != nil {
		return &Error{"read the login form", fmt.Errorf("%s: %w", urlnorm.Redact(page.FinalURL), err)}
	}
	for name, v := range f.fields {
		sub.Set(name, v)
	}
	if sub.Password != "" {
		sub.Set(sub.Password, string(f.password))
	} else if f.password != "" {
		return &Error{"read the login form", fmt.Errorf("%s: the form has no password input to fill", urlnorm.Redact(page.FinalURL))}
	}
	action, err := url.Parse(sub.Action)
	if err != nil || (action.Scheme != "http" && action.Scheme != "https") {
		return &Error{"read the login form", fmt.Errorf("the form's action %q is not an http(s) URL", urlnorm.Redact(sub.Action))}
	}
	if !f.sameHost(action) {
		// The password goes to the login page's host, or nowhere.
		return &Error{"submit the login form", fmt.Errorf("the form's action %s is on another host than the login page", withoutQuery(action))}
	}
	if check != nil {
		if err := check(ctx, action); err != nil {
			return &Error{"submit the login form", err}
		}
	}
	// A 307 or 308 redirect repeats the POST, password included: never to
	// another host.
	hop := func(ctx context.Context, u *url.URL) error {
		if !f.sameHost(u) {
			return fetch.ErrUseLastResponse
		}
		if check != nil {
			return check(ctx, u)
		}
		return nil
	}
	var resp *fetch.Response
	if sub.Method == http.MethodPost {
		resp, err = p.Post(ctx, action.String(), fetch.FormContentType, []byte(sub.Encode()), hop)
	} else {
		// The fields, password included, go in the query: the error must
		// not show the URL.
		action.RawQuery = sub.Encode()
		resp, err = fetcher.Fetch(ctx, action.String(), hop)
		if err != nil {
			err = fmt.Errorf("GET %s: %s", withoutQuery(action), fetch.ClassOf(err))
		}
	}
	if err != nil {
		return &Error{"submit the login form", err}
	}
	defer resp.Release()
	return f.check(resp)
}

// check tells whether the response to the submitted form shows a login
// that worked.
func (f *Form) check(resp *fetch.Response) error {
	final := resp.FinalURL
	if loc := resp.Header.Get("Location"); resp.Status >= 300 && resp.Status < 400 && loc != "" {
		// A redirect the check stopped at: its target is where the login led.
		if u, err := url.Parse(final); err == nil {
			if t, err := u.Parse(loc); err == nil {
				final = t.String()
			}
		}
	}
	shown := withoutQueryString(final)
	if resp.Status >= 400 {
		return &Error{"check the login", fmt.Errorf("%w: the form's answer was HTTP %d at %s", ErrNotLoggedIn, resp.Status, shown)}
	}
	if f.succURL != nil && !f.succURL.MatchString(final) {
		return &Error{"check the login", fmt.Errorf("%w: the form led to %s, which success-url %q does not match", ErrNotLoggedIn, shown, f.succURL)}
	}
	isHTML := resp.Status < 300 && parse.IsHTML(resp.ContentType, resp.Body)
	switch {
	case f.success != "":
		if !isHTML || !matches(resp.Body, f.success) {
			return &Error{"check the login", fmt.Errorf("%w: success %q not found on %s", ErrNotLoggedIn, f.success, shown)}
		}
	case f.succURL == nil && isHTML:
		if base, err := url.Parse(resp.FinalURL); err == nil {
			if _, err := ParseForm(base, resp.Body, f.form); err == nil {
				return &Error{"check the login", fmt.Errorf("%w: %s still shows the login form", ErrNotLoggedIn, shown)}
			}
		}
	}
	return nil
}

// Expired reports whether a fetched page shows a session that is over: a
// page the fetch was redirected to the login URL for (redirectTo, when
// not empty, is the target of a redirect the fetch stopped at), or one
// the expired selector matches. The login page itself never counts.
func (f *Form) Expired(resp *fetch.Response, redirectTo string) bool {
	if resp == nil {
		return false
	}
	if redirectTo != "" {
		if u, err := url.Parse(redirectTo); err == nil && withoutQuery(u) == f.loginKey {
			return true
		}
	}
	if u, err := url.Parse(resp.URL); err == nil && withoutQuery(u) == f.loginKey {
		return false // the login page, asked for as a page
	}
	if resp.Redirects > 0 {
		if u, err := url.Parse(resp.FinalURL); err == nil && withoutQuery(u) == f.loginKey {
			return true
		}
	}
	return f.expired != "" && resp.Status < 300 && parse.IsHTML(resp.ContentType, resp.Body) && matches(resp.Body, f.expired)
}

// matches reports whether the CSS selector css, which New checked,
// matches an element of the HTML body.
func matches(body []byte, css string) bool {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return false
	}
	return doc.Find(css).Length() > 0
}

// sameHost reports whether u is on the login URL's host name (any port
// or scheme).
func (f *Form) sameHost(u *url.URL) bool {
	return strings.EqualFold(u.Hostname(), f.url.Hostname())
}

// withoutQuery returns u as scheme://host/path, lower-cased host without
// a default port, no user info, query or fragment: what tells the login
// page from others, and what errors may show of a URL a GET form filled
// with a password.
func withoutQuery(u *url.URL) string {
	host := strings.ToLower(u.Host)
	if p := u.Port(); (p == "80" && u.Scheme == "http") || (p == "443" && u.Scheme == "https") {
		host = strings.ToLower(u.Hostname())
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
	}
	v := url.URL{Scheme: u.Scheme, Host: host, Path: u.Path, RawPath: u.RawPath}
	if v.Path == "" {
		v.Path = "/"
	}
	return v.String()
}

func withoutQueryString(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return withoutQuery(u)
}
