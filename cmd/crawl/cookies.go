package main

import (
	"fmt"
	"os"

	"github.com/hivecrawl/crawl/fetch"
)

// readCookiesFile reads a cookies.txt file. Its errors name the file and
// the line, never a cookie's value.
func readCookiesFile(name string) ([]fetch.NetscapeCookie, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cookies, err := fetch.ParseNetscapeCookies(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return cookies, nil
}
