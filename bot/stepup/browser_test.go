package stepup_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/chromiumtest"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

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
	ctx := chromiumtest.New(t)
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
