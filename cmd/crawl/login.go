package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/login"
)

// loginOptions is the config file's login: section. It has no flags: a
// login has structure and a secret, which belong in a file.
type loginOptions struct {
	Login *loginConfig `yaml:"login"`

	// form is Login checked and ready, made by validateLogin; nil without
	// a login: section.
	form *login.Form
}

// loginConfig is the login: section, key for key.
type loginConfig struct {
	URL          string            `yaml:"url"`
	Form         string            `yaml:"form"`
	Fields       map[string]string `yaml:"fields"`
	PasswordFile string            `yaml:"password-file"`
	Success      string            `yaml:"success"`
	SuccessURL   string            `yaml:"success-url"`
	Expired      string            `yaml:"expired"`
}

// validateLogin checks the login: section, reads its password file and
// builds the login. A login implies --session: its session cookie must be
// kept, or every page after the login would be logged out again (a login
// without a jar would be a config error anyway, so implying it costs the
// user nothing). Errors never show the password.
func (o *options) validateLogin() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: login: "+format, append([]any{errUsage}, a...)...)
	}
	o.form = nil
	l := o.Login
	if l == nil {
		return nil
	}
	if l.URL == "" {
		return bad("url is missing (the login page's URL)")
	}
	if l.PasswordFile == "" {
		return bad("password-file is missing (the password is read from a file, never written in the config)")
	}
	data, err := os.ReadFile(l.PasswordFile)
	if err != nil {
		return bad("password-file: %v", err)
	}
	password := strings.TrimRight(string(data), "\r\n")
	if strings.ContainsAny(password, "\r\n") {
		return bad("password-file %s: want the password on one line", l.PasswordFile)
	}
	cfg := login.Config{URL: l.URL, Form: l.Form, Fields: l.Fields, Password: login.Secret(password),
		Success: l.Success, Expired: l.Expired}
	if l.SuccessURL != "" {
		re, err := regexp.Compile(l.SuccessURL)
		if err != nil {
			return bad("success-url %q: %v", l.SuccessURL, err)
		}
		cfg.SuccessURL = re
	}
	form, err := login.New(cfg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	o.form = form
	o.Session = true
	return nil
}

// apply sets the login of cfg; wire calls it once the cookie jar is
// made. The first login runs unless cfg.LoginSkipFirst is set (by the
// wiring, when the jar it restored already holds the session).
func (o *loginOptions) apply(cfg *crawler.Config) {
	if o.form != nil {
		cfg.Login = o.form
	}
}
