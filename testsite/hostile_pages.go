package testsite

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// hostileIndex lists the entry page of every case; "/" links to each.
var hostileIndex = []string{
	"/trap/calendar/2024-01", "/trap/session?sid=1", "/trap/deep/", "/trap/farm", "/trap/long", "/trap/grow/x",
	"/redirect/loop-a", "/redirect/chain/15", "/redirect/other", "/redirect/other-private",
	"/redirect/private", "/redirect/ftp", "/redirect/javascript",
	"/body/big", "/body/big-chunked", "/body/gzip-bomb", "/body/drip", "/body/reset", "/body/short",
	"/status/429", "/status/503", "/status/500", "/status/404",
	"/content/malformed", "/content/base/", "/content/whitespace", "/content/schemes",
	"/content/protocol-relative", "/content/dotdot/a/b/", "/content/variants",
	"/content/meta-nofollow", "/content/rel-nofollow", "/content/cp1251", "/content/sjis",
	"/content/pdf", "/content/image", "/content/octet",
	"/security/cookie",
	"/canonical/variants", "/canonical/order", "/canonical/header", "/canonical/conflict",
	"/redirect/tracked",
}

const hostileRobots = "User-agent: *\nDisallow: /private/\n"

// serveMain routes a request to the hostile site.
func (h *Hostile) serveMain(w *recorder, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/":
		var b strings.Builder
		for _, e := range hostileIndex {
			fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a>\n", html.EscapeString(e), html.EscapeString(e))
		}
		page(w, "Hostile web", b.String())
	case p == "/robots.txt":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, hostileRobots)
	case strings.HasPrefix(p, "/t/"), strings.HasPrefix(p, "/private/"):
		page(w, "leaf", "<p>"+html.EscapeString(p)+"</p>")
	case strings.HasPrefix(p, "/trap/"):
		h.serveTrap(w, r)
	case strings.HasPrefix(p, "/redirect/"):
		h.serveRedirect(w, r)
	case strings.HasPrefix(p, "/body/"):
		h.serveBody(w, r)
	case strings.HasPrefix(p, "/status/"):
		h.serveStatus(w, r)
	case strings.HasPrefix(p, "/content/"):
		h.serveContent(w, r)
	case strings.HasPrefix(p, "/security/"):
		h.serveSecurity(w, r)
	case strings.HasPrefix(p, "/canonical/"):
		h.serveCanonical(w, r)
	default:
		http.NotFound(w, r)
	}
}

// serveOther is the second host: robots.txt and leaf pages.
func (h *Hostile) serveOther(w *recorder, r *http.Request) {
	if r.URL.Path == "/robots.txt" {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, hostileRobots)
		return
	}
	page(w, "other host", "<p>"+html.EscapeString(r.URL.Path)+"</p>")
}

// page writes a small UTF-8 HTML page.
func page(w http.ResponseWriter, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><html><head><title>%s</title></head><body>\n%s\n</body></html>\n", html.EscapeString(title), body)
}

func (h *Hostile) serveTrap(w *recorder, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/trap/calendar/"):
		var y, m int
		if _, err := fmt.Sscanf(p[len("/trap/calendar/"):], "%d-%d", &y, &m); err != nil || m < 1 || m > 12 {
			http.NotFound(w, r)
			return
		}
		month := time.Date(y, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		prev, next := month.AddDate(0, -1, 0), month.AddDate(0, 1, 0)
		page(w, "Calendar "+month.Format("2006-01"), fmt.Sprintf(
			"<a href=\"%s\">previous</a> <a href=\"%s\">next</a>", prev.Format("2006-01"), next.Format("2006-01")))
	case p == "/trap/session":
		sid, _ := strconv.Atoi(r.URL.Query().Get("sid"))
		page(w, "Session", fmt.Sprintf(
			"<a href=\"/trap/session?sid=%d\">again</a> <a href=\"/trap/session?sid=%d&amp;utm_source=loop\">tracked</a> "+
				"<a href=\"session?utm_campaign=x&amp;sid=%d\">relative</a>", sid+1, sid+2, sid+3))
	case strings.HasPrefix(p, "/trap/deep/"):
		page(w, fmt.Sprintf("Depth %d", strings.Count(p, "/a/")), "<a href=\"a/\">deeper</a>")
	case p == "/trap/farm":
		h.farmOnce.Do(func() {
			b := []byte("<!doctype html><title>Link farm</title>\n")
			for i := range h.opts.FarmLinks {
				b = append(b, "<a href=/trap/farm/"...)
				b = strconv.AppendInt(b, int64(i), 10)
				b = append(b, ">link</a>\n"...)
			}
			h.farm = b
		})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(h.farm)))
		w.Write(h.farm)
	case strings.HasPrefix(p, "/trap/farm/"):
		page(w, "farm leaf", "")
	case p == "/trap/long":
		page(w, "Long URLs", fmt.Sprintf("<a href=\"/t/long-ok/%s\">1,500</a> <a href=\"/t/never/long/%s\">2,100</a> <a href=\"/t/never/huge/%s\">100,000</a>",
			strings.Repeat("x", 1500), strings.Repeat("y", 2100), strings.Repeat("z", 100_000)))
	case strings.HasPrefix(p, "/trap/grow/"):
		seg := p[len("/trap/grow/"):]
		page(w, fmt.Sprintf("Grow %d", len(seg)), "<a href=\""+html.EscapeString(seg+seg)+"\">longer</a>")
	default:
		http.NotFound(w, r)
	}
}

func (h *Hostile) serveRedirect(w *recorder, r *http.Request) {
	p := r.URL.Path
	to := ""
	switch p {
	case "/redirect/loop-a":
		to = "/redirect/loop-b"
	case "/redirect/loop-b":
		to = "/redirect/loop-a"
	case "/redirect/other":
		to = h.otherURL() + "/t/landing"
	case "/redirect/other-private":
		to = h.otherURL() + "/private/landing"
	case "/redirect/private":
		to = "/private/secret"
	case "/redirect/ftp":
		to = "ftp://127.0.0.1/file"
	case "/redirect/javascript":
		to = "javascript:alert(1)"
	case "/redirect/tracked":
		to = "/t/%65xcluded?utm_source=mail#top"
	default:
		n, err := strconv.Atoi(strings.TrimPrefix(p, "/redirect/chain/"))
		switch {
		case err != nil || n < 0:
			http.NotFound(w, r)
			return
		case n == 0:
			page(w, "End of the chain", "")
			return
		}
		to = "/redirect/chain/" + strconv.Itoa(n-1)
	}
	// Not http.Redirect: it would clean up the non-HTTP targets.
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusFound)
}

// bigChunk is the repeated content of the big bodies: links that a crawler
// must not follow, since it must not parse a body it cut off.
var bigChunk = bytes.Repeat([]byte("<a href=\"/t/never/big\">big</a>\n"), 2048)

func (h *Hostile) serveBody(w *recorder, r *http.Request) {
	switch r.URL.Path {
	case "/body/big", "/body/big-chunked":
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/body/big" {
			w.Header().Set("Content-Length", strconv.FormatInt(h.opts.BigBytes, 10))
		}
		for left := h.opts.BigBytes; left > 0; {
			n := min(left, int64(len(bigChunk)))
			if _, err := w.Write(bigChunk[:n]); err != nil {
				return
			}
			left -= n
		}
	case "/body/gzip-bomb":
		h.bombOnce.Do(func() {
			var b bytes.Buffer
			gz, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			gz.Write(make([]byte, 1<<20))
			gz.Close()
			h.bombMember = b.Bytes()
		})
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		// Concatenated gzip members are one gzip stream (RFC 1952 2.2).
		for left := h.opts.BombBytes; left > 0; left -= 1 << 20 {
			if _, err := w.Write(h.bombMember); err != nil {
				return
			}
		}
	case "/body/drip":
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", strconv.Itoa(h.opts.DripBytes))
		w.WriteHeader(http.StatusOK)
		w.Flush()
		t := time.NewTicker(h.opts.DripEvery)
		defer t.Stop()
		for range h.opts.DripBytes {
			select {
			case <-r.Context().Done():
				return
			case <-t.C:
			}
			if _, err := w.Write([]byte{'x'}); err != nil {
				return
			}
			w.Flush()
		}
	case "/body/reset":
		conn := hijack(w)
		if conn == nil {
			return
		}
		w.status = http.StatusOK
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
		n, _ := conn.Write(bytes.Repeat([]byte("<p>reset</p>"), 1000/12+1)[:1000])
		w.bytes = int64(n)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // Close sends RST
		}
		conn.Close()
	case "/body/short":
		conn := hijack(w)
		if conn == nil {
			return
		}
		w.status = http.StatusOK
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100\r\n\r\n")
		n, _ := io.WriteString(conn, "<title>short</title>"+strings.Repeat(".", 30))
		w.bytes = int64(n)
		conn.Close()
	default:
		http.NotFound(w, r)
	}
}

// hijack takes over the connection, or reports failure as a 500.
func hijack(w *recorder) net.Conn {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "hijack: "+err.Error(), http.StatusInternalServerError)
		return nil
	}
	_ = buf.Flush()
	return conn
}

func (h *Hostile) serveStatus(w *recorder, r *http.Request) {
	n := h.Count(HostileMain, r.URL.Path) // this request included
	switch r.URL.Path {
	case "/status/429":
		if n == 1 {
			secs := (h.opts.RetryAfter + time.Second - 1) / time.Second
			w.Header().Set("Retry-After", strconv.Itoa(int(secs)))
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
	case "/status/503":
		if n <= 2 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
	case "/status/500":
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	default:
		http.NotFound(w, r)
		return
	}
	page(w, "Recovered", "")
}

// cp1251 encodes the Cyrillic letters and ASCII of s in windows-1251.
func cp1251(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80:
			b.WriteRune(r)
		case r >= 'А' && r <= 'я':
			b.WriteByte(byte(r - 'А' + 0xC0))
		case r == 'Ё':
			b.WriteByte(0xA8)
		case r == 'ё':
			b.WriteByte(0xB8)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// Shift_JIS bytes of the Japanese text of /content/sjis.
const (
	sjisTitle  = "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x79\x81\x5b\x83\x57" // 日本語のページ
	sjisLink   = "\x83\x8a\x83\x93\x83\x4e"                                 // リンク
	sjisNippon = "\x93\xfa\x96\x7b"                                         // 日本
	sjisSearch = "\x8c\x9f\x8d\xf5"                                         // 検索
)

func (h *Hostile) serveContent(w *recorder, r *http.Request) {
	host := r.Host
	otherHost := strings.TrimPrefix(strings.TrimPrefix(h.otherURL(), "http://"), "https://")
	switch r.URL.Path {
	case "/content/malformed":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head><title>Malformed <b>page</title><body>\x00<<<>>>&&amp;&#xZZ;"+
			"<table><tr><td><a href=\"/t/malformed-1\">one<td><a href='/t/malformed-2'>two</table>"+
			"</div></span><div><p><a href=/t/malformed-3>three</p></em></i>"+
			"<a href=\"/t/malformed-4\" href=\"/t/never/duplicate-attribute\">four</a>"+
			"<!-- an unclosed comment <a href=\"/t/never/in-comment\">")
	case "/content/base/":
		page(w, "Base", "<base href=\"/t/based/\"><a href=\"target\">relative to the base</a> <a href=\"../based-up\">up from it</a>")
	case "/content/whitespace":
		page(w, "Whitespace", "<a href=\"  /t/ws-1  \">1</a> <a href=\"\n/t/ws-\n2\n\">2</a> <a href=\"\t/t/ws-3\t\r\n\">3</a> "+
			"<a href=\"/t/ws-4 with space\">4</a> <a\nhref\n=\n\"/t/ws-5\"\n>5</a>")
	case "/content/schemes":
		page(w, "Schemes", "<a href=\"javascript:alert(1)\">js</a> <a href=\"JavaScript:void(0)\">JS</a> "+
			"<a href=\"  java\nscript:alert(2)\">js with newline</a> <a href=\"mailto:a@example.invalid\">mail</a> "+
			"<a href=\"tel:+15555550100\">tel</a> <a href=\"data:text/html,&lt;a href=/t/never/data&gt;\">data</a> "+
			"<a href=\"vbscript:msgbox\">vb</a> <a href=\"file:///etc/passwd\">file</a> <a href=\"ftp://127.0.0.1/x\">ftp</a> "+
			"<a href=\"/t/schemes-ok\">the only page</a>")
	case "/content/protocol-relative":
		page(w, "Protocol-relative", "<a href=\"//"+html.EscapeString(host)+"/t/protorel\">same host</a> "+
			"<a href=\"//"+html.EscapeString(otherHost)+"/t/protorel-other\">other host</a>")
	case "/content/dotdot/a/b/":
		page(w, "Dot-dot", "<a href=\"../../../../../../t/dotdot-1\">1</a> <a href=\"/../../t/dotdot-2\">2</a> "+
			"<a href=\"../../../../t/./dotdot-3/.\">3</a> <a href=\"%2e%2e/%2E%2E/%2e%2e/%2e%2e/t/dotdot-4\">4</a> "+
			"<a href=\"http://"+html.EscapeString(host)+"/../t/dotdot-5\">5</a>")
	case "/content/variants":
		up := strings.ToUpper(host)
		page(w, "Variants", strings.Join([]string{
			"<a href=\"/t/~user/page\">plain</a>",
			"<a href=\"/t/%7Euser/page\">%7E</a>",
			"<a href=\"/t/%7euser/page\">%7e</a>",
			"<a href=\"http://" + up + "/t/~user/page\">upper-case host</a>",
			"<a href=\"HTTP://" + host + "/t/%7Euser/./page\">upper-case scheme, dot segment</a>",
			"<a href=\"/t/x/../~user/page#section\">dot-dot and fragment</a>",
			"<a href=\"//" + host + "/t/%7E%75ser/page\">protocol-relative, escaped letter</a>",
			"<a href=\"/t/q?a=%2f&amp;b=%7E\">query</a>",
			"<a href=\"/t/q?a=%2F&amp;b=~\">query variant</a>",
		}, " "))
	case "/content/meta-nofollow":
		page(w, "Meta nofollow", "<meta name=\"robots\" content=\"noindex, NOFOLLOW\"><a href=\"/t/never/meta-nofollow\">no</a>")
	case "/content/rel-nofollow":
		page(w, "Rel nofollow", "<a rel=\"nofollow\" href=\"/t/never/rel-nofollow\">no</a> "+
			"<a rel=\"external NoFollow\" href=\"/t/never/rel-nofollow-2\">no</a> <a href=\"/t/rel-follow\">yes</a>")
	case "/content/cp1251":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, cp1251("<html><head><meta charset=\"windows-1251\"><title>Привет мир</title></head>"+
			"<body><p>Ёжик в тумане</p><a href=\"/t/cp1251/Привет?q=Привет\">Ссылка</a></body></html>"))
	case "/content/sjis":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><head><meta charset=\"Shift_JIS\"><title>"+sjisTitle+"</title></head>"+
			"<body><a href=\"/t/sjis/"+sjisNippon+"?q="+sjisSearch+"\">"+sjisLink+"</a></body></html>")
	case "/content/pdf":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n<a href=\"/t/never/pdf\">x</a>\n%%EOF\n")
	case "/content/image":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR<a href=\"/t/never/image\">x</a>")
	case "/content/octet":
		w.Header().Set("Content-Type", "application/octet-stream")
		io.WriteString(w, "<html><title>binary</title><a href=\"/t/never/octet\">x</a></html>")
	default:
		http.NotFound(w, r)
	}
}

func (h *Hostile) serveSecurity(w *recorder, r *http.Request) {
	switch r.URL.Path {
	case "/security/cookie":
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "secret", Path: "/"})
		page(w, "Cookie", "<a href=\"/security/redirect-other\">away</a> <a href=\"/t/after-cookie\">stay</a>")
	case "/security/redirect-other":
		w.Header().Set("Location", h.otherURL()+"/t/landing-security")
		w.WriteHeader(http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}
