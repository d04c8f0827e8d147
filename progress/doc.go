// Package progress reports a running crawl: on a terminal, as one status
// line redrawn in place below the log (Line); in a log, as a plain line now
// and then. Run samples the counters on a ticker and computes the rate and
// the time left; what is done with each Status is the caller's choice.
//
// Package progress imports no other package of this module: the caller
// supplies the counters as a Snapshot.
package progress
