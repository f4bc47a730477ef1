package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// page drives the demo's page in Chromium as a person would.
type page struct {
	t     *testing.T
	ctx   context.Context
	base  string
	links []string // sign-in links followed
}

func (p *page) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	get(p, what, chromedp.Steps(steps...))
}

// get runs one action and returns its value; it fails the test on error.
func get[T any](p *page, what string, a chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		defer cancel()
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		p.t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
	}
	return v
}

// submitRequest submits the open request modal and closes the "submitted"
// view that replaces it.
func (p *page) submitRequest() {
	p.t.Helper()
	p.waitText("#modal", "MFA request")
	p.click(`[data-modal-submit]`)
	p.waitText("#modal", "submitted")
	p.click(`#modal .modal-foot [data-modal-close]`)
	p.run("modal closes", chromedp.WaitNotVisible(chromedp.CSS("#modal-wrap")))
}

// tour presses a button of the tour and waits until the page shows what
// that person sees.
func (p *page) tour(sel string) {
	p.t.Helper()
	as := get(p, "read "+sel, chromedp.AttributeValue(chromedp.CSS(sel), "data-as"))
	p.click(sel)
	p.waitFor(`document.body.dataset.me === ` + jsString(as.Value))
}

// signIn follows the newest "Sign in to approve" link in this tab (the
// page opens it in a new one), signs in on the demo's sign-in page as
// subject, with MFA or without, checks what mfadesk's step-up page then
// says, and comes back to the demo page as it was.
func (p *page) signIn(subject string, mfa bool) {
	p.t.Helper()
	// The newest link, once it is not one followed already.
	newest := `(() => { const b = [...document.querySelectorAll('#messages button[data-action-id="stepup_signin"]')].pop(); return b ? b.dataset.url : ""; })()`
	p.waitFor(newest + ` !== "" && !` + jsString(strings.Join(p.links, " ")) + `.split(" ").includes(` + newest + `)`)
	link := get(p, "read the sign-in link", chromedp.Evaluate[string](newest))
	if !strings.HasPrefix(link, p.base+"/stepup/start?t=") {
		p.t.Fatalf("sign-in link %q: want %s/stepup/start?t=…", link, p.base)
	}
	p.links = append(p.links, link)
	back := get(p, "where the page is", chromedp.Location())
	button, want := "#without-mfa", "Not approved"
	if mfa {
		button, want = "#with-mfa", "Approved"
	}
	p.run("open the sign-in link", chromedp.Navigate(link))
	p.click(`input[name="user"][value="` + subject + `"]`)
	p.click(button)
	p.waitText("#title", want)
	p.run("back to the demo", chromedp.Navigate(back))
	p.waitFor(`document.body.dataset.me !== undefined`)
}

// waitFor waits until the JavaScript expression js is true.
// It asks again while the page navigates.
func (p *page) waitFor(js string) {
	p.t.Helper()
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		var ok bool
		ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		cancel()
		if err == nil && ok {
			return
		}
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	p.t.Fatalf("waited 15s for %s (last error %v)\npage text:\n%s", js, err, body)
}

// click presses the element sel.
func (p *page) click(sel string) {
	p.t.Helper()
	// The page redraws as news arrives: a node found may be gone before the
	// click lands, so try again with the new one.
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			return
		}
	}
	p.run("click "+sel+" (last error: "+err.Error()+")", chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// waitText waits until the element sel shows want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	p.waitFor(`(() => { const e = document.querySelector(` + jsString(sel) + `); return !!e && e.innerText.includes(` + jsString(want) + `); })()`)
}

// text returns what sel shows.
func (p *page) text(sel string) string {
	p.t.Helper()
	return get(p, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// be switches the person with the page's "You are" menu.
func (p *page) be(id string) {
	p.t.Helper()
	p.run("be "+id, chromedp.SetValue(chromedp.CSS("#as"), id))
	get(p, "choose "+id, chromedp.Evaluate[bool](`document.getElementById("as").dispatchEvent(new Event("change"))`))
	p.waitFor(`document.body.dataset.me === ` + jsString(id))
}

// conversation opens a channel or DM in the sidebar.
func (p *page) conversation(id string) {
	p.t.Helper()
	p.click(`#sidebar li[data-conv="` + id + `"]`)
	p.waitFor(`document.body.dataset.conv === ` + jsString(id))
}

// typeCommand types a slash command in the composer and sends it.
func (p *page) typeCommand(text string) {
	p.t.Helper()
	p.run("type "+text, chromedp.Clear(chromedp.CSS("#compose")), chromedp.SendKeys(chromedp.CSS("#compose"), text+"\r"))
}

// screenshot captures sel as a PNG, checks it decodes, and writes it to
// docs/ with -screenshots.
func (p *page) screenshot(sel, name string) {
	p.t.Helper()
	p.run("scroll to "+sel, chromedp.ScrollIntoView(chromedp.CSS(sel)))
	buf := get(p, "screenshot "+sel, chromedp.Screenshot(chromedp.CSS(sel)))
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		p.t.Fatalf("screenshot %s: %v", name, err)
	}
	if b := img.Bounds(); b.Dx() < 200 || b.Dy() < 100 {
		p.t.Fatalf("screenshot %s is only %v", name, b)
	}
	dir := p.t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "..", "docs")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			p.t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// seenBy returns everything person id's page state holds, as text.
func seenBy(t *testing.T, base, id string) string {
	t.Helper()
	resp, err := http.Get(base + "/demo/state?as=" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestDemoTour drives the demo's guided tour in a real browser: each person
// acts and sees what Slack would show them, then the audit log is verified
// and exported.
func TestDemoTour(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	db := filepath.Join(t.TempDir(), "demo.db")
	e := env{"MFADESK_DATABASE_URL": "sqlite:" + db}
	base, stop := startDemo(t, e)
	p := &page{t: t, ctx: ctx, base: base}
	p.run("open the page", chromedp.Navigate(base+"/?as=U0HELEN&c=C0HELPDESK"), chromedp.WaitVisible(chromedp.CSS("#sidebar li")))

	// 1. Helen asks to reset Bob's password: the tour types the command, she sends it,
	// the request modal opens filled in from it.
	p.tour(`.tour-go[data-as="U0HELEN"][data-type*="@bob"]`)
	p.click(`#composer button[type=submit]`)
	p.waitText("#modal", "MFA request")
	bobChecked := get(p, "read the modal", chromedp.Evaluate[bool](`document.querySelector('#modal input[value="U0BOB"]').checked`))
	action := get(p, "read the action", chromedp.Value(chromedp.CSS(`#modal select[data-block-id="action"]`)))
	reason := get(p, "read the reason", chromedp.Value(chromedp.CSS(`#modal [data-block-id="reason"]`)))
	if !bobChecked || action != "reset-password" || !strings.Contains(reason, "Locked out") {
		t.Fatalf("modal not prefilled from the command: bob %v, action %q, reason %q", bobChecked, action, reason)
	}
	p.screenshot("#modal", "demo-modal.png")
	p.submitRequest()

	// The request waits in #mfa-approvals; Helen may not approve her own.
	p.conversation("C0APPROVALS")
	p.waitText("#messages", "Reset password")
	p.click(`#messages button[data-action-id="approve"]`)
	p.waitText("#messages", "Only visible to you")

	// 2. Helen verifies Bob through his manager, Mark, who confirms in his DM.
	p.tour(`li[data-step="verify"] .tour-go[data-as="U0HELEN"]`)
	p.click(`#messages button[data-action-id="verify_manager"]`)
	p.waitText("#messages", "manager was asked")
	p.tour(`li[data-step="verify"] .tour-go[data-as="U0MARK"]`)
	p.waitText("#messages", "who reports to you")
	p.click(`#messages button[data-action-id="verify_yes"]`)
	p.waitText("#messages", "you confirmed the caller")

	// 3. Ada approves, with step-up.
	p.tour(`li[data-step="approve"] .tour-go[data-as="U0ADA"]`)
	p.waitText("#messages", "verified (manager)")
	p.waitText("#messages", "Reset password")
	p.screenshot(`#messages .msg:has(button[data-action-id="approve"])`, "demo-approval.png")
	p.click(`#messages .msg:not(.ephemeral) button[data-action-id="approve"]`)
	// reset-password needs step-up: Ada gets a private sign-in link, and the
	// demo's sign-in provider opens in a new tab.
	p.signIn("00uADA", false) // without MFA: refused
	p.waitText("#messages", "Waiting for approval")
	p.click(`#messages .msg:not(.ephemeral) button[data-action-id="approve"]`)
	p.signIn("00uADA", true)
	p.waitText("#messages", "Ada")
	p.waitText("#messages", "Succeeded")

	// 4. Helen gets the temporary password in her DM; nobody else sees it.
	p.tour(`li[data-step="secret"] .tour-go`)
	p.waitText("#messages", "Temporary password")
	secret := strings.TrimSpace(p.text(`#messages pre`))
	if len(secret) < 12 {
		t.Fatalf("temporary password %q: want 12+ characters", secret)
	}
	for _, who := range []string{"U0ADA", "U0ALAN", "U0GRACE", "U0BOB", "U0CAROL", "U0MARK", "U0PRIYA", "U0SAM"} {
		if strings.Contains(seenBy(t, base, who), secret) {
			t.Errorf("%s sees Helen's temporary password", who)
		}
	}
	if !strings.Contains(seenBy(t, base, "U0HELEN"), secret) {
		t.Error("Helen's state lacks her temporary password")
	}

	// A push with number matching: Helen reads the number only she sees to
	// Bob, who taps it on his phone; Carol has no authenticator to push to.
	p.be("U0HELEN")
	p.conversation("C0HELPDESK")
	p.typeCommand("/mfa require-reregister-mfa @bob @carol New phones")
	p.submitRequest()
	p.conversation("DU0HELEN")
	p.click(`#messages .msg:last-of-type button[data-action-id="verify_push"]`)
	p.waitText("#messages", "Read this number")
	helen := p.text("#messages")
	p.be("U0BOB")
	p.run("Bob's phone rings", chromedp.WaitVisible(chromedp.CSS("#phone .phone-number")))
	choices := get(p, "read the phone", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#phone .phone-number")].map(b => b.textContent)`))
	var number string
	for _, c := range choices {
		if regexp.MustCompile(`caller; they pick it in their authenticator: ` + c + `\b`).MatchString(helen) {
			number = c
		}
	}
	if number == "" || len(choices) != 3 {
		t.Fatalf("phone offers %v; none is the number Helen sees:\n%s", choices, helen)
	}
	if strings.Contains(seenBy(t, base, "U0BOB"), "pick it in their authenticator: "+number) {
		t.Error("Bob's page shows the number to pick: only the requester may see it")
	}
	p.click(`#phone .phone-number[data-number="` + number + `"]`)
	p.run("the phone is answered", chromedp.WaitNotVisible(chromedp.CSS("#phone")))
	p.be("U0HELEN")
	p.conversation("C0APPROVALS")
	p.waitText("#messages", "verified (push)")
	p.waitText("#messages", "no push factor")

	// 5. Bob gets the notice and says it wasn't him; 6. containment runs at
	// once and Sam sees the alert in #security.
	p.tour(`li[data-step="notice"] .tour-go`)
	p.waitText("#messages", "A change was made to your account")
	if strings.Contains(p.text("#messages"), secret) {
		t.Error("Bob's notice shows the temporary password")
	}
	p.click(`#messages button[data-action-id="not_me"]`)
	p.waitText("#confirm", "Report this?") // Slack asks first
	p.click(`#confirm-ok`)
	p.tour(`li[data-step="containment"] .tour-go`)
	p.waitText("#messages", "Bob")
	p.waitText("#messages", "wasn")
	p.click(`#panel button[data-tab="directory"]`)
	p.waitText("#directory", "blocked")
	p.click(`#panel button[data-tab="tour"]`)

	// 7. An unauthorised request: Priya holds an admin role.
	p.tour(`.tour-go[data-type*="@priya"]`)
	p.click(`#composer button[type=submit]`)
	p.waitText("#modal", "MFA request")
	p.click(`[data-modal-submit]`)
	p.waitText("#modal .error", "admin")
	p.click(`#modal .modal-foot [data-modal-close]`)
	p.run("modal closes", chromedp.WaitNotVisible(chromedp.CSS("#modal-wrap")))

	// 8. A denied request: Alan denies with a reason.
	p.tour(`.tour-go[data-type*="@carol"]`)
	p.click(`#composer button[type=submit]`)
	p.submitRequest()
	p.tour(`.tour-go[data-as="U0ALAN"]`)
	p.waitText("#messages", "Revoke MFA sessions")
	p.click(`#messages .msg:has(button[data-action-id="deny"]) button[data-action-id="deny"]`)
	p.waitText("#modal", "Deny")
	p.run("type the reason", chromedp.SendKeys(chromedp.CSS(`#modal textarea, #modal input[type=text]`), "Carol has her laptop: it was a phishing attempt"))
	p.click(`[data-modal-submit]`)
	p.run("modal closes", chromedp.WaitNotVisible(chromedp.CSS("#modal-wrap")))
	p.waitText("#messages", "Denied")

	// Bob, an ordinary user, may request nothing.
	p.be("U0BOB")
	p.conversation("C0HELPDESK")
	p.typeCommand("/mfa")
	p.waitText("#messages", "Only visible to you")

	// 9. The live audit log.
	p.run("open the audit log", chromedp.Navigate(base+"/demo/audit"))
	p.waitText("#status", "Chain intact")
	for _, kind := range []string{"created", "verification_started", "verified", "approved", "completed", "notified", "reported_not_me", "refused", "denied"} {
		p.run("audit shows "+kind, chromedp.WaitVisible(chromedp.CSS(`#events tr[data-event="`+kind+`"]`)))
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(metrics), "mfadesk_") {
		t.Errorf("/metrics: %d\n%.300s", resp.StatusCode, metrics)
	}

	if err := stop(); err != nil {
		t.Fatalf("demo stopped with %v", err)
	}
	// The database outlives the demo because MFADESK_DATABASE_URL was set:
	// the audit commands work on it as on any other.
	code, out, errOut := runCmd(t, e, "audit", "verify")
	if code != 0 || !strings.HasPrefix(out, "ok ") {
		t.Fatalf("audit verify: exit %d: %s%s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, e, "audit", "export")
	if code != 0 {
		t.Fatalf("audit export: exit %d: %s", code, errOut)
	}
	if strings.Contains(out, secret) {
		t.Error("the audit export holds the temporary password")
	}
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev struct{ Event, Actor string }
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		kinds[ev.Event]++
	}
	for _, k := range []string{"created", "verification_started", "verified", "approved", "target_result", "completed", "notified", "reported_not_me", "refused", "denied"} {
		if kinds[k] == 0 {
			t.Errorf("audit export has no %q event: %v", k, kinds)
		}
	}
}
