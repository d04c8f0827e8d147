// Package frontiertest is the conformance suite every frontier backend runs
// against itself: memory, the embedded disk backend and the Redis backend
// pass the same tests, so a crawl behaves the same whichever one holds its
// queue.
//
// A backend's own test calls Run with a Backend that opens fresh, empty
// frontiers:
//
//	func TestMemory(t *testing.T) {
//		frontiertest.Run(t, frontiertest.Backend{
//			New: func(t *testing.T, opts frontier.Options) frontier.Frontier {
//				return frontier.NewMemory(opts)
//			},
//		})
//	}
//
// The suite closes every frontier it opens. New may call t.Skip for options
// its backend does not honour (Options.Strict); Reopen is nil for backends
// that do not persist, and the persistence tests are skipped.
//
// The suite runs its subtests one after another, never in parallel, so a
// backend may share one server (a Redis database, say) between the
// frontiers it opens as long as each New starts empty. Timing checks use
// real clocks and short durations (tens of milliseconds); they only assert
// lower bounds and orders, never that something finished within a time.
// The renewal case, whose renewals must come within a lease time, tries
// again with a longer one when the test itself fell behind its schedule.
// Every blocking call carries a context with a timeout, and Lease runs on a
// goroutine of its own, so a broken backend fails instead of hanging.
//
// Package frontiertest imports frontier and nothing else of this module.
package frontiertest
