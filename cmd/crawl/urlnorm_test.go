package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestCredentialsInSeed crawls "http://alice:s3cret@host/" through the
// CLI: the host gets Basic auth, the other host a redirect leads to does
// not, and neither the records nor stderr (logs, summary) show the
// password.
func TestCredentialsInSeed(t *testing.T) {
	var (
		mu     sync.Mutex
		leaked []string
		authed int
	)
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			mu.Lock()
			leaked = append(leaked, r.URL.Path)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<p>other</p>"))
	}))
	defer other.Close()
	home := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		authed++
		mu.Unlock()
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<a href="/away">away</a> <a href="` + other.URL + `/linked">other</a>`))
		case "/away":
			http.Redirect(w, r, other.URL+"/redirected", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer home.Close()

	out := filepath.Join(t.TempDir(), "out.jsonl")
	var stderr bytes.Buffer
	seed := "http://alice:s3cret@" + strings.TrimPrefix(home.URL, "http://") + "/"
	err := run(context.Background(), []string{"--rate", "0", "--scope", "any", "--max-depth", "1", "-o", out, seed}, &bytes.Buffer{}, &stderr)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	records, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if authed < 3 { // robots.txt, /, /away
		t.Errorf("the seed's host got credentials %d times, want at least 3\n%s", authed, records)
	}
	if len(leaked) > 0 {
		t.Errorf("credentials sent to the other host for %q", leaked)
	}
	for name, b := range map[string][]byte{"records": records, "stderr": stderr.Bytes()} {
		if bytes.Contains(b, []byte("s3cret")) {
			t.Errorf("%s show the password:\n%s", name, b)
		}
	}
	if !bytes.Contains(records, []byte(`"url":"`+home.URL+`/"`)) || bytes.Contains(records, []byte(`"status":401`)) {
		t.Errorf("records:\n%s", records)
	}

	// A bad seed with credentials: the usage error does not show them.
	stderr.Reset()
	err = run(context.Background(), []string{"http://alice:s3cret@exa mple.com/"}, &bytes.Buffer{}, &stderr)
	if err == nil || strings.Contains(err.Error()+stderr.String(), "s3cret") {
		t.Errorf("bad seed: %v\n%s", err, stderr.String())
	}
}

// TestQueryFlags crawls a page linking to one URL in three spellings
// (parameters in two orders, and a tracking parameter) under the flags that
// decide which spellings are one URL; a config file's keys are the flags'
// names.
func TestQueryFlags(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/" {
			w.Write([]byte(`<a href="/p?b=2&amp;a=1">1</a> <a href="/p?a=1&amp;b=2">2</a> <a href="/p?a=1&amp;utm_source=x&amp;b=2">3</a>`))
		}
	}))
	defer srv.Close()
	config := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(config, []byte("keep-param: [utm_source]\nkeep-query-order: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"defaults", nil, []string{"/p?a=1&b=2"}},
		{"keep-query-order", []string{"--keep-query-order"}, []string{"/p?a=1&b=2", "/p?b=2&a=1"}},
		{"keep-param", []string{"--keep-param", "UTM_SOURCE"}, []string{"/p?a=1&b=2", "/p?a=1&b=2&utm_source=x"}},
		{"strip-param adds", []string{"--strip-param", "b"}, []string{"/p?a=1"}},
		{"config file", []string{"--config", config}, []string{"/p?a=1&b=2", "/p?a=1&utm_source=x&b=2", "/p?b=2&a=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.jsonl")
			var stderr bytes.Buffer
			args := append([]string{"--rate", "0", "--quiet", "-o", out}, tt.args...)
			if err := run(context.Background(), append(args, srv.URL+"/"), &bytes.Buffer{}, &stderr); err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for line := range strings.Lines(string(b)) {
				var rec struct{ URL string }
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				if u := strings.TrimPrefix(rec.URL, srv.URL); u != "/" {
					got = append(got, u)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("records for %q, want %q", got, tt.want)
			}
		})
	}
}
