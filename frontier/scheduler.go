package frontier

import "time"

// BreadthFirst leases shallow requests first: priority is the depth.
// Delay is the minimum time between two requests to one host.
type BreadthFirst struct{ Delay time.Duration }

// Priority implements Scheduler.
func (BreadthFirst) Priority(r Request) float64 { return float64(r.Depth) }

// HostDelay implements Scheduler.
func (s BreadthFirst) HostDelay(string) time.Duration { return s.Delay }

// DepthFirst leases deep requests first: priority is the negated depth.
type DepthFirst struct{ Delay time.Duration }

// Priority implements Scheduler.
func (DepthFirst) Priority(r Request) float64 { return -float64(r.Depth) }

// HostDelay implements Scheduler.
func (s DepthFirst) HostDelay(string) time.Duration { return s.Delay }

// BestFirst leases the requests with the highest Score first. A nil Score
// scores every request 0 (arrival order).
type BestFirst struct {
	Score func(Request) float64
	Delay time.Duration
}

// Priority implements Scheduler: the negated score.
func (s BestFirst) Priority(r Request) float64 {
	if s.Score == nil {
		return 0
	}
	return -s.Score(r)
}

// HostDelay implements Scheduler.
func (s BestFirst) HostDelay(string) time.Duration { return s.Delay }

// Compile-time checks that the policies implement Scheduler.
var (
	_ Scheduler = BreadthFirst{}
	_ Scheduler = DepthFirst{}
	_ Scheduler = BestFirst{}
)
