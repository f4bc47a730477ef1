package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// The notice, "This wasn't me" and the per-target limit, end to end:
// `mfadesk serve` against the fake Slack and the fake Graph, driven only by
// signed payloads, on both databases.

const (
	noticeSecurity = "C0SECURE"
	noticeBob      = "U0BOB"
	noticeCarol    = "U0CAROL" // Bob's manager
	noticeMallory  = "U0MAL"
	noticeGlobal   = "U0GLOB1" // holds a privileged role
)

const noticePolicy = `roles:
  helpdesk: [U0HELP1]
  authentication-admin: [U0AUTH1]
  global-admin: [U0GLOB1]
actions:
  reset-password: {request: [helpdesk, global-admin], approve: [authentication-admin, global-admin]}
approval: {approvals: 1, ttl: 1h}
limits:
  per_target: {window: 24h, max: 1, actions: [reset-password]}
notify: {target: true, manager: true}
containment: [revoke-mfa-sessions, block-sign-in]
privileged: {roles: [global-admin]}
`

// noticeRig is `mfadesk serve` with the fake Slack and Graph of these tests.
type noticeRig struct {
	*e2e
	graph *fakegraph.Server
	bob   fakegraph.User
}

func startNoticeRig(t *testing.T, db storagetest.DB, extra env) *noticeRig {
	t.Helper()
	g, _, dirEnv := fakeEntra(t)
	carol := g.AddUser(fakegraph.User{UPN: "carol@example.com", Mail: "carol@example.com", DisplayName: "Carol", AccountEnabled: true})
	bob := g.AddUser(fakegraph.User{UPN: "bob@example.com", Mail: "bob@example.com", DisplayName: "Bob", AccountEnabled: true, Manager: carol.ID})

	s := fakeslack.New()
	t.Cleanup(s.Close)
	for _, ch := range []string{e2eChannel, noticeSecurity, "C0COMMANDS"} {
		s.AddChannel(ch)
	}
	for _, u := range []fakeslack.User{
		{ID: e2eHelpdesk, Name: "help", Email: "help@example.com"}, {ID: e2eApprover, Name: "auth", Email: "auth@example.com"},
		{ID: noticeGlobal, Name: "glob", Email: "glob@example.com"}, {ID: noticeBob, Name: "bob", Email: "bob@example.com"},
		{ID: noticeCarol, Name: "carol", Email: "carol@example.com"}, {ID: noticeMallory, Name: "mallory", Email: "mallory@example.com"},
	} {
		s.AddUser(u)
	}
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte(noticePolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	e := env{
		"MFADESK_DATABASE_URL": db.URL, "MFADESK_POLICY_FILE": pol, "MFADESK_HTTP_ADDR": "127.0.0.1:0",
		"MFADESK_APPROVAL_CHANNEL": e2eChannel, "MFADESK_SECURITY_CHANNEL": noticeSecurity,
		"SLACK_BOT_TOKEN": s.Token, "SLACK_SIGNING_SECRET": e2eSecret, "SLACK_API_URL": s.APIURL(), "MFADESK_LOG_LEVEL": "debug",
	}.plus(dirEnv, extra)
	h := &noticeRig{e2e: &e2e{t: t, slack: s, db: db, env: e}, graph: g, bob: bob}
	h.start()
	return h
}

// submit asks, as requester, for a reset of Bob's password through /mfa and
// the request modal, and returns the modal's answer.
func (h *noticeRig) submit(requester string) map[string]any {
	t := h.t
	t.Helper()
	view := h.openForm("", requester)
	reply, err := h.app.Submit(view.ID, requester, requestValues(noticeBob, actions.ResetPassword, "locked out, called from a new phone", "INC-77"))
	var answer map[string]any
	if err != nil || reply.Status != http.StatusOK || reply.JSON(&answer) != nil {
		t.Fatalf("submission: %v %+v", err, reply)
	}
	return answer
}

// resetBob requests and approves a reset of Bob's password, waits for it
// to end, and returns the request ID.
func (h *noticeRig) resetBob() string {
	t := h.t
	t.Helper()
	if a := h.submit(e2eHelpdesk); a["response_action"] != "update" {
		t.Fatalf("submission answered %v", a)
	}
	var id, ts string
	waitFor(t, "the approval message", 10*time.Second, func() bool {
		for _, m := range h.slack.Messages(e2eChannel) {
			if v := buttonValue(m.Blocks, blocks.ActionApprove); v != "" {
				id, ts = v, m.TS
			}
		}
		return id != ""
	})
	if r, err := h.app.Click(e2eApprover, e2eChannel, ts, blocks.ActionApprove, id); err != nil || r.Status != http.StatusOK {
		t.Fatalf("approve: %v %+v", err, r)
	}
	waitFor(t, "the reset to end", 30*time.Second, func() bool {
		r, err := h.db.Store.Request(t.Context(), id)
		return err == nil && r.State.Terminal()
	})
	return id
}

// notice waits for the one message in user's DM that mentions request id
// and holds want, and returns it.
func (h *noticeRig) notice(user, id, want string) fakeslack.Message {
	t := h.t
	t.Helper()
	var found []fakeslack.Message
	waitFor(t, "the notice to "+user, 30*time.Second, func() bool {
		found = found[:0]
		for _, m := range h.dms(user) {
			if txt := textOf(m.Blocks); strings.Contains(txt, id) && strings.Contains(txt, want) {
				found = append(found, m)
			}
		}
		return len(found) > 0
	})
	return found[0]
}

// TestNoticeAndNotMeEndToEnd: a reset's notice reaches Bob and his manager
// with the right words and no secret; someone else's "This wasn't me" is
// refused; Bob's runs revoke-mfa-sessions and block-sign-in on him at once,
// alerts the security channel and tells him what to do, once however often
// he clicks; the per-target limit refuses a second reset but lets a
// privileged requester through; and the audit export and verify show it all.
func TestNoticeAndNotMeEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		h := startNoticeRig(t, db, nil)
		id := h.resetBob()
		secret := h.graph.User(h.bob.ID).Password
		if len(secret) < 8 {
			t.Fatalf("the fake holds no password for Bob: %q", secret)
		}

		// The notices.
		bobs := h.notice(noticeBob, id, "Your password was reset to a temporary one")
		txt := textOf(bobs.Blocks)
		for _, want := range []string{"<@" + e2eHelpdesk + ">", "<@" + e2eApprover + ">", "locked out, called from a new phone", "INC-77", "`" + id + "`"} {
			if !strings.Contains(txt, want) {
				t.Errorf("Bob's notice lacks %q:\n%s", want, txt)
			}
		}
		if buttonValue(bobs.Blocks, blocks.ActionNotMe) != id {
			t.Errorf("Bob's notice has no not_me button for %s", id)
		}
		carols := h.notice(noticeCarol, id, "Your password was reset to a temporary one")
		if buttonValue(carols.Blocks, blocks.ActionNotMe) != "" || !strings.Contains(textOf(carols.Blocks), "<@"+noticeBob+">") {
			t.Errorf("Carol's notice:\n%s", textOf(carols.Blocks))
		}
		for _, c := range h.slack.Calls("chat.postMessage", "chat.update", "chat.postEphemeral") {
			if c.Args["channel"] != h.slack.IM(e2eHelpdesk) && (leaked(c.Args["blocks"], secret) || leaked(c.Args["text"], secret)) {
				t.Errorf("the temporary password is in %s to %s", c.Method, c.Args["channel"])
			}
		}

		// Someone else's click is refused.
		if r, err := h.app.Click(noticeMallory, bobs.Channel, bobs.TS, blocks.ActionNotMe, id); err != nil || r.Status != http.StatusOK {
			t.Fatalf("mallory's click: %v %+v", err, r)
		}
		waitFor(t, "mallory's refusal", 10*time.Second, func() bool {
			for _, m := range h.slack.Ephemerals() {
				if strings.Contains(textOf(m.Blocks), "Only the user request "+id+" acted on can report it") {
					return true
				}
			}
			return false
		})

		// Bob's click contains him, twice clicked.
		for range 2 {
			if r, err := h.app.Click(noticeBob, bobs.Channel, bobs.TS, blocks.ActionNotMe, id); err != nil || r.Status != http.StatusOK {
				t.Fatalf("bob's click: %v %+v", err, r)
			}
		}
		var alertText string
		waitFor(t, "the alert in the security channel", 30*time.Second, func() bool {
			for _, m := range h.slack.Messages(noticeSecurity) {
				alertText = textOf(m.Blocks)
			}
			return strings.Contains(alertText, "Revoke MFA sessions: done") && strings.Contains(alertText, "Block sign-in: done")
		})
		h.notice(noticeBob, id, "Call the security team")
		waitFor(t, "bob's notice to show the report", 10*time.Second, func() bool {
			for _, m := range h.dms(noticeBob) {
				if m.TS == bobs.TS {
					return strings.Contains(textOf(m.Blocks), "You reported this as *not you*") && buttonValue(m.Blocks, blocks.ActionNotMe) == ""
				}
			}
			return false
		})
		u := h.graph.User(h.bob.ID)
		if u.Revoked != 1 || u.AccountEnabled {
			t.Errorf("Bob in Graph: revoked %d times, enabled %v; want revoked once and blocked", u.Revoked, u.AccountEnabled)
		}
		if n := calls(h.graph.Calls(), "POST /users/"+h.bob.ID+"/revokeSignInSessions"); n != 1 {
			t.Errorf("%d revokeSignInSessions calls, want 1", n)
		}
		if n := len(h.slack.Messages(noticeSecurity)); n != 1 {
			t.Errorf("%d security alerts, want 1", n)
		}

		// The per-target limit.
		answer := h.submit(e2eHelpdesk)
		errs, _ := answer["errors"].(map[string]any)
		if answer["response_action"] != "errors" || !strings.Contains(fmt.Sprint(errs[blocks.BlockTargets]), id) {
			t.Errorf("a second reset of Bob within the window: %v", answer)
		}
		if a := h.submit(noticeGlobal); a["response_action"] != "update" {
			t.Errorf("the privileged requester's reset: %v", a)
		}

		if err := h.proc.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
		if leaked(h.proc.logs.String(), secret) {
			t.Error("the temporary password is in the log")
		}
		h.checkNotMeAudit(id, secret)
	})
}

// checkNotMeAudit reads the export: the reset's notices, the refused click,
// the report, and the two containment requests as CONTRACT.md has them.
func (h *noticeRig) checkNotMeAudit(id, secret string) {
	t := h.t
	t.Helper()
	evs, _ := h.exportAudit()
	byReq := map[string][]exportedEvent{}
	var containment []string
	for _, e := range evs {
		byReq[e.RequestID] = append(byReq[e.RequestID], e)
		if e.Event == "created" && strings.Contains(e.Detail, "containment of request "+id) {
			containment = append(containment, e.RequestID)
		}
		if b, _ := json.Marshal(e); leaked(string(b), secret) {
			t.Errorf("the temporary password is in event %d", e.Seq)
		}
	}
	var kinds []string
	notified := map[string]bool{}
	for _, e := range byReq[id] {
		kinds = append(kinds, e.Event+":"+e.Actor)
		if e.Event == "notified" {
			notified[e.Detail] = true
			if e.Target == nil || e.Target.SlackID != noticeBob {
				t.Errorf("notified event without Bob as target: %+v", e)
			}
		}
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{"refused:" + noticeMallory, "reported_not_me:" + noticeBob} {
		if strings.Count(got, want) != 1 {
			t.Errorf("events of %s: %s; want one %s", id, got, want)
		}
	}
	for _, want := range []string{"notice sent to the user <@U0BOB>", "notice sent to their manager <@U0CAROL>",
		"notice sent to the security channel", "notice sent to the user who reported it <@U0BOB>"} {
		if !notified[want] {
			t.Errorf("no notified event %q in %v", want, notified)
		}
	}
	if len(containment) != 2 {
		t.Fatalf("containment requests %v, want 2", containment)
	}
	for k, cid := range containment {
		evs := byReq[cid]
		wantAction := []string{"revoke-mfa-sessions", "block-sign-in"}[k]
		var seq []string
		for _, e := range evs {
			seq = append(seq, e.Event)
			if e.Action != wantAction {
				t.Errorf("%s: %s event of action %s, want %s", cid, e.Event, e.Action, wantAction)
			}
		}
		if strings.Join(seq, " ") != "created approved started target_result completed" {
			t.Errorf("%s: events %v", cid, seq)
		}
		c, a := evs[0], evs[1]
		if c.Actor != noticeBob || len(c.Targets) != 1 || c.Targets[0].SlackID != noticeBob || c.Targets[0].DirectoryID != h.bob.ID {
			t.Errorf("%s created: %+v", cid, c)
		}
		if a.Actor != actions.BotActor || a.Detail != "containment" {
			t.Errorf("%s approved: %+v", cid, a)
		}
		if r := evs[3]; r.Outcome != "ok" || evs[4].Outcome != "succeeded" {
			t.Errorf("%s result: %+v, %+v", cid, r, evs[4])
		}
	}
}

// TestNoticeAfterKill: `mfadesk serve` killed between the action and the
// notice sends it exactly once after a restart.
func TestNoticeAfterKill(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		h := startNoticeRig(t, db, env{"MFADESK_EXECUTOR_LEASE": "2s"})
		// Slack answers no look-up: the courier holds the notices, claimed
		// and unsent, when the process dies.
		h.slack.Delay("users.lookupByEmail", time.Hour)
		id := h.resetBob()
		waitFor(t, "the courier to look Bob up", 30*time.Second, func() bool {
			return len(h.slack.Calls("users.lookupByEmail")) > 0
		})
		h.proc.cmd.Process.Signal(syscall.SIGKILL)
		<-h.proc.done
		r, err := db.Store.Request(t.Context(), id)
		if err != nil || len(r.Notices) != 2 || r.Notices[0].State == actions.NoticeSent || r.Notices[1].State == actions.NoticeSent {
			t.Fatalf("before the restart: %+v %v", r.Notices, err)
		}
		if n := len(h.dms(noticeBob)); n != 0 {
			t.Fatalf("Bob has %d messages before the restart", n)
		}

		h.slack.Delay("users.lookupByEmail", 0)
		h.start()
		h.notice(noticeBob, id, "Your password was reset")
		h.notice(noticeCarol, id, "Your password was reset")
		waitFor(t, "both notices recorded", 30*time.Second, func() bool {
			r, err := db.Store.Request(t.Context(), id)
			return err == nil && r.Notices[0].State == actions.NoticeSent && r.Notices[1].State == actions.NoticeSent
		})
		time.Sleep(3 * time.Second) // past another lease: nothing is sent again
		for _, who := range []string{noticeBob, noticeCarol} {
			n := 0
			for _, m := range h.dms(who) {
				if strings.Contains(textOf(m.Blocks), id) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s got %d notices, want 1", who, n)
			}
		}
		if err := h.proc.stop(t, syscall.SIGTERM); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
		var notified int
		evs, _ := h.exportAudit()
		for _, e := range evs {
			if e.RequestID == id && e.Event == "notified" {
				notified++
			}
		}
		if notified != 2 {
			t.Errorf("%d notified events, want 2", notified)
		}
	})
}
