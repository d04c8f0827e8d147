package urlnorm

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

func TestIgnoredParamsLearn(t *testing.T) {
	tests := []struct {
		name, page, canonical string
		want                  []string
	}{
		{"drops sort", "http://h/list?id=7&sort=price", "http://h/list?id=7", []string{"sort"}},
		{"drops all", "http://h/list?sort=price&view=grid", "http://h/list", []string{"sort", "view"}},
		{"repeated name", "http://h/list?a=1&a=2", "http://h/list", []string{"a"}},
		{"same URL", "http://h/list?id=7", "http://h/list?id=7", nil},
		{"other path", "http://h/list?id=7&sort=a", "http://h/other?id=7", nil},
		{"other host", "http://h/list?id=7&sort=a", "http://g/list?id=7", nil},
		{"other value", "http://h/list?page=2", "http://h/list?page=1", nil},
		{"value changed, one dropped", "http://h/list?page=2&sort=a", "http://h/list?page=1", nil},
		{"canonical adds", "http://h/list?id=7", "http://h/list?id=7&lang=en", nil},
		{"name kept with one of its values", "http://h/list?a=1&a=2", "http://h/list?a=1", nil},
		{"no query", "http://h/list", "http://h/list?id=1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ip IgnoredParams
			if got := ip.Learn(tt.page, tt.canonical); !slices.Equal(got, tt.want) {
				t.Errorf("Learn(%q, %q) = %q, want %q", tt.page, tt.canonical, got, tt.want)
			}
			if wantLen := min(len(tt.want), 1); ip.Len() != wantLen {
				t.Errorf("Len() = %d, want %d", ip.Len(), wantLen)
			}
		})
	}
}

func TestIgnoredParamsApply(t *testing.T) {
	var ip IgnoredParams
	const unlearned = "http://h/list?id=9&sort=name"
	if got := ip.Apply(unlearned); got != unlearned {
		t.Fatalf("Apply before learning = %q", got)
	}
	ip.Learn("http://h/list?id=7&sessid=x&sort=price", "http://h/list?id=7")
	tests := []struct{ in, want string }{
		{"http://h/list?id=9&sort=name", "http://h/list?id=9"},
		{"http://h/list?sessid=2&sort=name", "http://h/list"},
		{"http://h/list?id=9", "http://h/list?id=9"},
		{"http://h/list", "http://h/list"},
		{"http://h/list?a=1&sort=x&z=2", "http://h/list?a=1&z=2"},
		{"http://h/other?sort=name", "http://h/other?sort=name"},
		{"https://h/list?sort=name", "https://h/list?sort=name"},
		{"http://h:8080/list?sort=name", "http://h:8080/list?sort=name"},
	}
	for _, tt := range tests {
		if got := ip.Apply(tt.in); got != tt.want {
			t.Errorf("Apply(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	allocs := testing.AllocsPerRun(100, func() { _ = ip.Apply("http://h/list?id=9&z=1") })
	if allocs != 0 {
		t.Errorf("Apply with nothing to remove: %v allocs, want 0", allocs)
	}
}

func TestIgnoredParamsBounds(t *testing.T) {
	ip := IgnoredParams{MaxPaths: 5, MaxPathsPerHost: 3}
	for i := range 10 {
		ip.Learn(fmt.Sprintf("http://a/p%d?x=1", i), fmt.Sprintf("http://a/p%d", i))
	}
	if ip.Len() != 3 {
		t.Errorf("one host: %d entries, want MaxPathsPerHost 3", ip.Len())
	}
	for i := range 10 {
		ip.Learn(fmt.Sprintf("http://b%d/p?x=1", i), fmt.Sprintf("http://b%d/p", i))
	}
	if ip.Len() != 5 {
		t.Errorf("%d entries, want MaxPaths 5", ip.Len())
	}
	// Names per path are bounded too.
	var one IgnoredParams
	for i := range 100 {
		one.Learn(fmt.Sprintf("http://a/p?n%03d=1", i), "http://a/p")
	}
	if got := one.Learn("http://a/p?last=1", "http://a/p"); len(got) != maxNamesPerPath {
		t.Errorf("%d names for one path, want %d", len(got), maxNamesPerPath)
	}
	var zero IgnoredParams
	for i := range DefaultMaxPathsPerHost + 10 {
		zero.Learn(fmt.Sprintf("http://a/p%d?x=1", i), fmt.Sprintf("http://a/p%d", i))
	}
	if zero.Len() != DefaultMaxPathsPerHost {
		t.Errorf("zero value: %d entries, want %d", zero.Len(), DefaultMaxPathsPerHost)
	}
}

func TestIgnoredParamsConcurrent(t *testing.T) {
	var ip IgnoredParams
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				page := fmt.Sprintf("http://h/p%d?id=1&s%d=x", i%20, g)
				ip.Learn(page, fmt.Sprintf("http://h/p%d?id=1", i%20))
				if got, want := ip.Apply(page), fmt.Sprintf("http://h/p%d?id=1", i%20); got != want {
					t.Errorf("Apply(%q) = %q after learning, want %q", page, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if ip.Len() != 20 {
		t.Errorf("Len() = %d, want 20", ip.Len())
	}
}
