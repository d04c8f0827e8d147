// Package metrics holds the crawler's Prometheus collectors, registered on
// a registry the caller supplies (never the global one). *Metrics satisfies
// crawler.Observer without importing it, and reads the frontier's own
// counters at scrape time through a function the caller supplies.
//
// Every name has the crawl_ prefix and a base unit; no label carries a URL
// or a host, and every label takes its values from a closed set (the
// exported ...Classes and DropReasons variables, and the status classes
// 1xx to 5xx), all initialised at zero so dashboards see every series from
// the first scrape.
//
// Package metrics imports two packages of this module, for the closed sets
// its labels take: the leaf fetch (fetch.Classes) and proxy
// (proxy.Results); *Metrics is also a proxy.Observer.
package metrics
