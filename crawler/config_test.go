package crawler_test

import (
	"errors"
	"math"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
)

func TestConfigValidateRate(t *testing.T) {
	tests := []struct {
		rate float64
		ok   bool
	}{
		{0, true},  // the default, 5 a second
		{-1, true}, // unlimited
		{5, true},
		{crawler.MinRate, true},
		{crawler.MinRate / 2, false}, // a delay longer than a day
		{1e-300, false},              // would overflow the delay
		{math.NaN(), false},
		{math.Inf(1), false},
		{math.Inf(-1), false},
	}
	for _, tt := range tests {
		cfg := crawler.Config{Rate: tt.rate}
		err := cfg.Validate()
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, crawler.ErrConfig)) {
			t.Errorf("Rate %g: Validate() = %v; want ok %v", tt.rate, err, tt.ok)
		}
		if err == nil && cfg.HostDelay() < 0 {
			t.Errorf("Rate %g: HostDelay() = %v", tt.rate, cfg.HostDelay())
		}
	}
}
