package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
)

// FuzzConfig feeds arbitrary YAML to decodeConfig. Whatever the input, it
// must not panic; a rejected file is a one-line usage error; an accepted
// one either fails validate with a usage error or maps onto a
// crawler.Config that the library accepts. Its seed corpus is in
// testdata/fuzz/FuzzConfig.
func FuzzConfig(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		o := defaultOptions()
		if err := decodeConfig("fuzz.yaml", data, &o); err != nil {
			if !errors.Is(err, errUsage) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("decodeConfig: %q: want a one-line usage error", err)
			}
			return
		}
		if len(o.Seeds) == 0 && o.State == "" {
			// Reach the checks past "no URL to crawl".
			o.Seeds = []string{"http://127.0.0.1/"}
		}
		if err := o.validate(); err != nil {
			if !errors.Is(err, errUsage) {
				t.Fatalf("validate: %v: want a usage error", err)
			}
			return
		}
		cfg := o.crawlerConfig()
		if err := cfg.Validate(); err != nil {
			t.Fatalf("options %+v passed validate, but the crawler rejects them: %v", o, err)
		}
		if _, err := crawler.New(cfg); err != nil {
			t.Fatalf("options %+v passed validate, but crawler.New fails: %v", o, err)
		}
	})
}

// FuzzArgs feeds arbitrary words to parseArgs as URLs and flag values:
// whatever they are, parsing ends in options, help, version or a one-line
// usage error naming what to fix, never a panic.
func FuzzArgs(f *testing.F) {
	for _, s := range []string{"www.example.com", "statsu", "localhost:8080", "http://[::1", "--timeout", "5",
		"-max-pages", "--max_pages", "-oq", "--", "ftp://x/", "https://example.com/a b", "-h"} {
		f.Add(s, "http://127.0.0.1/")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.Contains(a+b, "config") {
			t.Skip("--config reads a file: FuzzConfig covers its contents")
		}
		_, err := parseArgs([]string{a, b})
		switch {
		case err == nil, errors.Is(err, errHelp), errors.Is(err, errVersion):
		case !errors.Is(err, errUsage):
			t.Fatalf("parseArgs(%q, %q): %v: want a usage error", a, b, err)
		case strings.Contains(err.Error(), "\n"):
			t.Fatalf("parseArgs(%q, %q): %q: want one line", a, b, err)
		}
	})
}
