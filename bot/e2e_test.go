package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

func contains(t *testing.T, what string, raw []byte, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(string(raw), s) {
			t.Errorf("%s lacks %q:\n%s", what, s, raw)
		}
	}
}

// initialAction returns the action preselected in a request form.
func initialAction(t *testing.T, view []byte) string {
	t.Helper()
	var v struct {
		Blocks []struct {
			BlockID string `json:"block_id"`
			Element struct {
				InitialOption *struct {
					Value string `json:"value"`
				} `json:"initial_option"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(view, &v); err != nil {
		t.Fatal(err)
	}
	for _, b := range v.Blocks {
		if b.BlockID == blocks.BlockAction && b.Element.InitialOption != nil {
			return b.Element.InitialOption.Value
		}
	}
	return ""
}

func TestRequestApproveResult(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)

		v := h.openForm("U0HELP1", "revoke-mfa-sessions <@U0BOB|bob> lost phone")
		contains(t, "the prefilled form", v.JSON, `"initial_users":["U0BOB"]`, `"initial_value":"lost phone"`)
		if got := initialAction(t, v.JSON); got != "revoke-mfa-sessions" {
			t.Errorf("preselected action %q, want revoke-mfa-sessions", got)
		}
		if strings.Contains(string(v.JSON), "delete-app-passwords") {
			t.Errorf("the form offers an action the requester may not request:\n%s", v.JSON)
		}

		a := h.decode(h.app.Submit(v.ID, "U0HELP1", formValues("revoke-mfa-sessions", []string{"U0BOB"}, "lost phone", "INC-9")))
		if a.ResponseAction != "update" {
			t.Fatalf("answer %+v, want update to the submitted view", a)
		}
		r, err := store.RequestBySubmissionKey(context.Background(), "slack-view:"+v.ID)
		if err != nil {
			t.Fatal(err)
		}
		contains(t, "the submitted view", a.View, r.ID)
		r = h.posted(r.ID)

		m := h.message(r)
		contains(t, "the approval message", m.Blocks, `"action_id":"approve"`, `"action_id":"deny"`,
			`"value":"`+r.ID+`"`, "<@U0HELP1>", "lost phone", "INC-9", "bob@example.com", "<!date^")
		h.waitDM("U0HELP1", r.ID) // the confirmation

		h.click("U0AUTH1", r, blocks.ActionApprove)
		done := h.waitState(r.ID, actions.StateSucceeded)
		eventually(t, "the message to show the result", func() bool {
			m = h.message(done)
			return strings.Contains(string(m.Blocks), "*Succeeded*")
		})
		contains(t, "the final message", m.Blocks, "Approved by <@U0AUTH1>", ":white_check_mark: ok")
		if strings.Contains(string(m.Blocks), `"action_id":"approve"`) {
			t.Errorf("the buttons remain on a decided request")
		}
		h.waitDM("U0HELP1", "has succeeded")

		want := []actions.EventKind{actions.EventCreated, actions.EventApproved, actions.EventStarted,
			actions.EventTargetResult, actions.EventCompleted}
		if diff := cmp.Diff(want, kinds(h.events(r.ID))); diff != "" {
			t.Errorf("audit events (-want +got):\n%s", diff)
		}
		if n := len(h.fake.Messages(approvalChannel)); n != 1 {
			t.Errorf("%d messages in the approval channel, want 1", n)
		}
	})
}

func TestDeny(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")

		h.click("U0AUTH1", r, blocks.ActionDeny)
		var deny struct{ ID string }
		eventually(t, "the deny modal", func() bool {
			for _, v := range h.fake.Views("U0AUTH1") {
				if v.CallbackID == blocks.CallbackDeny {
					deny.ID = v.ID
					return true
				}
			}
			return false
		})
		a := h.decode(h.app.Submit(deny.ID, "U0AUTH1", map[string]map[string]any{
			blocks.BlockDenyReason: {blocks.BlockDenyReason: map[string]any{"type": "plain_text_input", "value": "not verified"}},
		}))
		if a.ResponseAction != "clear" {
			t.Errorf("deny answered %+v, want clear", a)
		}
		denied := h.waitState(r.ID, actions.StateDenied)
		if denied.DecisionNote != "not verified" || denied.DecidedBy.SlackID != "U0AUTH1" {
			t.Errorf("denied %+v", denied)
		}
		eventually(t, "the message to show the denial", func() bool {
			return strings.Contains(string(h.message(denied).Blocks), "*Denied* by <@U0AUTH1>: not verified")
		})
		h.waitDM("U0HELP1", "has denied")
		if n := count(h.events(r.ID), actions.EventTargetResult); n != 0 {
			t.Errorf("%d targets acted on after a denial", n)
		}
	})
}

func TestSelfApprovalRefused(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		r := h.request("U0AUTH1", actions.RevokeMFASessions, "U0BOB") // may request and approve
		before := h.message(r)

		h.click("U0AUTH1", r, blocks.ActionApprove)
		h.waitEphemeral("U0AUTH1", "a different person must approve it")
		eventually(t, "a refused event", func() bool { return count(h.events(r.ID), actions.EventRefused) == 1 })
		time.Sleep(100 * time.Millisecond) // a wrong redraw would have come by now
		if got := h.message(r); got.Updates != before.Updates || string(got.Blocks) != string(before.Blocks) {
			t.Errorf("the approval message changed after a refused click")
		}
		if cur, _ := h.svc.Get(context.Background(), r.ID); cur.State != actions.StatePending {
			t.Errorf("state %s after self-approval, want pending", cur.State)
		}
	})
}

func TestUnauthorizedApprover(t *testing.T) {
	t.Parallel()
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		r := h.request("U0HELP1", actions.RevokeMFASessions, "U0BOB")
		before := h.message(r)

		// A helpdesk member by profile email: may request, not approve.
		h.click("U0HELP2", r, blocks.ActionApprove)
		h.waitEphemeral("U0HELP2", "you need one of the roles authentication-admin, global-admin")
		// Deny is refused before any modal opens.
		h.click("U0NOBODY", r, blocks.ActionDeny)
		h.waitEphemeral("U0NOBODY", "To deny revoke-mfa-sessions you need one of the roles")
		eventually(t, "two refused events", func() bool { return count(h.events(r.ID), actions.EventRefused) == 2 })
		for _, e := range h.events(r.ID) {
			if e.Kind == actions.EventRefused && e.Action != actions.RevokeMFASessions {
				t.Errorf("refused event without the action: %+v", e)
			}
		}
		if vs := h.fake.Views("U0NOBODY"); len(vs) != 0 {
			t.Errorf("a deny modal opened for someone who may not deny")
		}
		time.Sleep(100 * time.Millisecond)
		if got := h.message(r); got.Updates != before.Updates {
			t.Errorf("the approval message changed after refused clicks")
		}
	})
}

func TestUnauthorizedRequester(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)

		// No role at all: no form, an explanation.
		if r, err := h.app.Command("U0NOBODY", "/mfa", ""); err != nil || r.Status != 200 {
			t.Fatalf("/mfa: %v %+v", err, r)
		}
		h.waitEphemeral("U0NOBODY", "You hold no role that may request")
		if vs := h.fake.Views("U0NOBODY"); len(vs) != 0 {
			t.Errorf("a form opened for someone with no role")
		}

		// A helpdesk member submitting an action only global admins may request.
		v := h.openForm("U0HELP1", "")
		a := h.decode(h.app.Submit(v.ID, "U0HELP1", formValues("delete-app-passwords", []string{"U0BOB"}, "old device", "")))
		if a.ResponseAction != "errors" || !strings.Contains(a.Errors[blocks.BlockAction], "needs one of the roles global-admin") {
			t.Errorf("answer %+v, want errors on the action block", a)
		}
		if rs := h.requests(); len(rs) != 0 {
			t.Errorf("%d requests stored", len(rs))
		}
		evs := h.events("")
		if len(evs) != 1 || evs[0].Kind != actions.EventRefused || evs[0].Actor != "U0HELP1" {
			t.Errorf("audit %+v, want one refused event by U0HELP1", evs)
		}
	})
}

func TestSubmissionProblems(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		for _, c := range []struct {
			name, requester, target, block, want string
		}{
			{"bot", "U0HELP1", "U0ROBOT", blocks.BlockTargets, "@robot is a bot or app"},
			{"deactivated", "U0HELP1", "U0GONE", blocks.BlockTargets, "@gone is deactivated in Slack"},
			{"no email", "U0HELP1", "U0NOMAIL", blocks.BlockTargets, "@nomail has no email on their Slack profile"},
			{"unknown to the directory", "U0HELP1", "U0GHOST", blocks.BlockTargets, "@ghost (ghost@example.com) is not a user of the dryrun directory"},
			{"privileged", "U0HELP1", "U0ADMIN", blocks.BlockTargets, "hold an admin role: acting on them needs one of the roles privileged-authentication-admin, global-admin"},
			{"self", "U0HELP1", "U0HELP1", blocks.BlockTargets, "You cannot request an action on yourself"},
			{"no target", "U0HELP1", "", blocks.BlockTargets, "Choose at least one user"},
			{"no reason", "U0HELP1", "U0BOB", blocks.BlockReason, "the reason is required"},
		} {
			t.Run(c.name, func(t *testing.T) {
				v := h.openForm(c.requester, "")
				var targets []string
				if c.target != "" {
					targets = []string{c.target}
				}
				reason := "lost phone"
				if c.block == blocks.BlockReason {
					reason = " "
				}
				a := h.decode(h.app.Submit(v.ID, c.requester, formValues("revoke-mfa-sessions", targets, reason, "")))
				if a.ResponseAction != "errors" || !strings.Contains(a.Errors[c.block], c.want) {
					t.Errorf("answer %+v, want errors on %s with %q", a, c.block, c.want)
				}
			})
		}
		if rs := h.requests(); len(rs) != 0 {
			t.Errorf("%d requests stored", len(rs))
		}
		// Typing mistakes leave no trace; acting on an admin without the
		// role for it is a refusal.
		if evs := h.events(""); len(evs) != 1 || evs[0].Kind != actions.EventRefused || !strings.Contains(evs[0].Detail, "admin role") {
			t.Errorf("audit events %+v, want the one refusal of the privileged target", evs)
		}
	})
}

func TestExpired(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		r := h.request("U0HELP1", actions.RevokeMFASessions, "U0BOB")
		h.clock.Add(2 * time.Hour)

		h.click("U0AUTH1", r, blocks.ActionApprove)
		h.waitEphemeral("U0AUTH1", "expired at")
		expired := h.waitState(r.ID, actions.StateExpired)
		eventually(t, "the message to show the expiry", func() bool {
			return strings.Contains(string(h.message(expired).Blocks), "*Expired*")
		})
		h.waitDM("U0HELP1", "has expired")
		if n := count(h.events(r.ID), actions.EventApproved); n != 0 {
			t.Errorf("%d approvals of an expired request", n)
		}
	})
}

func TestDoubleClick(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		r := h.request("U0HELP1", actions.RevokeMFASessions, "U0BOB", "U0CAROL")

		h.click("U0AUTH1", r, blocks.ActionApprove)
		if _, err := h.app.Redeliver(); err != nil { // Slack retrying the same click
			t.Fatal(err)
		}
		h.click("U0AUTH1", r, blocks.ActionApprove) // a second press
		h.click("U0AUTH2", r, blocks.ActionApprove) // another approver, too late
		h.waitState(r.ID, actions.StateSucceeded)
		evs := h.events(r.ID)
		if n := count(evs, actions.EventApproved); n != 1 {
			t.Errorf("%d approvals, want 1", n)
		}
		if n := count(evs, actions.EventTargetResult); n != 2 {
			t.Errorf("%d target results for 2 targets", n)
		}
	})
}

func TestRedeliveredSubmission(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		h := newHarness(t, db.Store)
		v := h.openForm("U0HELP1", "")
		values := formValues("revoke-mfa-sessions", []string{"U0BOB"}, "lost phone", "")
		first := h.decode(h.app.Submit(v.ID, "U0HELP1", values))
		again := h.decode(h.app.Redeliver()) // X-Slack-Retry-Num: same view ID and hash

		// Another replica on the same database gets the same payload.
		other := newHarness(t, db.Open(t))
		path, body := h.app.Last()
		third := h.decode(other.app.Send(path, body, 2))

		if first.ResponseAction != "update" || string(first.View) != string(again.View) || string(first.View) != string(third.View) {
			t.Errorf("answers differ:\n%s\n%s\n%s", first.View, again.View, third.View)
		}
		rs := h.requests()
		if len(rs) != 1 {
			t.Fatalf("%d requests stored, want 1", len(rs))
		}
		h.posted(rs[0].ID)
		time.Sleep(100 * time.Millisecond)
		if n := len(h.fake.Messages(approvalChannel)) + len(other.fake.Messages(approvalChannel)); n != 1 {
			t.Errorf("%d approval messages, want 1", n)
		}
		if n := count(h.events(""), actions.EventCreated); n != 1 {
			t.Errorf("%d created events", n)
		}
		if dms := h.dms("U0HELP1"); len(dms) != 1 {
			t.Errorf("%d confirmations, want 1", len(dms))
		}
	})
}
