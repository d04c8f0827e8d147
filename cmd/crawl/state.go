package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/hivecrawl/crawl/crawler"
	"github.com/hivecrawl/crawl/frontier"
	"github.com/hivecrawl/crawl/frontier/disk"
)

// seedsFile, inside a --state directory, remembers the seeds of the crawl
// so that a resumed run without URLs keeps the same scope.
const seedsFile = "seeds.json"

// frontierFor opens the frontier the options ask for: the disk backend for
// --state, or nil for the crawler's default in-memory one. The returned
// closer must be called when the crawl ends.
func frontierFor(o *options, cfg crawler.Config) (crawler.Frontier, func() error, error) {
	if o.State == "" {
		return nil, func() error { return nil }, nil
	}
	d, err := disk.Open(filepath.Join(o.State, "frontier"), disk.Options{Options: frontier.Options{
		Scheduler:       cfg.Scheduler,
		PerHostInFlight: cfg.PerHost,
		LeaseTTL:        cfg.LeaseTTL(),
		Strict:          cfg.MaxDepth > 0, // as the crawler does for its memory frontier
	}})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --state %s: %v", errUsage, o.State, err)
	}
	return d, d.Close, nil
}

// mergeSeeds returns the seeds stored in the state directory plus the new
// ones, and stores the union. Without --state it returns the seeds as they
// are.
func mergeSeeds(o *options) ([]string, error) {
	if o.State == "" {
		return o.Seeds, nil
	}
	if err := os.MkdirAll(o.State, 0o755); err != nil {
		return nil, fmt.Errorf("%w: --state: %v", errUsage, err)
	}
	path := filepath.Join(o.State, seedsFile)
	var stored []string
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &stored); err != nil {
			return nil, fmt.Errorf("%w: --state %s: %s is damaged: %v", errUsage, o.State, seedsFile, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("--state %s: %w", o.State, err)
	}
	all := slices.Clone(stored)
	for _, s := range o.Seeds {
		if !slices.Contains(all, s) {
			all = append(all, s)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%w: no URL to crawl and no crawl to resume in %s", errUsage, o.State)
	}
	if len(all) != len(stored) {
		data, _ := json.Marshal(all) // strings always marshal
		if err := writeFileAtomic(path, data); err != nil {
			return nil, fmt.Errorf("--state %s: store seeds: %w", o.State, err)
		}
	}
	return all, nil
}

// writeFileAtomic replaces path with data, never leaving it half written.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// openOutput opens the JSON lines file. A resumable crawl appends, after
// cutting away a torn last line that a killed process may have left, so
// the file stays valid JSON lines; otherwise the file is truncated.
func openOutput(path string, appendTo bool) (*os.File, error) {
	if !appendTo {
		return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := cutTornLine(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("repair %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// cutTornLine truncates f after its last newline.
func cutTornLine(f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	size := info.Size()
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] == '\n' {
				keep := start + int64(i) + 1
				if keep == size {
					return nil
				}
				return f.Truncate(keep)
			}
		}
		end = start
	}
	if size == 0 {
		return nil
	}
	return f.Truncate(0) // not one whole line
}
