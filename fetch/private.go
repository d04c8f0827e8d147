package fetch

import (
	"context"
	"net"
	"net/netip"
	"syscall"
)

// nonPublic lists the IPv4 ranges, beyond those netip.Addr classifies, that
// no public web server lives in and that can reach into a private network:
// "this network" (0/8), carrier-grade NAT (100.64/10), benchmarking
// (198.18/15) and the reserved block up to the broadcast address (240/4).
var nonPublic = [...]netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// PublicAddr reports whether a is an address a Client with
// Options.DenyPrivate may connect to: not private (RFC 1918, fc00::/7),
// loopback, link-local (169.254.0.0/16, which holds cloud metadata
// services, and fe80::/10), unspecified, multicast, carrier-grade NAT,
// benchmarking or reserved. IPv4-mapped IPv6 addresses are judged by their
// IPv4 address.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsPrivate() || a.IsLoopback() || a.IsUnspecified() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// deniedError is the error of a connection that Options.DenyPrivate
// refused. It reports ClassDenied through its Class method.
type deniedError struct{ addr string }

func (e *deniedError) Error() string {
	return "refused to connect to non-public address " + e.addr + " (DenyPrivate)"
}

// Class implements the classer interface: ClassDenied.
func (e *deniedError) Class() string { return ClassDenied }

// denyPrivate is a net.Dialer ControlContext function: it runs after the
// host name has been resolved and the socket created, before it connects,
// so it judges the very address dialed, whatever DNS answered and however
// many redirects led there.
func denyPrivate(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		host, _, splitErr := net.SplitHostPort(address)
		if splitErr != nil {
			host = address
		}
		return &deniedError{addr: host}
	}
	if !PublicAddr(ap.Addr()) {
		return &deniedError{addr: ap.Addr().String()}
	}
	return nil
}
