package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// stdinName is the seed, or the --input file, that stands for standard
// input.
const stdinName = "-"

// maxInputLine caps a line of an input list: far above any URL a crawl
// keeps (--max-url-length), low enough that a binary file fed by mistake
// is refused rather than read whole.
const maxInputLine = 1 << 20

// expandInputs returns seeds with each "-" replaced by the URLs on stdin,
// followed by the URLs of the inputs files ("-" is stdin there too): one
// a line, blank lines and lines starting with # skipped. Standard input is
// read once, however often it is named; a nil stdin cannot be read. Each
// URL is checked as a seed argument is, and a bad one is reported with its
// file and line.
func expandInputs(seeds, inputs []string, stdin io.Reader, canonical func(string) (string, error)) ([]string, error) {
	var (
		out       []string
		stdinRead bool
	)
	read := func(name string) error {
		var r io.Reader
		label := name
		if name == stdinName {
			if stdinRead {
				return nil
			}
			stdinRead = true
			if stdin == nil {
				return errors.New("standard input (-) cannot be read here")
			}
			r, label = stdin, "standard input"
		} else {
			f, err := os.Open(name)
			if err != nil {
				return fmt.Errorf("--input: %v", err)
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), maxInputLine)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := checkSeed(line, canonical); err != nil {
				return fmt.Errorf("%s, line %d: %v", label, n, err)
			}
			out = append(out, line)
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return fmt.Errorf("%s: a line is longer than %d bytes: not a list of URLs", label, maxInputLine)
			}
			return fmt.Errorf("%s: %v", label, err)
		}
		return nil
	}
	for _, s := range seeds {
		if s != stdinName {
			out = append(out, s)
			continue
		}
		if err := read(stdinName); err != nil {
			return nil, err
		}
	}
	for _, name := range inputs {
		if err := read(name); err != nil {
			return nil, err
		}
	}
	return out, nil
}
