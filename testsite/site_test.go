package testsite

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// fetched is a page as a client sees it.
type fetched struct {
	status int
	title  string
	hrefs  []string
	body   []byte
}

// get fetches rawURL and parses it as HTML with golang.org/x/net/html, the
// parser the crawler uses, independently of how the site writes pages.
func get(t *testing.T, client *http.Client, rawURL string) fetched {
	t.Helper()
	resp, err := client.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", rawURL, err)
	}
	f := fetched{status: resp.StatusCode, body: body}
	doc, err := html.Parse(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("GET %s: parse: %v", rawURL, err)
	}
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "title":
			if n.FirstChild != nil {
				f.title = n.FirstChild.Data
			}
		case "a":
			for _, a := range n.Attr {
				if a.Key == "href" {
					f.hrefs = append(f.hrefs, a.Val)
				}
			}
		}
	}
	return f
}

// pageOf returns the page a URL path names: "/" (or the empty path of
// "http://host") is page 0, "/p/<k>" page k.
func pageOf(path string) (int, bool) {
	if path == "/" || path == "" {
		return 0, true
	}
	rest, ok := strings.CutPrefix(path, "/p/")
	if !ok {
		return 0, false
	}
	k, err := strconv.Atoi(rest)
	return k, err == nil && k >= 0
}

func TestPageContent(t *testing.T) {
	offsite := httptest.NewServer(http.NotFoundHandler())
	defer offsite.Close()
	site := New(Options{Pages: 100, Seed: 1, OffsiteURL: offsite.URL})
	srv := httptest.NewServer(site)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	q := regexp.QuoteMeta

	// Patterns every page has, whatever its place in the tree.
	common := []string{
		`^/$`,                            // back to the home page
		`^/p/\d+#top$`,                   // fragment variant
		`^\.\./p/\d+$`,                   // relative, up and down
		`^http://` + q(host) + `/p/\d+$`, // absolute
		`^//` + q(host) + `/p/\d+$`,      // scheme-relative
		`^HTTP://` + q(strings.ToUpper(host)) + `/p/%3\d+$`, // case and encoding variant
		`^mailto:`,
		`^javascript:`,
	}
	tests := []struct {
		name      string
		path      string
		page      int
		canonical bool     // served at its canonical path, so LinksFor applies
		want      []string // patterns that some href must match, besides common
	}{
		{"home", "/", 0, true, []string{`^/p/1$`, `^/p/2$`, `^p/\d+$`, `^` + q(offsite.URL) + `/x/0$`, `^/private/0$`}},
		{"home at /p/0", "/p/0", 0, false, []string{`^/p/1$`, `^/p/2$`, `^\./\d+$`}},
		{"inner", "/p/5", 5, true, []string{`^/p/11$`, `^/p/12$`, `^\.\./p/2$`, `^\./\d+$`, `^` + q(offsite.URL) + `/x/5$`, `^/private/5$`}},
		{"child of home", "/p/2", 2, true, []string{`^/p/5$`, `^/p/6$`, `^\.\./$`}},
		{"one child", "/p/49", 49, true, []string{`^/p/99$`, `^\.\./p/24$`}},
		{"leaf", "/p/99", 99, true, []string{`^\.\./p/49$`, `^/private/99$`}},
		{"percent-encoded path", "/p/%35", 5, false, []string{`^/p/11$`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := get(t, srv.Client(), srv.URL+tt.path)
			if f.status != http.StatusOK {
				t.Fatalf("status %d, want 200", f.status)
			}
			if want := fmt.Sprintf("Page %d", tt.page); f.title != want {
				t.Errorf("title %q, want %q", f.title, want)
			}
			if len(f.hrefs) != DefaultLinksPerPage {
				t.Errorf("%d links, want %d", len(f.hrefs), DefaultLinksPerPage)
			}
			if len(f.body) != DefaultPageBytes {
				t.Errorf("body is %d bytes, want %d", len(f.body), DefaultPageBytes)
			}
			for _, pat := range slices.Concat(common, tt.want) {
				re := regexp.MustCompile(pat)
				if !slices.ContainsFunc(f.hrefs, re.MatchString) {
					t.Errorf("no href matches %s in %q", pat, f.hrefs)
				}
			}
			seen := map[string]bool{}
			dup := false
			for _, h := range f.hrefs {
				dup = dup || seen[h]
				seen[h] = true
			}
			if !dup {
				t.Errorf("no href appears twice in %q", f.hrefs)
			}
			if got := site.LinksFor(host, tt.page); tt.canonical && !slices.Equal(got, f.hrefs) {
				t.Errorf("LinksFor = %q, page has %q", got, f.hrefs)
			}
			// Every on-site link leads to a page that exists.
			base, _ := url.Parse(srv.URL + tt.path)
			for _, h := range f.hrefs {
				u, err := base.Parse(h)
				if err != nil || !strings.EqualFold(u.Host, host) || u.Scheme != "http" {
					continue
				}
				if k, ok := pageOf(u.Path); !ok && !strings.HasPrefix(u.Path, "/private/") || ok && k >= 100 {
					t.Errorf("href %q resolves to %s, which is no page", h, u)
				}
			}
		})
	}
}

func TestLinksDeterministic(t *testing.T) {
	a := New(Options{Pages: 500, Seed: 7})
	b := New(Options{Pages: 500, Seed: 7})
	c := New(Options{Pages: 500, Seed: 8})
	differ := false
	for n := range 500 {
		if !slices.Equal(a.Links(n), b.Links(n)) {
			t.Fatalf("page %d: same options, different links", n)
		}
		differ = differ || !slices.Equal(a.Links(n), c.Links(n))
	}
	if !differ {
		t.Error("seeds 7 and 8 give the same links on every page")
	}
	if a.Links(-1) != nil || a.Links(500) != nil {
		t.Error("Links out of range is not nil")
	}
	short := New(Options{Pages: 500, Seed: 7, LinksPerPage: 5})
	for n := range 500 {
		if got, want := short.Links(n), a.Links(n)[:5]; !slices.Equal(got, want) {
			t.Fatalf("page %d with 5 links: %q, want the prefix %q", n, got, want)
		}
	}
}

func TestRoutes(t *testing.T) {
	site := New(Options{Pages: 100, DisallowPrefix: "/secret/"})
	srv := httptest.NewServer(site)
	defer srv.Close()
	tests := []struct {
		method     string
		path       string
		wantStatus int
		wantBody   string // substring
	}{
		{"GET", "/", 200, "<title>Page 0</title>"},
		{"GET", "/p/0", 200, "<title>Page 0</title>"},
		{"GET", "/p/99", 200, "<title>Page 99</title>"},
		{"GET", "/p/7?utm=x", 200, "<title>Page 7</title>"},
		{"GET", "/p/%37", 200, "<title>Page 7</title>"},
		{"GET", "/robots.txt", 200, "User-agent: *\nDisallow: /secret/\n"},
		{"GET", "/secret/3", 200, "<title>Private 3</title>"},
		{"GET", "/secret/x", 404, ""},
		{"GET", "/private/3", 404, ""},
		{"GET", "/p/100", 404, ""},
		{"GET", "/p/07", 404, ""},
		{"GET", "/p/-1", 404, ""},
		{"GET", "/p/", 404, ""},
		{"GET", "/p/5/", 404, ""},
		{"GET", "/p/99999999999999999999", 404, ""},
		{"GET", "/x/1", 404, ""},
		{"HEAD", "/p/1", 200, ""},
		{"POST", "/p/1", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %q does not contain %q", body, tt.wantBody)
			}
		})
	}
}

// counts is a snapshot of a site's counters.
type counts struct {
	requests                                      int64
	unique, duplicates, robots, violations, nf404 int
}

func snapshot(s *Site) counts {
	return counts{s.Requests(), s.Unique(), s.Duplicates(), s.RobotsFetches(), s.Violations(), s.NotFound()}
}

func TestCounters(t *testing.T) {
	site := New(Options{Pages: 10})
	srv := httptest.NewServer(site)
	defer srv.Close()
	tests := []struct {
		name    string
		paths   []string
		want    counts
		fetches map[int]int
	}{
		{"nothing", nil, counts{}, map[int]int{0: 0}},
		{"each page once", []string{"/", "/p/1", "/p/2"}, counts{requests: 3, unique: 3}, map[int]int{0: 1, 1: 1, 2: 1, 3: 0}},
		{"home twice by two paths", []string{"/", "/p/0"}, counts{requests: 2, unique: 1, duplicates: 1}, map[int]int{0: 2}},
		{"duplicates", []string{"/p/3", "/p/3", "/p/3", "/p/%33"}, counts{requests: 4, unique: 1, duplicates: 3}, map[int]int{3: 4}},
		{"robots", []string{"/robots.txt", "/robots.txt"}, counts{requests: 2, robots: 2}, nil},
		{"violations", []string{"/private/1", "/private/oops"}, counts{requests: 2, violations: 2, nf404: 1}, map[int]int{1: 0}},
		{"not found", []string{"/p/10", "/nope", "/p/"}, counts{requests: 3, nf404: 3}, nil},
		{"mixed", []string{"/robots.txt", "/", "/p/1", "/p/1", "/private/2", "/zzz"},
			counts{requests: 6, unique: 2, duplicates: 1, robots: 1, violations: 1, nf404: 1}, map[int]int{0: 1, 1: 2, 2: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site.Reset()
			for _, p := range tt.paths {
				resp, err := srv.Client().Get(srv.URL + p)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if got := snapshot(site); got != tt.want {
				t.Errorf("counters %+v, want %+v", got, tt.want)
			}
			for n, want := range tt.fetches {
				if got := site.Fetches(n); got != want {
					t.Errorf("Fetches(%d) = %d, want %d", n, got, want)
				}
				if got := site.FetchesHost(srv.URL, n); got != want {
					t.Errorf("FetchesHost(%s, %d) = %d, want %d", srv.URL, n, got, want)
				}
			}
			if got, want := site.UniqueHost(srv.URL), tt.want.unique; got != want {
				t.Errorf("UniqueHost = %d, want %d", got, want)
			}
			if got, want := site.DuplicatesHost(srv.URL), tt.want.duplicates; got != want {
				t.Errorf("DuplicatesHost = %d, want %d", got, want)
			}
		})
	}
	if got := site.Fetches(-1) + site.Fetches(10) + site.FetchesHost("nohost:1", 1); got != 0 {
		t.Errorf("Fetches out of range or of an unknown host = %d, want 0", got)
	}
}

// holdRequests sends n GETs of /p/1 to each base URL at once, waits until the
// site has received all of them (they wait out a long Latency), then cancels
// them and waits for the clients to return.
func holdRequests(t *testing.T, site *Site, client *http.Client, perBase map[string]int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	total := int64(0)
	for base, n := range perBase {
		total += int64(n)
		for range n {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/p/1", nil)
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			})
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for site.Requests() < total {
		if time.Now().After(deadline) {
			t.Fatalf("the site received %d of %d requests", site.Requests(), total)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	wg.Wait()
}

func TestMaxInFlight(t *testing.T) {
	site := New(Options{Pages: 10, Latency: time.Minute})
	srv := httptest.NewServer(site)
	defer srv.Close()
	start := time.Now()
	holdRequests(t, site, srv.Client(), map[string]int{srv.URL: 8})
	if got := site.MaxInFlight(); got != 8 {
		t.Errorf("MaxInFlight = %d, want 8", got)
	}
	if got := site.MaxInFlightHost(srv.URL); got != 8 {
		t.Errorf("MaxInFlightHost = %d, want 8", got)
	}
	if got := site.MaxInFlightHost("elsewhere:80"); got != 0 {
		t.Errorf("MaxInFlightHost of an unknown host = %d, want 0", got)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("requests took %v: Latency ignored the request context", d)
	}
}

func TestLatency(t *testing.T) {
	const latency = 30 * time.Millisecond
	site := New(Options{Pages: 10, Latency: latency})
	srv := httptest.NewServer(site)
	defer srv.Close()
	for _, path := range []string{"/", "/robots.txt", "/nope"} {
		start := time.Now()
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if d := time.Since(start); d < latency {
			t.Errorf("GET %s answered in %v, before Latency %v", path, d, latency)
		}
	}
	// Each request took at least the latency in the handler, and no more
	// than the client waited for it.
	if m := site.MeanServiceTime(); m < latency || m > 10*latency {
		t.Errorf("MeanServiceTime = %v after three requests of Latency %v", m, latency)
	}
	// Requests cut short during the wait are not counted.
	site.Reset()
	if m := site.MeanServiceTime(); m != 0 {
		t.Errorf("MeanServiceTime after Reset = %v, want 0", m)
	}
	slow := New(Options{Pages: 10, Latency: time.Minute})
	slowSrv := httptest.NewServer(slow)
	defer slowSrv.Close()
	holdRequests(t, slow, slowSrv.Client(), map[string]int{slowSrv.URL: 2})
	if m := slow.MeanServiceTime(); m != 0 {
		t.Errorf("MeanServiceTime = %v after requests abandoned during Latency; want 0", m)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"zero", Options{}, false},
		{"full", Options{Pages: 5, LinksPerPage: 2, PageBytes: 1, Latency: time.Millisecond, OffsiteURL: "http://127.0.0.1:1", DisallowPrefix: "/no"}, false},
		{"negative pages", Options{Pages: -1}, true},
		{"too many pages", Options{Pages: 1 << 31}, true},
		{"one link", Options{LinksPerPage: 1}, true},
		{"negative bytes", Options{PageBytes: -1}, true},
		{"negative latency", Options{Latency: -time.Second}, true},
		{"relative offsite", Options{OffsiteURL: "offsite/x"}, true},
		{"prefix without slash", Options{DisallowPrefix: "private/"}, true},
		{"prefix of everything", Options{DisallowPrefix: "/"}, true},
		{"prefix over pages", Options{DisallowPrefix: "/p/1"}, true},
		{"prefix over robots", Options{DisallowPrefix: "/robots"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "testsite: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}
