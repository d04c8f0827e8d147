package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the benchmark's child processes:
// the smoke run re-executes os.Executable(), which is this binary here.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], childFlag+"=") {
		if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "bench child: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs the benchmark's smoke form: every runner once on a small
// site, failing unless crawl fetched every page exactly once and obeyed
// robots.txt. It checks no timing.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/crawl and runs five crawlers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-smoke", "-timeout", "2m"}, &stdout, &stderr)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, runner := range allRunners {
		if runner == runWget && !strings.Contains(stderr.String(), "wget ") {
			continue // not installed
		}
		if runner == runBaseline {
			continue // runs only with -baseline-bin
		}
		if !strings.Contains(stdout.String(), runner) {
			t.Errorf("table has no %s row", runner)
		}
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
		check   func(t *testing.T, o options)
	}{
		{args: nil, check: func(t *testing.T, o options) {
			if len(o.scenarios) != 1 || o.scenarios[0].Name != "cpu" || o.reps != 3 {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{args: []string{"-scenario", "cpu,polite", "-pages", "50", "-runners", "fetch,crawl"}, check: func(t *testing.T, o options) {
			if len(o.scenarios) != 2 || o.scenarios[1].Hosts != 32 || o.scenarios[1].Pages != 50 {
				t.Errorf("overrides: %+v", o.scenarios)
			}
			if got := strings.Join(o.scenarios[0].Runners, ","); got != "crawl,fetch" {
				t.Errorf("runners %q, want crawl,fetch", got)
			}
		}},
		{args: []string{"-scenario", "cpu", "-runners", "fetch,crawl", "-baseline-bin", "/tmp/old-crawl"}, check: func(t *testing.T, o options) {
			if got := strings.Join(o.scenarios[0].Runners, ","); got != "crawl,baseline,fetch" || o.baseline != "/tmp/old-crawl" {
				t.Errorf("with -baseline-bin: runners %q, baseline %q; want crawl,baseline,fetch and /tmp/old-crawl", got, o.baseline)
			}
		}},
		{args: []string{"-smoke", "-scenario", "big"}, check: func(t *testing.T, o options) {
			if len(o.scenarios) != 1 || o.scenarios[0].Name != "smoke" || o.reps != 1 {
				t.Errorf("smoke: %+v", o)
			}
		}},
		{args: []string{"-scenario", "nope"}, wantErr: "unknown scenario"},
		{args: []string{"-runners", "scrapy"}, wantErr: "unknown runner"},
		{args: []string{"-hosts", "300"}, wantErr: "hosts in [1, 250]"},
		{args: []string{"-links", "1"}, wantErr: "LinksPerPage"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseArgs(tc.args, &stderr)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

func TestMedian(t *testing.T) {
	if got := median([]int{5, 1, 3}); got != 3 {
		t.Errorf("median odd = %d", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median even = %g", got)
	}
	if got := median([]time.Duration(nil)); got != 0 {
		t.Errorf("median empty = %v", got)
	}
}
