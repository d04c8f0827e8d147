// Package serve is crawl's job service: `crawl serve` runs crawls as jobs
// behind a JSON API under /api/v1, a live web page at / and /metrics.
//
// The service owns the jobs' lifecycle (pending, running, paused and the
// ends), their folders under the data directory, the order they start in
// (at most Options.MaxRunning at once), their progress events and their
// metrics. It does not wire crawls: the command hands it a Crawls, which
// validates a job's config and builds its crawl exactly as the command
// line does, with the job's frontier a --state store in the job's folder.
// So a job survives the server being killed (its frontier is on disk) and
// a job is paused by stopping its run: resuming runs it again on the same
// store.
//
// Layout of the data directory: jobs/ID/job.json (the job's record),
// jobs/ID/state (its frontier), jobs/ID/pages.jsonl, items.jsonl and
// log.txt, and jobs/ID/files for the other outputs a config names.
//
// With a fleet (crawl serve --frontier), the command's Crawls lists each
// job in Redis for crawl worker processes and its Crawl only watches the
// job's frontier there.
//
// Package serve imports crawler, frontier, metrics and progress of this
// module; it never imports the command.
package serve
