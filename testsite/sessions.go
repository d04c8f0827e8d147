package testsite

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// SessionsOptions configures Sessions. Zero fields take the defaults in
// their comments.
type SessionsOptions struct {
	// Pages is the number of pages of each of the three private hosts,
	// home page included. Zero means 8.
	Pages int
	// LogoutAfter is how many pages a session of the login host gets
	// before the host logs it out (its next page redirects to the login
	// form). Zero means 3.
	LogoutAfter int
	// User and Password are the Basic auth credentials of the Basic host
	// and the login of the login host. Zero means "alice" and "s3cret".
	User, Password string
	// Header and Key are the header, and its value, the header host wants.
	// Zero means "X-Api-Key" and "k3y".
	Header, Key string
	// Success, when not empty, replaces the page a login leads to, so that
	// its success marker (a.logout) never shows: every login then fails.
	Success string
}

func (o SessionsOptions) withDefaults() SessionsOptions {
	if o.Pages <= 0 {
		o.Pages = 8
	}
	if o.LogoutAfter <= 0 {
		o.LogoutAfter = 3
	}
	if o.User == "" {
		o.User = "alice"
	}
	if o.Password == "" {
		o.Password = "s3cret"
	}
	if o.Header == "" {
		o.Header = "X-Api-Key"
	}
	if o.Key == "" {
		o.Key = "k3y"
	}
	return o
}

// Sessions is a site of four hosts for the tests of credentials and
// sessions, each on its own loopback address, so that cookies and
// credentials cannot pass from one to another by host name:
//
//   - Basic answers 401 without HTTP Basic authentication, robots.txt
//     included;
//   - Login answers its pages only to a session cookie (sid) that its
//     login form at /login sets: a form with a hidden CSRF token, good for
//     one submission, POSTed to /session, which redirects to /account
//     (where a.logout shows). After LogoutAfter pages a session is logged
//     out: its next page redirects to /login. Its robots.txt is public;
//   - Header answers 403 without the header Header with the value Key,
//     robots.txt included;
//   - Canary is another host, which every page of the three links to and
//     their /away pages redirect to. It records the headers of every
//     request it gets, robots.txt included, and links nowhere.
//
// Each private host serves pages /, /p/1 … /p/{Pages-1}, each linking to
// the next two, to the canary (/linked/{n}) and to /away, which redirects
// to the canary's /from-basic, /from-login or /from-header. Sessions counts what each host
// served, so that a test can check that every page was fetched once.
type Sessions struct {
	opts SessionsOptions
	// Basic, Login, Header and Canary are the hosts' base URLs, such as
	// "http://127.0.0.2:41234", set by Start.
	Basic, Login, Header, Canary string

	mu       sync.Mutex
	served   map[string]int   // "host path" → 200 responses of pages
	canary   []http.Header    // the canary's requests' headers
	canaryAt []string         // and their paths
	tokens   map[string]bool  // CSRF tokens issued and not used
	sessions map[string]int   // session id → pages served
	logins   int              // logins that worked
	refused  map[string]int   // host → requests refused (401, 403, login)
	posts    []map[string]int // the fields of each login POST, by count
}

// NewSessions returns the site; Start serves it.
func NewSessions(opts SessionsOptions) *Sessions {
	return &Sessions{
		opts:     opts.withDefaults(),
		served:   make(map[string]int),
		tokens:   make(map[string]bool),
		sessions: make(map[string]int),
		refused:  make(map[string]int),
	}
}

// Options returns the options with their defaults filled in.
func (s *Sessions) Options() SessionsOptions { return s.opts }

// Start serves the four hosts on 127.0.0.2 to 127.0.0.5, on ports the
// system picks, until ctx ends, and sets the hosts' base URLs.
func (s *Sessions) Start(ctx context.Context) error {
	handlers := []http.HandlerFunc{s.serveBasic, s.serveLogin, s.serveHeader, s.serveCanary}
	urls := make([]string, len(handlers))
	var lc net.ListenConfig
	for i, h := range handlers {
		ln, err := lc.Listen(ctx, "tcp", fmt.Sprintf("127.0.0.%d:0", i+2))
		if err != nil {
			return fmt.Errorf("testsite: sessions: %w", err)
		}
		urls[i] = "http://" + ln.Addr().String()
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
		context.AfterFunc(ctx, func() { _ = srv.Close() })
		go func() { _ = srv.Serve(ln) }()
	}
	s.Basic, s.Login, s.Header, s.Canary = urls[0], urls[1], urls[2], urls[3]
	return nil
}

// Pages returns the URLs of the pages of the three private hosts.
func (s *Sessions) Pages() []string {
	var out []string
	for _, base := range []string{s.Basic, s.Login, s.Header} {
		for _, p := range s.paths() {
			out = append(out, base+p)
		}
	}
	return out
}

func (s *Sessions) paths() []string {
	out := []string{"/"}
	for i := 1; i < s.opts.Pages; i++ {
		out = append(out, fmt.Sprintf("/p/%d", i))
	}
	return out
}

// Served returns how often each page of the private hosts was served
// (with 200), by URL.
func (s *Sessions) Served() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.served))
	for k, v := range s.served {
		out[k] = v
	}
	return out
}

// Logins returns the number of logins that worked.
func (s *Sessions) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// Refused returns the number of requests the host with base URL base
// refused for want of credentials, a session or the header.
func (s *Sessions) Refused(base string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused[base]
}

// LoginForms returns, for each login POST, how many values each field
// had.
func (s *Sessions) LoginForms() []map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.posts)
}

// CanaryRequests returns the paths and headers of the requests the canary
// got, in order.
func (s *Sessions) CanaryRequests() ([]string, []http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.canaryAt), slices.Clone(s.canary)
}

func (s *Sessions) refuse(base string) {
	s.mu.Lock()
	s.refused[base]++
	s.mu.Unlock()
}

// page writes page path of the host at base, or a 404.
func (s *Sessions) page(w http.ResponseWriter, r *http.Request, base string) {
	if r.URL.Path == "/away" {
		from := map[string]string{s.Basic: "basic", s.Login: "login", s.Header: "header"}[base]
		http.Redirect(w, r, s.Canary+"/from-"+from, http.StatusFound)
		return
	}
	if r.URL.Path == "/robots.txt" {
		w.Write([]byte("User-agent: *\nDisallow: /private\n"))
		return
	}
	n := -1
	if r.URL.Path == "/" {
		n = 0
	} else if _, err := fmt.Sscanf(r.URL.Path, "/p/%d", &n); err != nil || fmt.Sprintf("/p/%d", n) != r.URL.Path {
		n = -1
	}
	if n < 0 || n >= s.opts.Pages {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.served[base+r.URL.Path]++
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><title>%s page %d</title>", base, n)
	for _, k := range []int{2*n + 1, 2*n + 2} {
		if k < s.opts.Pages {
			fmt.Fprintf(&b, `<a href="/p/%d">page %d</a> `, k, k)
		}
	}
	fmt.Fprintf(&b, `<a href="%s/linked/%d">canary</a> <a href="/away">away</a>`, s.Canary, n)
	w.Write([]byte(b.String()))
}

func (s *Sessions) serveBasic(w http.ResponseWriter, r *http.Request) {
	if u, p, ok := r.BasicAuth(); !ok || u != s.opts.User || p != s.opts.Password {
		s.refuse(s.Basic)
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		http.Error(w, "who are you?", http.StatusUnauthorized)
		return
	}
	s.page(w, r, s.Basic)
}

func (s *Sessions) serveHeader(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(s.opts.Header) != s.opts.Key {
		s.refuse(s.Header)
		http.Error(w, "no key", http.StatusForbidden)
		return
	}
	s.page(w, r, s.Header)
}

func (s *Sessions) serveCanary(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.canary = append(s.canary, r.Header.Clone())
	s.canaryAt = append(s.canaryAt, r.URL.Path)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte("<!doctype html><title>canary</title>canary"))
}

// loginForm is the login page: a search form first, then the login form.
const loginForm = `<!doctype html><title>Log in</title>
<form id=search action=/search><input name=q></form>
<form id=login method=post action=/session>
<input type=hidden name=csrf value=%q>
<input name=user> <input type=password name=pw>
<input type=checkbox name=remember value=1 checked>
<input type=submit name=go value="Log in">
</form>`

func (s *Sessions) serveLogin(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/robots.txt":
		s.page(w, r, s.Login)
		return
	case "/login":
		tok := newToken()
		s.mu.Lock()
		s.tokens[tok] = true
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, loginForm, tok)
		return
	case "/session":
		s.session(w, r)
		return
	case "/account":
		if s.sessionOf(r) == "" {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if s.opts.Success != "" {
			w.Write([]byte(s.opts.Success))
			return
		}
		w.Write([]byte(`<!doctype html><title>Account</title><a class=logout href="/logout">Log out</a>`))
		return
	}
	sid := s.sessionOf(r)
	s.mu.Lock()
	live := sid != "" && s.sessions[sid] < s.opts.LogoutAfter
	if live && r.URL.Path != "/away" {
		s.sessions[sid]++
	}
	if !live {
		s.refused[s.Login]++
	}
	s.mu.Unlock()
	if !live {
		http.Redirect(w, r, "/login?next="+r.URL.Path, http.StatusFound)
		return
	}
	s.page(w, r, s.Login)
}

// session checks a submitted login form and starts a session.
func (s *Sessions) session(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		http.Error(w, "POST a form", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	counts := make(map[string]int, len(r.PostForm))
	for k, vv := range r.PostForm {
		counts[k] = len(vv)
	}
	tok := r.PostForm.Get("csrf")
	s.mu.Lock()
	s.posts = append(s.posts, counts)
	good := s.tokens[tok] && r.PostForm.Get("user") == s.opts.User && r.PostForm.Get("pw") == s.opts.Password &&
		r.PostForm.Get("remember") == "1" && r.PostForm.Get("go") == "Log in"
	delete(s.tokens, tok)
	sid := ""
	if good {
		sid = newToken()
		s.sessions[sid] = 0
		s.logins++
	} else {
		s.refused[s.Login]++
	}
	s.mu.Unlock()
	if !good {
		http.Redirect(w, r, "/login?error=1", http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: "sid", Value: sid, Path: "/", HttpOnly: true})
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// sessionOf returns the request's session id, if it is one the site gave.
func (s *Sessions) sessionOf(r *http.Request) string {
	c, err := r.Cookie("sid")
	if err != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[c.Value]; !ok {
		return ""
	}
	return c.Value
}

func newToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
