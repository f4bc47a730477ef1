package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/chromiumtest"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/bot/stepup"
	"github.com/mfadesk/mfadesk/bot/stepup/fakeidp"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// stepUpHarness is the harness with step_up on reset-password, the step-up
// endpoints at their own public URL and a real OpenID Connect provider
// whose users' sub is the dry-run directory's ID.
func stepUpHarness(t *testing.T, store *storage.Store) (*harness, *fakeidp.Provider) {
	t.Helper()
	const plain = "reset-password:         {request: [helpdesk, authentication-admin], approve: [authentication-admin, global-admin]}"
	if !strings.Contains(testPolicy, plain) {
		t.Fatal("the test policy changed: update stepUpHarness")
	}
	policy := strings.Replace(testPolicy, plain, strings.TrimSuffix(plain, "}")+", step_up: true}", 1)
	h := newHarness(t, store, func(o *harnessOptions) { o.policy = policy })
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	idp, err := fakeidp.Start(fakeidp.Options{
		Users: []fakeidp.User{
			{Subject: "dryrun:auth1@example.com", Email: "auth1@example.com", EmailVerified: true, Name: "Auth One"},
			{Subject: "dryrun:carol@example.com", Email: "carol@example.com", EmailVerified: true, Name: "Carol"},
		},
		ClientID: "mfadesk", ClientSecret: "idp-secret", RedirectURIs: []string{srv.URL + stepup.CallbackPath},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })
	handler, err := stepup.New(stepup.Config{Issuer: idp.Issuer(), ClientID: "mfadesk", ClientSecret: "idp-secret", PublicURL: srv.URL}, h.svc)
	if err != nil {
		t.Fatal(err)
	}
	handler.Routes(mux)
	h.bot.decisions.publicURL = srv.URL
	return h, idp
}

// stepUpLink clicks Approve on r as user and returns the link of the
// private "Sign in to approve" message.
func (h *harness) stepUpLink(user string, r actions.Request) string {
	h.t.Helper()
	links := func() []fakeslack.Message {
		var out []fakeslack.Message
		for _, m := range h.fake.Ephemerals() {
			if m.User == user && strings.Contains(m.Text, "Sign in to approve") {
				out = append(out, m)
			}
		}
		return out
	}
	before := len(links())
	h.click(user, r, blocks.ActionApprove)
	eventually(h.t, "a new private sign-in link for "+user, func() bool { return len(links()) > before })
	all := links()
	m := all[len(all)-1]
	var content []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			URL      string `json:"url"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &content); err != nil {
		h.t.Fatal(err)
	}
	for _, b := range content {
		for _, e := range b.Elements {
			if e.ActionID == blocks.ActionStepUp && e.URL != "" {
				return e.URL
			}
		}
	}
	h.t.Fatalf("no sign-in link in %s", m.Blocks)
	return ""
}

func TestStepUpFromSlack(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h, idp := stepUpHarness(t, store)
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
		link := h.stepUpLink("U0AUTH1", r)
		if !strings.Contains(link, stepup.StartPath+"?t=") {
			t.Fatalf("link %q", link)
		}
		if count(h.events(r.ID), actions.EventApproved) != 0 {
			t.Fatalf("the Approve click approved before the sign-in")
		}
		eventually(t, "the approval message shows who is signing in", func() bool {
			return strings.Contains(string(h.message(h.posted(r.ID)).Blocks), "<@U0AUTH1> signing in with MFA")
		})

		// Carol signs in with the link: refused, and the security channel hears of it.
		jar, _ := cookiejar.New(nil)
		resp, err := idp.SignIn(&http.Client{Jar: jar, Timeout: 20 * time.Second}, link, fakeidp.Choice{Subject: "dryrun:carol@example.com", MFA: true})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("someone else's sign-in: %s", resp.Status)
		}
		eventually(t, "a security alert", func() bool {
			for _, m := range h.fake.Messages(approvalChannel) {
				if strings.Contains(m.Text, "Step-up refused on request "+r.ID) {
					return true
				}
			}
			return false
		})

		// The approver clicks again and signs in themself, with MFA.
		link = h.stepUpLink("U0AUTH1", r)
		jar, _ = cookiejar.New(nil)
		resp, err = idp.SignIn(&http.Client{Jar: jar, Timeout: 20 * time.Second}, link, fakeidp.Choice{Subject: "dryrun:auth1@example.com", MFA: true})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the approver's sign-in: %s", resp.Status)
		}
		done := h.waitState(r.ID, actions.StateSucceeded)
		evs := h.events(r.ID)
		if count(evs, actions.EventApproved) != 1 || count(evs, actions.EventRefused) != 1 {
			t.Errorf("events %v", kinds(evs))
		}
		eventually(t, "the message without the signing-in note", func() bool {
			b := string(h.message(done).Blocks)
			return !strings.Contains(b, "signing in") && strings.Contains(b, "U0AUTH1")
		})
	})
}

// TestStepUpChromium follows the link from the approver's private Slack
// message in real Chromium, through the provider's sign-in page, to the
// final page, and finds the approval in the audit.
func TestStepUpChromium(t *testing.T) {
	t.Parallel()
	ctx := chromiumtest.New(t)
	store := storagetest.New(t, storage.DialectSQLite).Store
	h, _ := stepUpHarness(t, store)
	r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
	link := h.stepUpLink("U0AUTH1", r)

	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("with-mfa")),
		chromedp.Click(chromedp.CSS(`input[name=user][value="dryrun:auth1@example.com"]`)),
		chromedp.Click(chromedp.ID("with-mfa")),
		chromedp.WaitVisible(chromedp.ID("title")),
	)
	var title, detail string
	if err == nil {
		title, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("title")))
	}
	if err == nil {
		detail, err = chromedp.Run(ctx, chromedp.Text(chromedp.ID("detail")))
	}
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	if title != "Approved" || !strings.Contains(detail, r.ID) {
		t.Errorf("final page %q: %q", title, detail)
	}
	h.waitState(r.ID, actions.StateSucceeded)
	var approved actions.Event
	for _, ev := range h.events(r.ID) {
		if ev.Kind == actions.EventApproved {
			approved = ev
		}
	}
	if approved.Actor != "U0AUTH1" || !strings.Contains(approved.Detail, "step-up sign-in: sub=dryrun:auth1@example.com amr=pwd,mfa,otp auth_time=") {
		t.Errorf("approved event %+v", approved)
	}
}
