package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/session"
)

// requestOptions shape the requests: extra headers and credentials, and
// the hosts the credentials may go to.
type requestOptions struct {
	Headers       []string `yaml:"header"`
	SecretHeaders []string `yaml:"secret-header"`
	AuthHosts     []string `yaml:"auth-host"`
	Auth          string   `yaml:"auth"`
	AuthFile      string   `yaml:"auth-file"`
	Cookie        string   `yaml:"cookie"`
	Session       bool     `yaml:"session"`
	CookiesFile   string   `yaml:"cookies"`
	SaveCookies   string   `yaml:"save-cookies"`

	// header and basicAuth are Headers and Auth (or AuthFile's line)
	// parsed, by validateRequest.
	header    http.Header
	basicAuth *url.Userinfo
	// fileCookies are CookiesFile's cookies, read by validateRequest;
	// the jar itself is made by wire (newJar), once it knows where the
	// session is kept.
	fileCookies []fetch.NetscapeCookie
}

func (o *requestOptions) addFlags(g *flagGroups) {
	g.request.FuncP("header", "H", "send this `\"Name: value\"` header with every request (repeatable; \"Name:\" removes a default one); Authorization, Cookie and --secret-header ones go to the seeds' hosts and --auth-host only", appendTo(&o.Headers))
	g.request.Func("secret-header", "treat header `name` as a credential, like Authorization (repeatable)", appendTo(&o.SecretHeaders))
	g.request.Func("auth-host", "also send credentials to `host` (host, host:port or https://host; repeatable)", appendTo(&o.AuthHosts))
	g.request.StringVar(&o.Auth, "auth", o.Auth, "HTTP Basic auth `user:password` for the seeds' hosts and --auth-host (visible in ps: prefer --auth-file)")
	g.request.StringVar(&o.AuthFile, "auth-file", o.AuthFile, "read the Basic auth user:password line from `file`")
	g.request.StringVar(&o.Cookie, "cookie", o.Cookie, "send cookies `\"a=1; b=2\"` to the seeds' hosts and --auth-host")
	g.request.BoolVar(&o.Session, "session", o.Session, "keep the cookies sites set and send them back, as a browser does (RFC 6265)")
	g.request.StringVar(&o.CookiesFile, "cookies", o.CookiesFile, "load cookies from `file` (Netscape cookies.txt, as curl -b and wget --load-cookies read); implies --session")
	g.request.StringVar(&o.SaveCookies, "save-cookies", o.SaveCookies, "write the session's cookies to `file` at the end (Netscape cookies.txt, mode 0600); implies --session")
}

// validateRequest parses the headers and reads the credentials. A
// User-Agent header sets --user-agent. Errors never show a header's value
// or a password.
func (o *options) validateRequest() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errUsage}, a...)...)
	}
	r := &o.requestOptions
	r.header = nil
	for _, h := range r.Headers {
		name, value, err := parseHeader(h)
		if err != nil {
			return bad("%v", err)
		}
		if name == "User-Agent" {
			if value != "" {
				o.UserAgent = value
			}
			continue
		}
		if r.header == nil {
			r.header = make(http.Header)
		}
		r.header[name] = append(r.header[name], value)
	}
	if r.Cookie != "" {
		// Its values are not shown: they are often a session.
		cookies, err := http.ParseCookie(r.Cookie)
		if err != nil {
			return bad("--cookie: want \"name=value; name2=value2\"")
		}
		if r.header == nil {
			r.header = make(http.Header)
		}
		// One Cookie header, joined with any -H "Cookie: ...", as RFC
		// 6265 asks.
		parts := slices.DeleteFunc(slices.Clone(r.header["Cookie"]), func(v string) bool { return v == "" })
		for _, c := range cookies {
			parts = append(parts, c.Name+"="+c.Value)
		}
		r.header["Cookie"] = []string{strings.Join(parts, "; ")}
	}
	r.basicAuth = nil
	line, from := r.Auth, "--auth"
	switch {
	case r.Auth != "" && r.AuthFile != "":
		return bad("--auth and --auth-file both give a password: keep one")
	case r.AuthFile != "":
		data, err := os.ReadFile(r.AuthFile)
		if err != nil {
			return bad("--auth-file: %v", err)
		}
		line = strings.TrimRight(string(data), "\r\n")
		from = "--auth-file " + r.AuthFile
		if strings.ContainsAny(line, "\r\n") {
			return bad("%s: want one user:password line", from)
		}
	}
	if line != "" || r.AuthFile != "" {
		user, pass, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return bad("%s: want user:password", from)
		}
		r.basicAuth = url.UserPassword(user, pass)
	}
	if r.SaveCookies != "" {
		if fi, err := os.Stat(filepath.Dir(r.SaveCookies)); err != nil || !fi.IsDir() {
			return bad("--save-cookies %s: no such directory", r.SaveCookies)
		}
	}
	r.fileCookies = nil
	if r.CookiesFile != "" {
		cookies, err := readCookiesFile(r.CookiesFile)
		if err != nil {
			return bad("--cookies: %v", err)
		}
		r.fileCookies = cookies
	}
	return nil
}

// wantJar reports whether the crawl keeps a session: --session, or a
// flag that implies it.
func (o *requestOptions) wantJar() bool {
	return o.Session || o.CookiesFile != "" || o.SaveCookies != ""
}

// newJar makes the crawl's cookie jar, kept in store (nil: in memory
// only), restores what store holds and adds the --cookies file's cookies
// that store does not hold (those it holds were set since, by a site or
// another worker). A cookie it cannot keep in store is logged, without
// its value.
func (o *requestOptions) newJar(ctx context.Context, store session.Store, log *slog.Logger) (jar *session.Jar, restored int, err error) {
	jar, err = session.New(session.Options{Store: store, OnError: func(err error) {
		log.Warn("cookies not kept", "err", err)
	}})
	if err != nil {
		return nil, 0, err
	}
	if restored, err = jar.Load(ctx); err != nil {
		return nil, 0, err
	}
	jar.Add(o.fileCookies, time.Now())
	return jar, restored, nil
}

// saveCookies writes jar to --save-cookies, if set.
func (o *requestOptions) saveCookies(jar *session.Jar) error {
	if o.SaveCookies == "" || jar == nil {
		return nil
	}
	if err := session.WriteFile(o.SaveCookies, jar.List()); err != nil {
		return fmt.Errorf("--save-cookies: %w", err)
	}
	return nil
}

// parseHeader splits "Name: value" as curl -H takes it: the value without
// surrounding spaces, empty to remove a default header. Its errors show at
// most the first word of h, which cannot be a secret value.
func parseHeader(h string) (name, value string, err error) {
	name, value, ok := strings.Cut(h, ":")
	if !ok {
		shown, _, cut := strings.Cut(strings.TrimSpace(h), " ")
		if cut || len(shown) > 40 {
			shown = shown[:min(len(shown), 40)] + "…"
		}
		return "", "", fmt.Errorf("-H %q: want \"Name: value\" (a header name, a colon, its value)", shown)
	}
	if !fetch.ValidHeaderName(name) {
		return "", "", fmt.Errorf("-H: %q is not a header name (want \"Name: value\")", name)
	}
	value = strings.TrimSpace(value)
	if strings.ContainsAny(value, "\r\n\x00") {
		return "", "", fmt.Errorf("-H %s: the value has a line break", name)
	}
	return http.CanonicalHeaderKey(name), value, nil
}

// apply sets the request fields of cfg.
func (o *requestOptions) apply(cfg *crawler.Config) {
	cfg.Header = o.header
	cfg.SecretHeaders = o.SecretHeaders
	cfg.AuthHosts = o.AuthHosts
	cfg.BasicAuth = o.basicAuth
}
