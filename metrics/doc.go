// Package metrics holds the crawler's Prometheus collectors, registered on
// a registry the caller supplies (never the global one). *Metrics satisfies
// crawler.Observer without importing it.
//
// Package metrics imports no other package of this module.
package metrics
