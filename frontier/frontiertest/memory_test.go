package frontiertest_test

import (
	"testing"

	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/frontiertest"
)

func TestMemory(t *testing.T) {
	frontiertest.Run(t, frontiertest.Backend{
		New: func(t *testing.T, opts frontier.Options) frontier.Frontier {
			return frontier.NewMemory(opts)
		},
	})
}
