package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage"
)

func TestManualStep(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		r := h.request("U0GLOB1", actions.DeleteAppPasswords, "U0BOB")
		h.click("U0GLOB2", r, blocks.ActionApprove)
		running := h.waitState(r.ID, actions.StateRunning)
		steps := h.waitDM("U0GLOB2", `"action_id":"manual_done"`)
		contains(t, "the steps", steps.Blocks, "Dry run: nothing is changed", "bob@example.com", `"value":"`+r.ID+`"`,
			`"action_id":"manual_failed"`)
		eventually(t, "the message to show the manual step", func() bool {
			return strings.Contains(string(h.message(running).Blocks), "*Manual step*")
		})

		// The requester may not mark it.
		h.click("U0GLOB1", running, blocks.ActionManualDone)
		h.waitEphemeral("U0GLOB1", "an approver marks its manual step")

		reply, err := h.app.Click("U0GLOB2", steps.Channel, steps.TS, blocks.ActionManualDone, r.ID)
		if err != nil || reply.Status != http.StatusOK {
			t.Fatalf("done: %v %+v", err, reply)
		}
		done := h.waitState(r.ID, actions.StateSucceeded)
		if done.DecidedBy.SlackID != "U0GLOB2" {
			t.Errorf("marked by %+v", done.DecidedBy)
		}
		eventually(t, "the steps message to lose its buttons", func() bool {
			for _, m := range h.dms("U0GLOB2") {
				if m.TS == steps.TS {
					return !strings.Contains(string(m.Blocks), "manual_done") && strings.Contains(string(m.Blocks), "*Succeeded*")
				}
			}
			return false
		})
		eventually(t, "the approval message to show the result", func() bool {
			return strings.Contains(string(h.message(done).Blocks), "Manual step marked by <@U0GLOB2>")
		})
		h.waitDM("U0GLOB1", "has succeeded")
		evs := h.events(r.ID)
		if count(evs, actions.EventManualDone) != 1 || count(evs, actions.EventRefused) != 1 {
			t.Errorf("events %v", kinds(evs))
		}
	})
}

const secretValue = "Tp-9c1f-SECRET-value"

// secretDir is the dry-run directory, but its reset-password hands back a
// temporary password.
type secretDir struct{ *dryrun.Directory }

func (d secretDir) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	p, err := d.Directory.Perform(ctx, a, t)
	if err == nil && a == actions.ResetPassword {
		p.Secret = actions.NewSecret("Temporary password", secretValue, "It must be changed at next sign-in.")
	}
	return p, err
}

func TestSecretDelivery(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store, func(o *harnessOptions) { o.dir = secretDir{dryrun.New(dryrun.Options{})} })
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB", "U0CAROL")
		h.click("U0AUTH1", r, blocks.ActionApprove)
		done := h.waitState(r.ID, actions.StateSucceeded)
		eventually(t, "the final message", func() bool {
			return strings.Contains(string(h.message(done).Blocks), "*Succeeded*")
		})
		h.waitDM("U0HELP1", "has succeeded")

		im := h.fake.IM("U0HELP1")
		var carriers []fakeslack.Call
		for _, c := range h.fake.Calls() {
			for _, v := range c.Args {
				if strings.Contains(v, secretValue) {
					carriers = append(carriers, c)
					break
				}
			}
		}
		if len(carriers) != 2 {
			t.Fatalf("the secret was in %d calls, want 2 (one DM per target)", len(carriers))
		}
		for _, c := range carriers {
			if c.Method != "chat.postMessage" || c.Args["channel"] != im {
				t.Errorf("the secret went to %s %s, not the requester's DM %s", c.Method, c.Args["channel"], im)
			}
			if strings.Contains(c.Args["text"], secretValue) {
				t.Errorf("the secret is in the notification text")
			}
		}
		for _, m := range h.fake.Messages(approvalChannel) {
			if strings.Contains(string(m.Blocks)+m.Text, secretValue) {
				t.Errorf("the secret is in the approval channel")
			}
		}
		if strings.Contains(h.logs.String(), secretValue) {
			t.Errorf("the secret is in the log")
		}
		for _, e := range h.events("") {
			if strings.Contains(e.Detail, secretValue) {
				t.Errorf("the secret is in the audit log: %+v", e)
			}
		}
	})
}

func TestSecretDeliveryFailure(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store, func(o *harnessOptions) { o.dir = secretDir{dryrun.New(dryrun.Options{})} })
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
		h.waitDM("U0HELP1", r.ID) // the confirmation is out: the next DM is the secret
		h.fake.Fail("conversations.open", "user_disabled")
		h.click("U0AUTH1", r, blocks.ActionApprove)
		done := h.waitState(r.ID, actions.StateFailed)
		if res := done.Targets[0].Result; res == nil || !strings.Contains(res.Detail, "could not be delivered") || strings.Contains(res.Detail, secretValue) {
			t.Errorf("result %+v", res)
		}
	})
}

// slowDir is the dry-run directory with slow look-ups.
type slowDir struct {
	*dryrun.Directory
	delay time.Duration
}

func (d slowDir) ResolveUser(ctx context.Context, email string) (actions.DirectoryUser, error) {
	if err := actions.SleepContext(ctx, d.delay); err != nil {
		return actions.DirectoryUser{}, err
	}
	return d.Directory.ResolveUser(ctx, email)
}

func TestSlowDirectoryAnswersLate(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store, func(o *harnessOptions) {
			o.budget = 100 * time.Millisecond
			o.dir = slowDir{dryrun.New(dryrun.Options{Unknown: []string{"ghost@example.com"}}), 400 * time.Millisecond}
		})

		// Problems found late: the form comes back, filled in, with them.
		v := h.openForm("U0HELP1", "")
		a := h.decode(h.app.Submit(v.ID, "U0HELP1", formValues("revoke-mfa-sessions", []string{"U0GHOST"}, "lost phone", "INC-2")))
		if a.ResponseAction != "update" || !strings.Contains(string(a.View), "Checking") {
			t.Fatalf("answer %+v, want the checking view", a)
		}
		eventually(t, "the form to come back with the problem", func() bool {
			cur, _ := h.fake.View(v.ID)
			return cur.CallbackID == blocks.CallbackRequest && strings.Contains(string(cur.JSON), "is not a user of the dryrun directory")
		})
		cur, _ := h.fake.View(v.ID)
		contains(t, "the form shown again", cur.JSON, `"initial_users":["U0GHOST"]`, `"initial_value":"INC-2"`)

		// Submitted again, fixed: stored, although checked late again.
		a = h.decode(h.app.Submit(v.ID, "U0HELP1", formValues("revoke-mfa-sessions", []string{"U0BOB"}, "lost phone", "INC-2")))
		if a.ResponseAction != "update" {
			t.Fatalf("answer %+v", a)
		}
		eventually(t, "the submitted view", func() bool {
			cur, _ := h.fake.View(v.ID)
			return strings.Contains(string(cur.JSON), "submitted")
		})
		if rs := h.requests(); len(rs) != 1 {
			t.Fatalf("%d requests", len(rs))
		}

		// The modal closed before the late result: it comes as a DM.
		v2 := h.openForm("U0HELP1", "")
		h.decode(h.app.Submit(v2.ID, "U0HELP1", formValues("revoke-mfa-sessions", []string{"U0GHOST"}, "x", "")))
		h.fake.CloseView(v2.ID)
		h.waitDM("U0HELP1", "Your request was not submitted")
	})
}

func TestCommands(t *testing.T) {
	t.Parallel()
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		reply, err := h.app.Command("U0NOBODY", "/mfa", "help")
		if err != nil || reply.Status != http.StatusOK {
			t.Fatal(err, reply)
		}
		contains(t, "help", reply.Body, `"response_type":"ephemeral"`, "/mfa pending", "/mfa cancel ID")
		reply, _ = h.app.Command("U0HELP1", "/mfa", "status")
		contains(t, "status without an ID", reply.Body, `"response_type":"ephemeral"`, "Which request?")

		r := h.request("U0HELP1", actions.RevokeMFASessions, "U0BOB")
		run := func(user, text, want string) {
			t.Helper()
			if reply, err := h.app.Command(user, "/mfa", text); err != nil || reply.Status != http.StatusOK || len(reply.Body) != 0 {
				t.Fatalf("/mfa %s: %v %+v", text, err, reply)
			}
			h.waitEphemeral(user, want)
		}
		run("U0AUTH1", "pending", r.ID)
		run("U0NOBODY", "pending", "Nothing waits for you")
		run("U0HELP1", "status "+strings.ToLower(r.ID), "*Waiting for approval*")
		run("U0NOBODY", "status "+r.ID, "There is no request")
		run("U0AUTH1", "status RNOSUCHREQ", "There is no request `RNOSUCHREQ`")
		run("U0HELP2", "cancel "+r.ID, "Only the requester can cancel")
		run("U0HELP1", "cancel "+r.ID, "Cancelled `"+r.ID+"`")
		cancelled := h.waitState(r.ID, actions.StateCancelled)
		eventually(t, "the message to show the cancellation", func() bool {
			return strings.Contains(string(h.message(cancelled).Blocks), "*Cancelled*")
		})
		time.Sleep(100 * time.Millisecond)
		for _, m := range h.dms("U0HELP1") {
			if strings.Contains(m.Text, "has cancelled") {
				t.Errorf("the requester was told of their own cancellation")
			}
		}
	})
}

// recorder is a Metrics that remembers.
type recorder struct {
	mu      sync.Mutex
	retries []string
	codes   map[string]int
}

func (r *recorder) SlackCall(method, code string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.codes == nil {
		r.codes = map[string]int{}
	}
	r.codes[method+" "+code]++
}

func (r *recorder) SlackRetry(method string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.retries = append(r.retries, method)
}

func (r *recorder) JobDropped(string) {}

func TestRateLimited(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		rec := &recorder{}
		h := newHarness(t, store, func(o *harnessOptions) { o.metrics = rec })
		h.fake.RateLimit("chat.postMessage", 1, time.Second)
		r := h.request("U0HELP1", actions.RevokeMFASessions, "U0BOB") // waits for the message
		if h.message(r).Channel != approvalChannel {
			t.Fatal("no approval message")
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.retries) == 0 || rec.retries[0] != "chat.postMessage" {
			t.Errorf("retries %v, want chat.postMessage", rec.retries)
		}
		if rec.codes["chat.postMessage "] == 0 {
			t.Errorf("no successful chat.postMessage recorded: %v", rec.codes)
		}
	})
}

func TestProgressCoalesced(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store, func(o *harnessOptions) {
			o.dir = dryrun.New(dryrun.Options{Delay: 30 * time.Millisecond})
			o.interval = 100 * time.Millisecond
		})
		var ids []string
		for i := range 40 {
			u := fakeslack.User{ID: fmt.Sprintf("U0T%02d", i), Name: fmt.Sprintf("t%d", i), Email: fmt.Sprintf("t%d@example.com", i)}
			h.fake.AddUser(u)
			ids = append(ids, u.ID)
		}
		r := h.request("U0HELP1", actions.RevokeMFASessions, ids...)
		start := time.Now()
		h.click("U0AUTH1", r, blocks.ActionApprove)
		done := h.waitState(r.ID, actions.StateSucceeded)
		var m fakeslack.Message
		eventually(t, "the final state", func() bool {
			m = h.message(done)
			return strings.Contains(string(m.Blocks), "*Succeeded*: 40 ok")
		})
		// 40 results, an approval and a start: drawn once per interval at
		// most (plus the final state and a follow-up look), not 42 times.
		if most := int(time.Since(start)/(100*time.Millisecond)) + 3; m.Updates > most || m.Updates >= 40 {
			t.Errorf("%d updates of the approval message for 40 targets in %s", m.Updates, time.Since(start))
		}
		contains(t, "the final message", m.Blocks, "…and 20 more")
	})
}
