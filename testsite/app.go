package testsite

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AppOptions configures an App. The zero value is an app of 8 item
// routes beside 6 server-rendered pages.
type AppOptions struct {
	// Items is the number of /app/item/N routes (and of /app/late/N
	// routes, each linked only by a timer on its item). Zero means 8.
	Items int
	// Pages is the number of server-rendered /pages/N pages. Zero means 6.
	Pages int
	// Private is the URL the /app/private route's script fetches: an
	// address a crawl with --deny-private must not reach. Empty means
	// "http://169.254.169.254/latest/meta-data/".
	Private string
	// Latency delays each /api/route answer, so that a page stays
	// rendering a while. Zero means none.
	Latency time.Duration
}

func (o AppOptions) withDefaults() AppOptions {
	if o.Items <= 0 {
		o.Items = 8
	}
	if o.Pages <= 0 {
		o.Pages = 6
	}
	if o.Private == "" {
		o.Private = "http://169.254.169.254/latest/meta-data/"
	}
	return o
}

// App is a single-page app beside server-rendered pages, for the
// headless renderer's tests and benchmark. Every path under /app/ is
// served the same empty shell (a history-API fallback): its links, title
// and prices exist only once /static/app.js has fetched /api/route and
// rendered them, and each item route adds one more link (to
// /app/late/N) after a 300 ms timer. /app/spy's script fetches
// /api/private/data, which robots.txt disallows; /app/private's fetches
// Options.Private. The shell loads an image and a web font (which a
// renderer should not fetch by default). / and /pages/N are
// server-rendered HTML, linked to each other and to /app/, with an
// analytics-like script that changes nothing.
//
// App counts the requests it gets per path. It is safe for concurrent
// use.
type App struct {
	opts AppOptions
	mu   sync.Mutex
	hits map[string]int
}

// NewApp returns an App.
func NewApp(opts AppOptions) *App {
	return &App{opts: opts.withDefaults(), hits: make(map[string]int)}
}

// AppRoutes returns the paths of the app's routes a renderer reaches:
// /app/, its items, their late links, /app/spy and /app/private.
func (a *App) AppRoutes() []string {
	out := []string{"/app/", "/app/spy", "/app/private"}
	for i := 1; i <= a.opts.Items; i++ {
		out = append(out, fmt.Sprintf("/app/item/%d", i), fmt.Sprintf("/app/late/%d", i))
	}
	return out
}

// ServerPages returns the paths of the server-rendered pages: / and
// /pages/N.
func (a *App) ServerPages() []string {
	out := []string{"/"}
	for i := 1; i <= a.opts.Pages; i++ {
		out = append(out, fmt.Sprintf("/pages/%d", i))
	}
	return out
}

// Price returns the price /app/item/n shows, as rendered.
func (a *App) Price(n int) string { return fmt.Sprintf("$%d.99", n) }

// Reset forgets the requests counted so far.
func (a *App) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	clear(a.hits)
}

// Hits returns the requests served so far, by path.
func (a *App) Hits() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.hits)
}

// Disallowed reports the paths robots.txt disallows that were requested.
func (a *App) Disallowed() []string {
	var out []string
	for p := range a.Hits() {
		if strings.HasPrefix(p, "/api/private") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// Media reports the image and font paths that were requested.
func (a *App) Media() []string {
	var out []string
	for p := range a.Hits() {
		if strings.HasPrefix(p, "/img/") || strings.HasSuffix(p, ".woff2") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

const appRobots = "User-agent: *\nDisallow: /api/private\n"

const appShell = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Loading</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><div id="root"></div><img src="/img/logo.png" alt=""><script src="/static/app.js"></script></body></html>
`

const appCSS = `@font-face { font-family: "App"; src: url("/static/app.woff2") format("woff2"); }
body { font-family: "App", sans-serif; }
`

// appJS renders a route from /api/route; a timer adds the late link.
const appJS = `(async function () {
  const path = location.pathname;
  const res = await fetch("/api/route?path=" + encodeURIComponent(path));
  const route = await res.json();
  document.title = route.title;
  const root = document.getElementById("root");
  const h1 = document.createElement("h1");
  h1.textContent = route.title;
  root.appendChild(h1);
  if (route.price) {
    const p = document.createElement("span");
    p.className = "price";
    p.textContent = route.price;
    root.appendChild(p);
  }
  const ul = document.createElement("ul");
  for (const href of route.links) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = href;
    a.textContent = href;
    li.appendChild(a);
    ul.appendChild(li);
  }
  root.appendChild(ul);
  if (route.fetch) {
    fetch(route.fetch).catch(() => {});
  }
  if (route.late) {
    setTimeout(function () {
      const a = document.createElement("a");
      a.href = route.late;
      a.className = "late";
      a.textContent = "more";
      root.appendChild(a);
    }, 300);
  }
})();
`

// analyticsJS is the kind of script server-rendered pages carry: it
// changes nothing a crawler sees.
const analyticsJS = `window.dataLayer = window.dataLayer || []; window.dataLayer.push({page: location.pathname});`

// route is what /api/route answers.
type appRoute struct {
	Title string   `json:"title"`
	Links []string `json:"links"`
	Price string   `json:"price,omitempty"`
	Late  string   `json:"late,omitempty"`
	Fetch string   `json:"fetch,omitempty"`
}

// ServeHTTP implements http.Handler.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	a.mu.Lock()
	a.hits[p]++
	a.mu.Unlock()
	switch {
	case p == "/robots.txt":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, appRobots)
	case p == "/":
		a.serverPage(w, "Home", 0)
	case strings.HasPrefix(p, "/pages/"):
		n, err := strconv.Atoi(strings.TrimPrefix(p, "/pages/"))
		if err != nil || n < 1 || n > a.opts.Pages {
			http.NotFound(w, r)
			return
		}
		a.serverPage(w, fmt.Sprintf("Page %d", n), n)
	case p == "/app" || strings.HasPrefix(p, "/app/"):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, appShell)
	case p == "/static/app.js":
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, appJS)
	case p == "/static/analytics.js":
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, analyticsJS)
	case p == "/static/app.css":
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, appCSS)
	case p == "/static/app.woff2":
		w.Header().Set("Content-Type", "font/woff2")
		fmt.Fprint(w, "wOF2")
	case strings.HasPrefix(p, "/img/"):
		w.Header().Set("Content-Type", "image/png")
		fmt.Fprint(w, "\x89PNG\r\n\x1a\n")
	case p == "/api/route":
		if a.opts.Latency > 0 {
			select {
			case <-time.After(a.opts.Latency):
			case <-r.Context().Done():
				return
			}
		}
		rt, ok := a.route(r.URL.Query().Get("path"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rt)
	case strings.HasPrefix(p, "/api/private"):
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"secret":true}`)
	default:
		http.NotFound(w, r)
	}
}

// route returns the app route at path.
func (a *App) route(path string) (appRoute, bool) {
	switch {
	case path == "/app/" || path == "/app":
		rt := appRoute{Title: "App home", Links: []string{"/app/spy", "/app/private", "/"}}
		for i := 1; i <= a.opts.Items; i++ {
			rt.Links = append(rt.Links, fmt.Sprintf("/app/item/%d", i))
		}
		return rt, true
	case path == "/app/spy":
		return appRoute{Title: "Spy", Links: []string{"/app/"}, Fetch: "/api/private/data"}, true
	case path == "/app/private":
		return appRoute{Title: "Private", Links: []string{"/app/"}, Fetch: a.opts.Private}, true
	case strings.HasPrefix(path, "/app/item/"):
		n, err := strconv.Atoi(strings.TrimPrefix(path, "/app/item/"))
		if err != nil || n < 1 || n > a.opts.Items {
			return appRoute{}, false
		}
		return appRoute{Title: fmt.Sprintf("Item %d", n), Links: []string{"/app/"}, Price: a.Price(n),
			Late: fmt.Sprintf("/app/late/%d", n)}, true
	case strings.HasPrefix(path, "/app/late/"):
		n, err := strconv.Atoi(strings.TrimPrefix(path, "/app/late/"))
		if err != nil || n < 1 || n > a.opts.Items {
			return appRoute{}, false
		}
		return appRoute{Title: fmt.Sprintf("Late %d", n), Links: []string{"/app/"}}, true
	}
	return appRoute{}, false
}

// serverPage writes a server-rendered page: links to its neighbours and
// to the app, and an image.
func (a *App) serverPage(w http.ResponseWriter, title string, n int) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><title>%s</title></head><body><h1>%s</h1>\n<img src=\"/img/page%d.png\" alt=\"\">\n<ul>", title, title, n)
	for i := 1; i <= a.opts.Pages; i++ {
		if i != n {
			fmt.Fprintf(&b, "<li><a href=\"/pages/%d\">Page %d</a></li>", i, i)
		}
	}
	b.WriteString("<li><a href=\"/app/\">The app</a></li></ul><script src=\"/static/analytics.js\"></script></body></html>\n")
	fmt.Fprint(w, b.String())
}
