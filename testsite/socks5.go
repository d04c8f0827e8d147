package testsite

import (
	"bufio"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// SOCKS5 is a SOCKS version 5 proxy server on loopback (RFC 1928) for
// tests: it accepts CONNECT only, with no authentication or, when
// ProxyOptions.User is set, user/password authentication (RFC 1929). It
// logs every CONNECT as a ProxyRequest. It is safe for concurrent use.
type SOCKS5 struct {
	opts  ProxyOptions
	ln    net.Listener
	conns connSet
	log   requestLog
	wg    sync.WaitGroup
}

// SOCKS5 protocol values.
const (
	socksVersion      = 5
	socksNoAuth       = 0x00
	socksUserPass     = 0x02
	socksNoAcceptable = 0xff
	socksConnect      = 0x01
	socksIPv4         = 0x01
	socksDomain       = 0x03
	socksIPv6         = 0x04

	socksSucceeded       = 0x00
	socksRefused         = 0x05
	socksCmdUnsupported  = 0x07
	socksAddrUnsupported = 0x08
)

// NewSOCKS5 starts a SOCKS5 server on a free port of 127.0.0.1.
func NewSOCKS5(opts ProxyOptions) (*SOCKS5, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("testsite: socks5: %w", err)
	}
	s := &SOCKS5{opts: opts, ln: ln}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// URL returns the server's URL, socks5://127.0.0.1:port, without
// credentials.
func (s *SOCKS5) URL() *url.URL { return &url.URL{Scheme: "socks5", Host: s.ln.Addr().String()} }

// Requests returns the CONNECT requests received so far, in order.
func (s *SOCKS5) Requests() []ProxyRequest { return s.log.all() }

// Close stops the server and closes every connection it holds.
func (s *SOCKS5) Close() error {
	err := s.ln.Close()
	s.conns.closeAll()
	s.wg.Wait()
	return err
}

func (s *SOCKS5) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.add(c)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.serve(c); err != nil {
				c.Close()
				s.conns.remove(c)
			}
		}()
	}
}

// serve runs one client's exchange, then relays its tunnel; an error
// means the connection is to be closed.
func (s *SOCKS5) serve(c net.Conn) error {
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr[0] != socksVersion {
		return errSOCKS
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return errSOCKS
	}
	want := byte(socksNoAuth)
	if s.opts.User != "" {
		want = socksUserPass
	}
	offered := false
	for _, m := range methods {
		offered = offered || m == want
	}
	if !offered {
		_, _ = c.Write([]byte{socksVersion, socksNoAcceptable})
		return errSOCKS
	}
	if _, err := c.Write([]byte{socksVersion, want}); err != nil {
		return err
	}
	if want == socksUserPass {
		if err := s.authenticate(r, c); err != nil {
			return err
		}
	}
	var req [4]byte
	if _, err := io.ReadFull(r, req[:]); err != nil || req[0] != socksVersion {
		return errSOCKS
	}
	host, err := readSOCKSAddr(r, req[3])
	if err != nil {
		reply(c, socksAddrUnsupported)
		return err
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return errSOCKS
	}
	target := net.JoinHostPort(host, strconv.Itoa(int(binary.BigEndian.Uint16(port[:]))))
	s.log.add(ProxyRequest{Method: "CONNECT", Target: target})
	if n := s.opts.CloseAfter; n > 0 && len(s.log.all()) > n {
		go s.Close()
		return errSOCKS
	}
	if req[1] != socksConnect {
		reply(c, socksCmdUnsupported)
		return errSOCKS
	}
	t, err := net.DialTimeout("tcp", mapHost(s.opts.Hosts, target), 10*time.Second)
	if err != nil {
		reply(c, socksRefused)
		return err
	}
	if err := reply(c, socksSucceeded); err != nil {
		t.Close()
		return err
	}
	_ = c.SetDeadline(time.Time{})
	s.conns.remove(c)
	relay(&s.conns, &bufferedConn{Conn: c, r: r}, t)
	return nil
}

// authenticate runs RFC 1929's user/password subnegotiation.
func (s *SOCKS5) authenticate(r *bufio.Reader, c net.Conn) error {
	readField := func() ([]byte, error) {
		n, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return b, err
	}
	ver, err := r.ReadByte()
	if err != nil || ver != 1 {
		return errSOCKS
	}
	user, err := readField()
	if err != nil {
		return errSOCKS
	}
	pass, err := readField()
	if err != nil {
		return errSOCKS
	}
	ok := subtle.ConstantTimeCompare(user, []byte(s.opts.User)) == 1 &&
		subtle.ConstantTimeCompare(pass, []byte(s.opts.Password)) == 1
	if !ok {
		_, _ = c.Write([]byte{1, 1})
		return errSOCKS
	}
	_, err = c.Write([]byte{1, 0})
	return err
}

// readSOCKSAddr reads a DST.ADDR of type atyp.
func readSOCKSAddr(r *bufio.Reader, atyp byte) (string, error) {
	switch atyp {
	case socksIPv4, socksIPv6:
		n := net.IPv4len
		if atyp == socksIPv6 {
			n = net.IPv6len
		}
		ip := make(net.IP, n)
		if _, err := io.ReadFull(r, ip); err != nil {
			return "", errSOCKS
		}
		return ip.String(), nil
	case socksDomain:
		n, err := r.ReadByte()
		if err != nil {
			return "", errSOCKS
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", errSOCKS
		}
		return string(b), nil
	}
	return "", errSOCKS
}

// reply writes a SOCKS5 reply with code rep and a zero bound address.
func reply(c net.Conn, rep byte) error {
	_, err := c.Write([]byte{socksVersion, rep, 0, socksIPv4, 0, 0, 0, 0, 0, 0})
	return err
}
