package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hivecrawl/crawl/serve"
	"github.com/hivecrawl/crawl/testsite"
)

// chromiumPath returns the browser the web page test drives, skipping the
// test without one (failing it under CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI needs chromium (.ci/run installs it)")
	}
	t.Skip("no chromium on PATH")
	return ""
}

// browser starts a headless Chromium for the test and returns its
// context.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.DisableGPU,
		chromedp.WindowSize(1400, 1100),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// A hang guard, not a timing assertion.
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		acancel()
	})
	return ctx
}

// screenshotPath is where the test leaves its screenshot of a page, to be
// looked at: $CRAWL_ARTIFACTS, or the system's temporary directory.
func screenshotPath(page string) string {
	dir := os.Getenv("CRAWL_ARTIFACTS")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "crawl-serve-"+page+".png")
}

// screenshot saves the browser's page as screenshotPath(page).
func screenshot(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(screenshotPath(page), png, 0o644); err != nil {
		t.Error(err)
	}
	t.Logf("screenshot: %s", screenshotPath(page))
}

// TestServeWebPage drives the page in a real headless Chromium: the token
// is asked once, the list shows a running job whose counters move, the
// start form shows the server's validation error and creates a job, and
// the job page's buttons pause, resume and cancel.
func TestServeWebPage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	ctx := browser(t)
	site := testsite.New(testsite.Options{Pages: 20000, LinksPerPage: 6, PageBytes: 512, Latency: 20 * time.Millisecond})
	web := httptest.NewServer(site)
	defer web.Close()
	_, c := startService(t, serve.Options{Token: "tok-" + t.Name()})
	j := c.submit(web.URL+"/", map[string]any{"rate": 0, "per-host": 2, "grace": "1s"})
	c.waitStatus(j.ID, serve.Running)

	row := fmt.Sprintf(`#jobs tr[data-id=%q]`, j.ID)
	err := chromedp.Do(ctx,
		chromedp.Navigate(c.base+"/"),
		chromedp.WaitVisible(`#token-input`),
		chromedp.SendKeys(`#token-input`, c.token),
		chromedp.Click(`#token-form button`),
		chromedp.WaitVisible(row+` .done`),
	)
	if err != nil {
		t.Fatalf("jobs list: %v", err)
	}
	firstDone, err := chromedp.Run(ctx, chromedp.Text(row+` .done`))
	if err != nil {
		t.Fatalf("jobs list: %v", err)
	}
	// The counters move while the job runs.
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(
		`(() => { const d = document.querySelector('%s .done'); return d && Number(d.dataset.value) > %d && d.closest('tr').dataset.status === 'running'; })()`,
		row, parseCount(firstDone)))); err != nil {
		t.Fatalf("counters never moved past %s: %v", firstDone, err)
	}

	// A bad config: the server's message, inline.
	defer func() {
		if t.Failed() {
			screenshot(t, ctx, "failed")
		}
	}()
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`#start-seeds`, web.URL+"/"),
		chromedp.SendKeys(`#start-config`, "order: sideways\n"),
		chromedp.Click(`#start-form button[type=submit]`),
		chromedp.WaitVisible(`#form-error`),
	)
	if err != nil {
		t.Fatalf("start form: %v", err)
	}
	formError, err := chromedp.Run(ctx, chromedp.Text(`#form-error`))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "jobs-list")
	if want := `--order "sideways": want bfs, dfs or best`; !strings.Contains(formError, want) {
		t.Errorf("form error %q, want it to say %q", formError, want)
	}
	// Fixed, it starts a job and shows its page.
	err = chromedp.Do(ctx,
		chromedp.SetValue(`#start-config`, "max-pages: 5\nrate: 0\n"),
		chromedp.SetValue(`#start-name`, "from the form"),
		chromedp.Click(`#start-form button[type=submit]`),
		chromedp.WaitVisible(`#job-view`),
	)
	if err != nil {
		t.Fatalf("start a job: %v", err)
	}
	hash, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(hash, "#/jobs/")
	created := c.job("GET", "/api/v1/jobs/"+id, nil, http.StatusOK)
	if created.Name != "from the form" || len(created.Seeds) != 1 {
		t.Errorf("job from the form: %+v", created)
	}

	// The running job's page: charts fill, pause and resume work.
	status := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.WaitVisible(fmt.Sprintf(`#job-status[data-status=%q]`, want))
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(c.base+"/#/jobs/"+j.ID),
		status("running"),
		chromedp.Poll[chromedp.Void](`Number(document.querySelector('#chart-rate').dataset.points) >= 3 && document.querySelectorAll('#pages tbody tr').length > 0`),
	)
	if err != nil {
		t.Fatalf("job page: %v", err)
	}
	screenshot(t, ctx, "job-page")
	if err := chromedp.Do(ctx, chromedp.Click(`#btn-pause`), status("paused")); err != nil {
		t.Fatalf("pause button: %v", err)
	}
	if got := c.job("GET", "/api/v1/jobs/"+j.ID, nil, http.StatusOK); got.Status != serve.Paused {
		t.Errorf("after the pause button: %s", got.Status)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(`#btn-resume`),
		status("running"),
		chromedp.Click(`#btn-cancel`),
		status("canceled"),
	)
	if err != nil {
		t.Fatalf("job page, resume and cancel: %v", err)
	}
	saved, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem('crawl-token')`))
	if err != nil || saved != c.token {
		t.Errorf("token in sessionStorage: %q, %v", saved, err)
	}
}

// parseCount reads a number as the page formats it (1,234).
func parseCount(s string) int64 {
	var n int64
	_ = json.Unmarshal([]byte(strings.ReplaceAll(s, ",", "")), &n)
	return n
}
