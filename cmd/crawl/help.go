package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"github.com/hivecrawl/crawl/crawler"
)

// helpHead and helpTail frame the flags in crawl --help.
const (
	helpHead = `crawl crawls websites politely and writes one record per URL.

Usage:
  crawl [flags] URL...                      crawl from the URLs (flags may come anywhere)
  cat urls.txt | crawl [flags] -            crawl from the URLs on standard input, one a line
  crawl status --state DIR                  counters of a resumable crawl
  crawl status --frontier URL [--job NAME]  counters and workers of a fleet's job
  crawl purge --frontier URL --job NAME --yes
  crawl serve --data DIR [--addr HOST:PORT]   run crawls as jobs: a JSON API and a web page
  crawl worker --frontier URL --data DIR      run the jobs of crawl serve --frontier URL
  crawl version
`
	helpTail = `
Examples:
  # crawl a site, at most 100 pages, records as JSON lines in out.jsonl
  crawl --max-pages 100 -o out.jsonl https://example.com/

  # list a site's URLs, one per line, for other tools
  crawl -q --format url https://example.com/ | sort

  # a crawl that survives Ctrl-C and crashes, with metrics on 127.0.0.1:2112
  crawl --state site.state --metrics-addr :2112 -o out.jsonl https://example.com/

Exit status: 0 done; 1 URLs failed under --fail-on-error, or an I/O error;
2 bad flags, config or URLs (nothing started); 130 stopped by Ctrl-C.
The README tells more: records, resuming, fleets, metrics.
`
)

// printHelp writes crawl --help: the usage, the flags by group, examples.
func printHelp(w io.Writer) {
	o := defaultOptions()
	g := newFlags(&o)
	fmt.Fprint(w, helpHead)
	for _, t := range g.titled() {
		fmt.Fprintf(w, "\n%s:\n%s", t.title, flagUsages(t.fs))
	}
	fmt.Fprint(w, helpTail)
}

// printSubcommandHelp writes the help of a subcommand: its usage line and
// its flags.
func printSubcommandHelp(w io.Writer, usage string, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage:\n  %s\n\nFlags:\n%s", usage, flagUsages(fs))
}

// helpWidth is the width --help wraps the flags' descriptions to.
const helpWidth = 100

// flagUsages lists fs's flags, one per line with its description wrapped
// beside it: "  -o, --output file   write ...", the default after the
// description unless it is the zero value (or a triBool's "auto", which
// the description explains).
func flagUsages(fs *pflag.FlagSet) string {
	type entry struct{ names, usage string }
	var entries []entry
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		names := "      --" + f.Name
		if f.Shorthand != "" {
			names = "  -" + f.Shorthand + ", --" + f.Name
		}
		varname, usage := pflag.UnquoteUsage(f)
		if f.Value.Type() == "bool" {
			varname = ""
		}
		if varname != "" {
			names += " " + varname
		}
		switch f.DefValue {
		case "", "0", "false", "[]", "auto", "0s":
		default:
			if f.Value.Type() == "string" {
				usage += fmt.Sprintf(" (default %q)", f.DefValue)
			} else {
				usage += " (default " + f.DefValue + ")"
			}
		}
		entries = append(entries, entry{names, usage})
		width = max(width, len(names))
	})
	var b strings.Builder
	for _, e := range entries {
		line := fmt.Sprintf("%-*s   ", width, e.names)
		indent := strings.Repeat(" ", len(line))
		col := len(line)
		b.WriteString(line)
		for i, word := range strings.Fields(e.usage) {
			if i > 0 && col+1+len(word) > helpWidth {
				b.WriteString("\n" + indent)
				col = len(indent)
			} else if i > 0 {
				b.WriteByte(' ')
				col++
			}
			b.WriteString(word)
			col += len(word)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// versionLine is what crawl version prints: the version, the commit the
// binary was built from (with "+changes" when the tree was modified) and
// the Go version.
func versionLine() string {
	commit, goVersion := "unknown", runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			commit = rev[:min(len(rev), 12)]
			if modified == "true" {
				commit += "+changes"
			}
		}
	}
	return strings.Join([]string{"crawl " + crawler.Version, "commit " + commit, goVersion + " " + runtime.GOOS + "/" + runtime.GOARCH}, ", ")
}
