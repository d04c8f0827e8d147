package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hivecrawl/crawl/crawler"
)

func TestHostileFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		deny      bool // denyPrivate's answer
		maxLinks  int  // crawler.Config.MaxLinks
		maxLength int  // crawler.Config.Normalizer.MaxLength
	}{
		{"defaults, loopback seed", []string{"http://127.0.0.1:1/"}, false, 1000, 2048},
		{"defaults, public seed", []string{"http://93.184.215.14/"}, true, 1000, 2048},
		{"public and private seeds", []string{"http://93.184.215.14/", "http://10.1.2.3/"}, false, 1000, 2048},
		{"localhost seed", []string{"http://LocalHost:8080/"}, false, 1000, 2048},
		{"metadata seed", []string{"http://169.254.169.254/"}, false, 1000, 2048},
		{"forced on", []string{"--deny-private", "http://127.0.0.1:1/"}, true, 1000, 2048},
		{"forced off", []string{"--deny-private=false", "http://93.184.215.14/"}, false, 1000, 2048},
		{"caps", []string{"--max-links", "50", "--max-url-length", "300", "http://127.0.0.1:1/"}, false, 50, 300},
		{"no link cap", []string{"--max-links", "0", "http://127.0.0.1:1/"}, false, 0, 2048},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseArgs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			cfg := o.crawlerConfig()
			if got := denyPrivate(context.Background(), o.DenyPrivate, o.Seeds); got != tt.deny {
				t.Errorf("deny-private = %v, want %v", got, tt.deny)
			}
			if cfg.MaxLinks != tt.maxLinks || cfg.Normalizer.MaxLength != tt.maxLength {
				t.Errorf("MaxLinks %d, MaxLength %d; want %d, %d", cfg.MaxLinks, cfg.Normalizer.MaxLength, tt.maxLinks, tt.maxLength)
			}
		})
	}

	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("deny-private: false\nmax-links: 7\nseeds: [http://93.184.215.14/]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseArgs([]string{"--config", path})
	if err != nil {
		t.Fatal(err)
	}
	if denyPrivate(context.Background(), o.DenyPrivate, o.Seeds) || o.MaxLinks != 7 {
		t.Errorf("from YAML: deny-private %v, max-links %d", denyPrivate(context.Background(), o.DenyPrivate, o.Seeds), o.MaxLinks)
	}

	for _, args := range [][]string{
		{"--max-links", "-1", "http://127.0.0.1/"},
		{"--max-url-length", "-1", "http://127.0.0.1/"},
		{"--deny-private=maybe", "http://127.0.0.1/"},
		{"--max-url-length", "20", "http://127.0.0.1/a-seed-longer-than-twenty-bytes"},
		{"--strip-param", "", "http://127.0.0.1/"},
	} {
		if _, err := parseArgs(args); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

// TestDenyPrivateRefusesLoopback runs the command with --deny-private
// against a loopback server: nothing reaches it, robots.txt included, and
// the seed is recorded as denied at once.
func TestDenyPrivateRefusesLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"--deny-private", "--quiet", "-o", out, srv.URL + "/"}, &bytes.Buffer{}, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	recs := readRecords(t, out)
	if r := recs[srv.URL+"/"]; r.Error != "denied" || r.Attempts != 1 || !strings.Contains(r.Detail, "non-public address 127.0.0.1") {
		t.Errorf("record %+v, want error denied after one attempt", r)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

// readRecords decodes a JSON lines output file by URL.
func readRecords(t *testing.T, path string) map[string]crawler.Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs := map[string]crawler.Result{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r crawler.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		recs[r.URL] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}
