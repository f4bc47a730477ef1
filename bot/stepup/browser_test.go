package stepup_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// chromium returns a chromedp context on a fresh headless Chromium. Outside
// CI it skips the test, saying why, when Chromium cannot be started; in CI
// (CI set) that fails the test.
func chromium(t *testing.T) context.Context {
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
	// The first action starts the browser, on ctx itself: a context
	// derived from it would close the browser when it ends.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		if err != nil {
			unavailable("chromium (%s) cannot be started: %v", path, err)
		}
	case <-time.After(60 * time.Second):
		cancel()
		cancelAlloc()
		unavailable("chromium (%s) did not start within a minute", path)
	}
	return ctx
}

// signInWithBrowser opens link in Chromium, signs in on the provider's page
// with MFA as the first user, and returns the final page's title and text.
func signInWithBrowser(t *testing.T, ctx context.Context, link string) (title, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("with-mfa")),
		chromedp.Click(chromedp.ID("with-mfa")),
		chromedp.WaitVisible(chromedp.ID("title")),
	)
	if err == nil {
		title, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("title")))
	}
	if err == nil {
		text, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	}
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return title, text
}

func TestStepUpInChromium(t *testing.T) {
	ctx := chromium(t)
	st := storagetest.New(t, storage.DialectSQLite).Store
	e := newEnv(t, st, envOpts{})
	title, text := signInWithBrowser(t, ctx, e.link(approver))
	if title != "Approved" || !strings.Contains(text, e.req.ID) {
		t.Errorf("final page %q: %q", title, text)
	}
	if e.state() != actions.StateApproved || e.count(actions.EventApproved) != 1 {
		t.Errorf("request %s with %d approvals", e.state(), e.count(actions.EventApproved))
	}
}
