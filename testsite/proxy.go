package testsite

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ProxyOptions configures a Proxy or a SOCKS5 server. The zero value is
// an open proxy that dials every address as given.
type ProxyOptions struct {
	// User and Password, when User is not empty, are the credentials the
	// proxy requires: HTTP Basic proxy authentication (a Proxy answers
	// 407 without them) or SOCKS5 user/password authentication (RFC 1929).
	User, Password string
	// Hosts maps a target "host:port" to the address dialed for it, so
	// that a site is reachable by a name that only the proxy resolves
	// (such as "a.test:80"): a crawler that bypassed the proxy would not
	// reach it. Targets not in Hosts are dialed as given.
	Hosts map[string]string
	// CloseAfter, when positive, makes the server stop (as Close does) on
	// receiving its CloseAfter+1st request, which gets no answer: a proxy
	// that dies mid-crawl. Zero means never.
	CloseAfter int
}

// ProxyRequest is one request a Proxy or SOCKS5 server received.
type ProxyRequest struct {
	// Method is the HTTP method; "CONNECT" for a tunnel (SOCKS5 ones too).
	Method string
	// Target is the absolute URL of a forwarded request, or the
	// "host:port" of a tunnel.
	Target string
}

// Proxy is a forward HTTP proxy on loopback, for tests of a crawler behind
// one: it forwards absolute-form requests ("GET http://host/path"), adding
// a Via header, and opens CONNECT tunnels. It logs every request, can be
// told to answer every request with one status (SetStatus: a proxy that
// rate-limits or bans), and stops with Close, cutting the connections it
// holds. It is safe for concurrent use.
type Proxy struct {
	opts   ProxyOptions
	ln     net.Listener
	srv    *http.Server
	tr     *http.Transport
	conns  connSet
	status atomic.Int32
	log    requestLog
}

// NewProxy starts a Proxy on a free port of 127.0.0.1.
func NewProxy(opts ProxyOptions) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testsite: proxy: %w", err)
	}
	p := &Proxy{opts: opts, ln: ln}
	var d net.Dialer
	p.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, mapHost(opts.Hosts, addr))
		},
		DisableCompression: true,
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				p.conns.add(c)
			case http.StateClosed, http.StateHijacked:
				p.conns.remove(c)
			}
		},
	}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL returns the proxy's URL, http://127.0.0.1:port, without credentials.
func (p *Proxy) URL() *url.URL { return &url.URL{Scheme: "http", Host: p.ln.Addr().String()} }

// SetStatus makes the proxy answer every request (tunnels included) with
// status and a short body, instead of forwarding it; 0 forwards again.
func (p *Proxy) SetStatus(status int) { p.status.Store(int32(status)) }

// Requests returns the requests received so far, in order.
func (p *Proxy) Requests() []ProxyRequest { return p.log.all() }

// Close stops the proxy: its listener and every connection, tunnels
// included, are closed.
func (p *Proxy) Close() error {
	err := p.srv.Close()
	p.conns.closeAll()
	p.tr.CloseIdleConnections()
	return err
}

// ServeHTTP implements http.Handler: it is the proxy.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := ProxyRequest{Method: r.Method, Target: r.RequestURI}
	if p.log.add(req) > p.opts.CloseAfter && p.opts.CloseAfter > 0 {
		go p.Close()
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	}
	if p.opts.User != "" && !p.authorized(r) {
		w.Header().Set("Proxy-Authenticate", `Basic realm="testsite proxy"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if st := int(p.status.Load()); st != 0 {
		http.Error(w, "proxy says: "+http.StatusText(st), st)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "this is a proxy: send an absolute http URL", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range []string{"Proxy-Authorization", "Proxy-Connection", "Connection", "Keep-Alive"} {
		out.Header.Del(h)
	}
	out.Header.Add("Via", "1.1 testsite-proxy")
	resp, err := p.tr.RoundTrip(out)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vv := range resp.Header {
		w.Header()[k] = vv
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// authorized reports whether r carries the proxy's credentials.
func (p *Proxy) authorized(r *http.Request) bool {
	auth, ok := strings.CutPrefix(r.Header.Get("Proxy-Authorization"), "Basic ")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return false
	}
	want := p.opts.User + ":" + p.opts.Password
	return subtle.ConstantTimeCompare(raw, []byte(want)) == 1
}

// tunnel answers a CONNECT: it dials the target and relays bytes both ways.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	target, err := net.DialTimeout("tcp", mapHost(p.opts.Hosts, r.Host), 10*time.Second)
	if err != nil {
		http.Error(w, "proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		target.Close()
		http.Error(w, "proxy: cannot hijack", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		target.Close()
		return
	}
	if _, err := client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		client.Close()
		target.Close()
		return
	}
	// Bytes the client sent after its CONNECT are in buf.
	relay(&p.conns, &bufferedConn{Conn: client, r: buf.Reader}, target)
}

// mapHost returns the address to dial for addr under hosts.
func mapHost(hosts map[string]string, addr string) string {
	if a, ok := hosts[strings.ToLower(addr)]; ok {
		return a
	}
	return addr
}

// bufferedConn is a net.Conn whose first bytes come from r.
type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

// relay copies bytes between a and b until either side ends, then closes
// both; conns tracks them meanwhile, so that Close cuts the tunnel.
func relay(conns *connSet, a, b net.Conn) {
	conns.add(a)
	conns.add(b)
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	<-done
	a.Close()
	b.Close()
	<-done
	conns.remove(a)
	conns.remove(b)
}

// connSet is the open connections of a server, for Close.
type connSet struct {
	mu     sync.Mutex
	m      map[net.Conn]struct{}
	closed bool
}

func (s *connSet) add(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return
	}
	if s.m == nil {
		s.m = make(map[net.Conn]struct{})
	}
	s.m[c] = struct{}{}
}

func (s *connSet) remove(c net.Conn) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// closeAll closes every connection, and those added later.
func (s *connSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.m {
		c.Close()
	}
	s.m = nil
}

// requestLog is a server's list of requests.
type requestLog struct {
	mu   sync.Mutex
	reqs []ProxyRequest
}

// add logs r and returns how many requests there are now.
func (l *requestLog) add(r ProxyRequest) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
	return len(l.reqs)
}

func (l *requestLog) all() []ProxyRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ProxyRequest(nil), l.reqs...)
}

// errSOCKS is the error of a SOCKS5 exchange the server refuses.
var errSOCKS = errors.New("testsite: socks5: bad request")
