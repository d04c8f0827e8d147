// Command bench measures crawl against an idiomatic Colly v2 crawler, wget
// and two reference loops (fetch, and fetch+parse) on the project's
// synthetic site, one after another in one invocation, and prints a table of
// medians: unique pages, duplicate fetches, robots violations, wall time,
// pages per second, CPU time, peak RSS, and crawl's throughput ratio to each.
//
// Run it from this directory (it is its own Go module, so Colly never enters
// the main module's dependencies):
//
//	cd bench && go run . -scenario cpu
//	cd bench && go run . -scenario cpu,polite -reps 3
//	cd bench && go run . -smoke
//
// Every crawler runs as a subprocess, so that its peak RSS is its own: crawl
// is built from ../cmd/crawl; Colly and the reference loops are this binary
// run again with a hidden -child flag; wget is itself. All traffic goes to
// the synthetic site on 127.0.0.x loopback addresses.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}
