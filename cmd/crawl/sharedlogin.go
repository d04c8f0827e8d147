package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/fetch"
	"github.com/hivecrawl/crawl/frontier/redis"
	"github.com/hivecrawl/crawl/session"
)

// loginClaim is the name of the claim a fleet worker takes in the job's
// session to log in.
const loginClaim = "login"

// loginWaitPoll is how often a fleet worker waiting for another's login
// looks whether it ended.
const loginWaitPoll = 100 * time.Millisecond

// shareLogin makes the login of cfg, when it has one, reuse the session
// it would open when one is already there: a resumed --state crawl whose
// restored jar sends cookies to the login page skips the first login (if
// that session is over, the first page that shows it logs in again), and
// so does a fleet worker joining a job another worker logged in to. The
// workers of a fleet log in one at a time (sharedLogin).
func (w *wiring) shareLogin(ctx context.Context, fl *fleet, log *slog.Logger) error {
	if w.cfg.Login == nil || w.jar == nil {
		return nil
	}
	u, err := url.Parse(w.cfg.Login.URL())
	if err != nil {
		return fmt.Errorf("%w: login: url: %v", errUsage, err)
	}
	if len(w.jar.Cookies(u)) > 0 {
		w.cfg.LoginSkipFirst = true
		log.Info("login: the restored session is used; the crawl logs in again if a page shows it is over")
	}
	if fl != nil {
		w.cfg.Login = &sharedLogin{inner: w.cfg.Login, claims: fl.f.SessionHash(), jar: w.jar,
			owner: fl.f.Worker(), ttl: loginClaimTTL(w.cfg), log: log}
	}
	return nil
}

// loginClaimTTL bounds how long a worker that died logging in keeps the
// others waiting: a login is a few fetches, each bounded by the timeout.
func loginClaimTTL(cfg crawler.Config) time.Duration {
	return 4*cfg.Timeout + 30*time.Second
}

// sharedLogin is a fleet worker's login: one worker of the job logs in at
// a time (a claim in Redis), and a worker that waited for another's login
// uses the session that one opened (shared through the jar's Redis store)
// rather than opening its own, so that workers starting together, or
// finding the session over together, log in once.
type sharedLogin struct {
	inner  crawler.Login
	claims *redis.SessionHash
	jar    *session.Jar
	owner  string
	ttl    time.Duration
	log    *slog.Logger
}

// URL is the login page.
func (l *sharedLogin) URL() string { return l.inner.URL() }

// Expired is the login's own test.
func (l *sharedLogin) Expired(resp *fetch.Response, redirectTo string) bool {
	return l.inner.Expired(resp, redirectTo)
}

// Login logs in, unless another worker does it first.
func (l *sharedLogin) Login(ctx context.Context, f crawler.Fetcher, check func(context.Context, *url.URL) error) error {
	u, err := url.Parse(l.URL())
	if err != nil {
		return err
	}
	before := l.session(u)
	for {
		ok, err := l.claims.Claim(ctx, loginClaim, l.owner, l.ttl)
		if err != nil {
			return err
		}
		if ok {
			return l.login(ctx, u, before, f, check)
		}
		l.log.Info("login: waiting for another worker's login")
		if err := l.wait(ctx); err != nil {
			return err
		}
		if _, err := l.jar.Load(ctx); err != nil {
			return err
		}
		if l.session(u) != before {
			l.log.Info("login: using the session another worker opened")
			return nil
		}
		// The other worker's login failed: try ours.
	}
}

// login logs in holding the claim, unless the session changed since the
// caller found it over (another worker logged in just before the claim).
func (l *sharedLogin) login(ctx context.Context, u *url.URL, before string, f crawler.Fetcher, check func(context.Context, *url.URL) error) error {
	defer func() {
		if err := l.claims.Release(context.WithoutCancel(ctx), loginClaim, l.owner); err != nil {
			l.log.Warn("login: release the claim", "err", err)
		}
	}()
	if _, err := l.jar.Load(ctx); err != nil {
		return err
	}
	if l.session(u) != before {
		return nil
	}
	return l.inner.Login(ctx, f, check)
}

// wait returns once no worker holds the login claim.
func (l *sharedLogin) wait(ctx context.Context) error {
	t := time.NewTicker(loginWaitPoll)
	defer t.Stop()
	for {
		held, err := l.claims.Held(ctx, loginClaim)
		if err != nil || !held {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// session is what the jar sends to the login page, to tell whether a
// login happened: names and values, sorted. It is compared, never shown.
func (l *sharedLogin) session(u *url.URL) string {
	var parts []string
	for _, c := range l.jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}
