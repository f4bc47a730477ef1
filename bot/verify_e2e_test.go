package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/actions/directories/okta"
	"github.com/mfadesk/mfadesk/actions/directories/okta/fakeokta"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// Caller verification end to end, driven as Slack drives mfadesk: signed
// payloads from the fake Slack to the bot's endpoints, the bot's Web API
// calls to the fake Slack (whose users.lookupByEmail is checked against
// Slack's published description), on both databases.

const verifyPolicy = `
roles:
  helpdesk: [U0HELP1]
  authentication-admin: [U0AUTH1]
  global-admin: [U0GLOB1]
actions:
  reset-password:      {request: [helpdesk], approve: [authentication-admin, global-admin], verify: [target, manager, push]}
  revoke-mfa-sessions: {request: [helpdesk], approve: [authentication-admin, global-admin]}
verification: {ttl: 30m}
`

const securityChannel = "CSECURITY"

// verifyHarness is a harness whose policy needs caller verification, over
// the dry-run directory with these managers: bob's and nobody's is glob2,
// carol's is the requester, auth2's has no Slack account.
func verifyHarness(t *testing.T, store *storage.Store, dir actions.Directory) *harness {
	t.Helper()
	if dir == nil {
		dir = dryrun.New(dryrun.Options{Managers: map[string]string{
			"bob@example.com": "glob2@example.com", "nobody@example.com": "glob2@example.com",
			"carol@example.com": "agent@example.com", "auth2@example.com": "departed@example.com",
		}})
	}
	return newHarness(t, store, func(o *harnessOptions) {
		o.dir, o.policy, o.security = dir, verifyPolicy, securityChannel
	})
}

// startVerify presses a verify_* button in the requester's confirmation DM.
func (h *harness) startVerify(r actions.Request, action string) {
	h.t.Helper()
	m := h.waitDM("U0HELP1", `"action_id":"`+action+`"`)
	h.press("U0HELP1", m, action, r.ID)
}

// press clicks button action (value) in message m as user.
func (h *harness) press(user string, m fakeslack.Message, action, value string) {
	h.t.Helper()
	reply, err := h.app.Click(user, m.Channel, m.TS, action, value)
	if err != nil || reply.Status != http.StatusOK {
		h.t.Fatalf("click %s: %v %+v", action, err, reply)
	}
}

// question waits for the DM asking user to verify r's caller.
func (h *harness) question(user string, r actions.Request) fakeslack.Message {
	h.t.Helper()
	return h.waitDM(user, `"verify_yes"`)
}

func eventsOf(evs []actions.Event, k actions.EventKind) []actions.Event {
	var out []actions.Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestVerifyTargetYesThenApproved(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := verifyHarness(t, store, nil)
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
		conf := h.waitDM("U0HELP1", `"action_id":"verify_target"`)
		contains(t, "the confirmation", conf.Blocks, `"action_id":"verify_manager"`, `"action_id":"verify_push"`, `"value":"`+r.ID+`"`)

		h.startVerify(r, blocks.ActionVerifyTarget)
		h.waitEphemeral("U0HELP1", "asked in Slack to confirm")
		q := h.question("U0BOB", r)
		contains(t, "the question", q.Blocks, "<@U0HELP1>", r.ID, "Reset password", "Did you ask for this?", `"action_id":"verify_no"`)
		eventually(t, "the approval message to show the wait", func() bool {
			return strings.Contains(string(h.message(h.posted(r.ID)).Blocks), "verification waiting (target)")
		})

		h.press("U0BOB", q, blocks.ActionVerifyYes, r.ID)
		eventually(t, "the approval message to show the verification", func() bool {
			return strings.Contains(string(h.message(h.posted(r.ID)).Blocks), "verified (target)")
		})
		h.waitDM("U0BOB", "you confirmed the caller")
		if got, _ := h.svc.Get(context.Background(), r.ID); got.State != actions.StatePending {
			t.Fatalf("state %s before approval, want pending", got.State)
		}
		h.click("U0AUTH1", r, blocks.ActionApprove)
		h.waitState(r.ID, actions.StateSucceeded)

		evs := h.events(r.ID)
		v := eventsOf(evs, actions.EventVerified)
		if len(v) != 1 || v[0].Method != "target" || v[0].Actor != "U0BOB" || v[0].Target == nil || v[0].Target.Email != "bob@example.com" {
			t.Errorf("verified events %+v, want one by the target with method target", v)
		}
		if s := eventsOf(evs, actions.EventVerificationStarted); len(s) != 1 || s[0].Actor != "U0HELP1" || s[0].Method != "target" {
			t.Errorf("started events %+v", s)
		}
		if u := h.fake.Undocumented(); len(u) != 0 {
			t.Errorf("undocumented Slack calls: %q", u)
		}
	})
}

func TestVerifyTargetNoDeniesAndAlerts(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := verifyHarness(t, store, nil)
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
		h.startVerify(r, blocks.ActionVerifyTarget)
		q := h.question("U0BOB", r)
		h.press("U0BOB", q, blocks.ActionVerifyNo, r.ID)
		got := h.waitState(r.ID, actions.StateDenied)
		if got.DecidedBy.SlackID != "U0BOB" {
			t.Errorf("denied by %+v, want the target", got.DecidedBy)
		}
		eventually(t, "the security alert", func() bool {
			for _, m := range h.fake.Messages(securityChannel) {
				if strings.Contains(m.Text, r.ID) && strings.Contains(m.Text, "agent@example.com (Slack U0HELP1)") &&
					strings.Contains(m.Text, "(Slack U0BOB) says they did not ask") && strings.Contains(string(m.Blocks), r.ID) {
					return true
				}
			}
			return false
		})
		h.waitDM("U0BOB", "you said no")
		evs := h.events(r.ID)
		d := eventsOf(evs, actions.EventDenied)
		if len(d) != 1 || d[0].Actor != "U0BOB" {
			t.Errorf("denied events %+v, want one by the target", d)
		}
		if f := eventsOf(evs, actions.EventVerificationFailed); len(f) != 1 || f[0].Method != "target" {
			t.Errorf("failed verifications %+v", f)
		}
		eventually(t, "the approval message to show the denial", func() bool {
			return strings.Contains(string(h.message(h.posted(r.ID)).Blocks), "*Denied* by <@U0BOB>")
		})
	})
}

func TestVerifyYesByOthersRefused(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := verifyHarness(t, store, nil)
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
		h.startVerify(r, blocks.ActionVerifyTarget)
		q := h.question("U0BOB", r)
		// The same button pressed by someone else: the requester, an
		// approver, a bystander.
		for _, who := range []string{"U0HELP1", "U0AUTH1", "U0CAROL"} {
			h.press(who, q, blocks.ActionVerifyYes, r.ID)
			h.waitEphemeral(who, "not asked to verify")
		}
		eventually(t, "three refused clicks in the audit", func() bool {
			return len(eventsOf(h.events(r.ID), actions.EventRefused)) == 3
		})
		for _, e := range eventsOf(h.events(r.ID), actions.EventRefused) {
			if e.Actor == "U0BOB" || !strings.Contains(e.Detail, "not asked") {
				t.Errorf("refused event %+v", e)
			}
		}
		if n := len(eventsOf(h.events(r.ID), actions.EventVerified)); n != 0 {
			t.Errorf("%d verified events after clicks by others", n)
		}
	})
}

func TestVerifyManagerUnavailable(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := verifyHarness(t, store, nil)
		// carol's manager is the requester; auth2's has no Slack account
		// (users.lookupByEmail answers users_not_found).
		r := h.request("U0HELP1", actions.ResetPassword, "U0CAROL", "U0AUTH2")
		h.startVerify(r, blocks.ActionVerifyManager)
		m := h.waitEphemeral("U0HELP1", "is the requester")
		contains(t, "the reply", m.Blocks, "has no active Slack account")
		f := eventsOf(h.events(r.ID), actions.EventVerificationFailed)
		if len(f) != 2 || f[0].Method != "manager" || f[0].Actor != actions.BotActor {
			t.Fatalf("failed verifications %+v, want two unavailable managers", f)
		}
		if len(h.dms("U0HELP1")) != 1 { // the confirmation only: the requester is not asked to verify
			t.Errorf("the requester got %d DMs", len(h.dms("U0HELP1")))
		}
		if n := len(h.fake.Calls("users.lookupByEmail")); n != 2 {
			t.Errorf("%d users.lookupByEmail calls, want 2 (agent@ and departed@)", n)
		}
	})
}

// TestVerifyThreeTargetsEndToEnd: one target verified by themself, one by
// their manager, one not at all: approved, it does not run until the third
// is verified.
func TestVerifyThreeTargetsEndToEnd(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := verifyHarness(t, store, nil)
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB", "U0NOBODY", "U0CAROL")
		h.startVerify(r, blocks.ActionVerifyTarget)
		h.press("U0BOB", h.question("U0BOB", r), blocks.ActionVerifyYes, r.ID)
		eventually(t, "bob verified", func() bool { return len(eventsOf(h.events(r.ID), actions.EventVerified)) == 1 })
		h.startVerify(r, blocks.ActionVerifyManager)
		// glob2 manages bob (verified already) and nobody: asked for nobody.
		q := h.question("U0GLOB2", r)
		contains(t, "the manager's question", q.Blocks, "nobody@example.com", "in person or on video")
		h.press("U0GLOB2", q, blocks.ActionVerifyYes, r.ID)
		eventually(t, "two verified", func() bool { return len(eventsOf(h.events(r.ID), actions.EventVerified)) == 2 })

		h.click("U0AUTH1", r, blocks.ActionApprove)
		eventually(t, "the approval", func() bool { return len(eventsOf(h.events(r.ID), actions.EventApproved)) == 1 })
		if _, err := h.svc.PollVerifications(context.Background()); err != nil {
			t.Fatal(err)
		}
		got, _ := h.svc.Get(context.Background(), r.ID)
		if got.State != actions.StatePending || len(eventsOf(h.events(r.ID), actions.EventStarted)) != 0 {
			t.Fatalf("state %s with carol unverified, want pending and not started", got.State)
		}
		eventually(t, "the approval message to say so", func() bool {
			return strings.Contains(string(h.message(h.posted(r.ID)).Blocks), "Caller verification: 2 of 3 verified")
		})

		h.press("U0CAROL", h.question("U0CAROL", r), blocks.ActionVerifyYes, r.ID)
		h.waitState(r.ID, actions.StateSucceeded)
		var methods []string
		for _, e := range eventsOf(h.events(r.ID), actions.EventVerified) {
			methods = append(methods, e.Method+" "+e.Target.Email)
		}
		if want := "target bob@example.com,manager nobody@example.com,target carol@example.com"; strings.Join(methods, ",") != want {
			t.Errorf("verified %q, want %q", methods, want)
		}
	})
}

// TestVerifyOktaPush: number matching push against the Okta fake (paths,
// query parameters and body checked against Okta's OpenAPI description):
// SUCCESS lets the approved request run; REJECTED and TIMEOUT fail the
// method. The number is shown only to the requester.
func TestVerifyOktaPushEndToEnd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		answer string
		state  actions.State
		kind   actions.EventKind
	}{
		{"SUCCESS", actions.StateSucceeded, actions.EventVerified},
		{"REJECTED", actions.StatePending, actions.EventVerificationFailed},
		{"TIMEOUT", actions.StatePending, actions.EventVerificationFailed},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			storagetest.Each(t, func(t *testing.T, store *storage.Store) {
				f := fakeokta.New(t)
				f.AddUser(fakeokta.User{ID: "00uadmin", Login: "admin@example.com", Roles: []string{"SUPER_ADMIN"}})
				f.AddUser(fakeokta.User{ID: "00ubob", Login: "bob@example.com", Email: "bob@example.com",
					Factors: []string{"push"}, Push: tc.answer, PushPolls: 1})
				dir, err := okta.New(okta.Config{OrgURL: f.URL(), Token: fakeokta.Token, HTTPClient: f.Client()})
				if err != nil {
					t.Fatal(err)
				}
				h := verifyHarness(t, store, dir)
				r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
				h.click("U0AUTH1", r, blocks.ActionApprove)
				eventually(t, "the approval", func() bool { return len(eventsOf(h.events(r.ID), actions.EventApproved)) == 1 })

				h.startVerify(r, blocks.ActionVerifyPush)
				reply := h.waitEphemeral("U0HELP1", "Read this number to the caller")
				pushes := f.Pushes()
				if len(pushes) != 1 {
					t.Fatalf("pushes %q", pushes)
				}
				number := pushes[0][strings.LastIndex(pushes[0], " ")+1:]
				contains(t, "the requester's reply", reply.Blocks, "*"+number+"*")
				for _, ctx := range []context.Context{context.Background(), context.Background()} { // WAITING, then the answer
					if _, err := h.svc.PollVerifications(ctx); err != nil {
						t.Fatal(err)
					}
				}
				h.waitState(r.ID, tc.state)
				evs := h.events(r.ID)
				last := eventsOf(evs, tc.kind)
				if len(last) == 0 || last[len(last)-1].Method != "push" || !strings.Contains(last[len(last)-1].Detail, "transaction v2mst") {
					t.Fatalf("%s events %+v, want one for the push with its transaction", tc.kind, last)
				}
				// The number is for the requester only.
				for _, m := range append(h.fake.Messages(approvalChannel), h.dms("U0BOB")...) {
					if strings.Contains(string(m.Blocks), "*"+number+"*") || strings.Contains(m.Text, "number") {
						t.Errorf("the number reached someone else: %s", m.Blocks)
					}
				}
				for _, e := range evs {
					if strings.Contains(e.Detail, fmt.Sprintf("number %s", number)) {
						t.Errorf("the number reached the audit: %+v", e)
					}
				}
			})
		})
	}
}
