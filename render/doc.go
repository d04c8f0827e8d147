// Package render renders pages in headless Chromium for the crawler: one
// browser, a bounded pool of tabs, and every request a page makes
// intercepted with the DevTools Fetch domain and answered by the crawl
// itself.
//
// A Browser serves the page's document from the response the crawl
// already fetched, so the page is fetched once, through the crawl's own
// lease, robots.txt check and politeness. Every other request (scripts,
// style sheets, fetch()/XHR, frames) is checked with the caller's Check
// (robots.txt of its host), and fetched with the caller's Subfetch (the
// crawl's HTTP client: its headers, credentials scope, cookie jar, proxy,
// private-address guard and body cap), or blocked. Images, media and
// fonts are blocked by default. Chromium is started with a proxy that
// goes nowhere, so a request the Fetch domain does not see (a WebSocket,
// say) fails instead of reaching the network.
//
// Scripts and style sheets are kept in a cache for the life of the
// Browser (200 answers to GET, no Cache-Control no-store, 1 MiB each, 32
// MiB in all), so an app's bundle is fetched once per crawl, not once per
// page.
//
// A navigation the page starts itself (a script setting location) is not
// followed: it is reported as Rendered.NavigatedTo, for the crawler to
// treat as a redirect. Dialogs are dismissed, pop-ups refused, downloads
// denied, so none of them blocks a tab.
//
// The browser is started on the first Render, not before; a tab is
// recycled after Options.PagesPerTab pages; a browser that crashes or
// stops answering is restarted on the next Render, and the pages it held
// fail with an error whose Temporary method reports true, for the
// crawler to retry. On Linux the browser is tied to the death of the
// process (Pdeathsig), so that no Chromium outlives it, even one killed.
//
// Package render imports package fetch of this module and no other.
package render
