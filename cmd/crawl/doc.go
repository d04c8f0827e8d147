// Command crawl crawls websites from the command line: crawl [flags] URL...
// It writes one JSON line per URL attempted to stdout (or -o FILE) and logs
// to stderr. crawl --help lists the flags; README.md tells more.
//
// The command is the one place where the library's packages meet; it owns
// no crawling of its own:
//
//   - main.go: main, which only maps run's error to an exit code, and run
//     (ctx, args, stdout, stderr), tested like any function; the status,
//     purge and version subcommands; the /metrics listener.
//   - options.go, help.go: flags and the YAML file (--config) onto one
//     crawler.Config, starting from crawler.DefaultConfig, validated once
//     by Config.Validate; --help.
//   - wiring.go: the components of a run, built once: the frontier
//     (memory, --state's disk store or a fleet's Redis), the fetcher, the
//     handlers, metrics and progress.
//   - state.go, fleet.go: --state directories (resume, seeds, torn output
//     repaired) and fleets sharing one Redis job.
//   - serve.go: crawl serve, package serve's job service, with each job
//     validated and wired by this command's code (jobCrawls).
//   - pipeline.go, records.go, mirror.go: the outputs (records, items, CSV,
//     WARC, the --save tree and --convert-links) as package output's
//     Handlers; db.go: --db, package output/dbsink's database sink.
//   - observe.go, interrupt.go, private.go, profile.go: metrics and the
//     progress line; signals (a first stop drains within --grace, a second
//     quits); the private-address guard's default; profiles.
//
// Package main may import every package of this module except the ones for
// tests (testsite, frontier/frontiertest, frontier/redis/redistest,
// output/mirrortest, internal/testdb); no package imports it.
package main
