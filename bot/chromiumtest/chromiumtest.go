// Package chromiumtest starts a headless Chromium for tests that drive a
// real browser with chromedp. Outside CI a test skips, saying why, when
// Chromium cannot be started; in CI (the CI variable set) that fails it.
// Install Chromium with `apt-get install chromium` (Debian's package);
// `.ci/run` does.
package chromiumtest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// StartTimeout bounds how long Chromium may take to start.
const StartTimeout = time.Minute

// New returns a chromedp context on a fresh headless Chromium with its own
// profile, closed when t ends. The flags keep it off the network but for
// the pages the test opens: no background networking, component updates,
// sync or QUIC, which stall on a closed network.
func New(t testing.TB) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+" (install it with apt-get install chromium; in CI this fails)", args...)
	}
	if path == "" {
		unavailable("chromium is not installed")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-default-browser-check", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first action starts the browser, on ctx itself: a context derived
	// from it would close the browser when it ends.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		if err != nil {
			unavailable("chromium (%s) cannot be started: %v", path, err)
		}
	case <-time.After(StartTimeout):
		cancel()
		cancelAlloc()
		unavailable("chromium (%s) did not start within %s", path, StartTimeout)
	}
	return ctx
}
