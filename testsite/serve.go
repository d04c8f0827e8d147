package testsite

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Serve listens on each of addrs (such as "127.0.0.2:0" and "127.0.0.3:0":
// on Linux all of 127.0.0.0/8 is loopback) and serves s on them until ctx
// ends, when the servers close their listeners and connections and the
// requests in flight see their contexts end. It returns the base URLs, one per
// address in order, such as "http://127.0.0.2:41234".
//
// Each address is a site of its own with the same pages: pages link to the
// Host they were requested with, and s keeps counters per Host (see
// FetchesHost and the other ...Host methods, which accept these base URLs).
// If an address cannot be listened on, Serve closes those it opened and
// returns the error.
func Serve(ctx context.Context, s *Site, addrs []string) ([]string, error) {
	var lc net.ListenConfig
	lns := make([]net.Listener, 0, len(addrs))
	for _, addr := range addrs {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			for _, l := range lns {
				_ = l.Close() // never served; nothing can be lost
			}
			return nil, fmt.Errorf("testsite: listen %s: %w", addr, err)
		}
		lns = append(lns, ln)
	}
	urls := make([]string, len(lns))
	for i, ln := range lns {
		urls[i] = "http://" + ln.Addr().String()
		srv := &http.Server{
			Handler:           s,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return ctx },
		}
		// The serving goroutine returns once Close has closed the listener.
		context.AfterFunc(ctx, func() { _ = srv.Close() })
		go func() {
			// Serve returns ErrServerClosed after Close; any other error
			// means the listener died, which the test's own requests to
			// this address then report. Either way Serve closed ln.
			_ = srv.Serve(ln)
		}()
	}
	return urls, nil
}
