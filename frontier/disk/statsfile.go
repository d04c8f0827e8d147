package disk

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cockroachdb/pebble/v2"
	"github.com/gofrs/flock"

	"github.com/hivecrawl/crawl/frontier"
)

// statsRecord is the content of the stats file.
type statsRecord struct {
	Format int            `json:"format"`
	Stats  frontier.Stats `json:"stats"`
}

// writeStatsFile replaces the stats file. It is advisory (ReadStats while a
// crawl runs), so it is renamed into place but not synced, and a failure is
// ignored: the next commit writes it again.
func (d *Disk) writeStatsFile(s frontier.Stats) {
	b, err := json.Marshal(statsRecord{Format: formatVersion, Stats: s})
	if err != nil {
		return
	}
	path := filepath.Join(d.dir, statsFile)
	if err := os.WriteFile(path+".tmp", b, 0o644); err != nil {
		return
	}
	_ = os.Rename(path+".tmp", path)
}

// ReadStats returns the counters of the state directory dir, for
// `crawl status`. It may run while a crawl has dir open: then it reads the
// stats file that crawl rewrites at most once a second after a commit (and
// at Open and Close), so the figures may be up to a second old. When no
// process has dir open, it opens the store read-only and returns the
// counters as of the last commit; requests leased when the crawl stopped
// count as leased until the next Open queues them again.
func ReadStats(dir string) (frontier.Stats, error) {
	if _, err := os.Stat(filepath.Join(dir, dbDir)); err != nil {
		return frontier.Stats{}, fmt.Errorf("disk: read stats: %s is not a state directory: %w", dir, err)
	}
	lock := flock.New(filepath.Join(dir, lockFile))
	ok, err := lock.TryLock()
	if err != nil {
		return frontier.Stats{}, fmt.Errorf("disk: read stats: lock %s: %w", dir, err)
	}
	if !ok {
		return readStatsFile(dir)
	}
	defer lock.Unlock()
	po := pebbleOptions(true)
	db, err := pebble.Open(filepath.Join(dir, dbDir), po)
	po.Cache.Unref()
	if err != nil {
		return frontier.Stats{}, fmt.Errorf("disk: read stats: %w", err)
	}
	s, err := readStoreStats(db)
	err = errors.Join(err, db.Close())
	if err != nil {
		return frontier.Stats{}, fmt.Errorf("disk: read stats %s: %w", dir, err)
	}
	return s, nil
}

func readStoreStats(db *pebble.DB) (frontier.Stats, error) {
	v, closer, err := db.Get(keyVersion)
	if err != nil {
		return frontier.Stats{}, fmt.Errorf("format version: %w", err)
	}
	_, err = checkVersionValue(v)
	closer.Close()
	if err != nil {
		return frontier.Stats{}, err
	}
	return readStats(db)
}

func readStatsFile(dir string) (frontier.Stats, error) {
	b, err := os.ReadFile(filepath.Join(dir, statsFile))
	if err != nil {
		return frontier.Stats{}, fmt.Errorf("disk: read stats: %w", err)
	}
	var r statsRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return frontier.Stats{}, fmt.Errorf("disk: read stats %s: %w", dir, err)
	}
	if r.Format < 0 || checkVersionNumber(uint64(r.Format)) != nil {
		return frontier.Stats{}, fmt.Errorf("disk: read stats %s: %w: the stats file has format version %d; this build reads version %d (and %d up)",
			dir, ErrIncompatible, r.Format, formatVersion, minFormatVersion)
	}
	return r.Stats, nil
}
