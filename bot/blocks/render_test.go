package blocks

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// golden compares v, as indented JSON, with testdata/name.golden.json.
func golden(t *testing.T, name string, v any) {
	t.Helper()
	got, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot/blocks -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, cmp.Diff(string(want), string(got)))
	}
}

// checkMessage checks message blocks as Slack would (fakeslack.CheckMessage).
func checkMessage(t *testing.T, blocks []slack.Block) {
	t.Helper()
	checkJSON(t, blocks, fakeslack.CheckMessage)
}

// checkView checks a modal as Slack would (fakeslack.CheckView).
func checkView(t *testing.T, v slack.ModalViewRequest) {
	t.Helper()
	checkJSON(t, v, fakeslack.CheckView)
}

// checkJSON marshals v and reports what check finds wrong with it.
func checkJSON(t *testing.T, v any, check func(json.RawMessage) error) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := check(raw); err != nil {
		t.Errorf("%v:\n%s", err, raw)
	}
}

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func target(n int, privileged bool) actions.Target {
	return actions.Target{SlackID: fmt.Sprintf("U%04d", n), Email: fmt.Sprintf("user%d@example.com", n),
		DirectoryID: fmt.Sprintf("dir-%d", n), Privileged: privileged}
}

// sample returns a request in state with n targets.
func sample(state actions.State, n int) actions.Request {
	r := actions.Request{
		ID: "R7K2M9QXA4F", Requester: actions.Person{SlackID: "U0HELP1", Email: "agent@example.com"},
		Action: actions.RevokeMFASessions, Reason: "Lost phone on the train; identity verified by a call back.",
		Ticket: "INC-4711", State: state, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0,
		ApprovalsNeeded: 1, Version: 3,
	}
	for i := range n {
		r.Targets = append(r.Targets, target(i+1, i == 0 && n > 1))
	}
	if state != actions.StatePending && state != actions.StateExpired && state != actions.StateCancelled {
		r.Approvals = []actions.Approval{{By: actions.Person{SlackID: "U0AUTH1", Email: "auth1@example.com"}, At: t0.Add(5 * time.Minute)}}
	}
	return r
}

func withResults(r actions.Request, ok, failed int) actions.Request {
	for i := range r.Targets {
		switch {
		case i < ok:
			r.Targets[i].Result = &actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "signed out of 3 sessions (request-id 5f1c)", At: t0}
		case i < ok+failed:
			r.Targets[i].Result = &actions.TargetResult{Outcome: actions.OutcomeFailed, Detail: "revoke sessions: 404 Not Found Request_ResourceNotFound", At: t0}
		}
	}
	return r
}

func TestApprovalMessageGolden(t *testing.T) {
	denied := sample(actions.StateDenied, 1)
	denied.Approvals = nil
	denied.DecidedBy = actions.Person{SlackID: "U0AUTH1"}
	denied.DecisionNote = "Not verified: call the user back first <!channel>"
	twoOfTwo := sample(actions.StatePending, 2)
	twoOfTwo.ApprovalsNeeded = 2
	twoOfTwo.Approvals = []actions.Approval{{By: actions.Person{SlackID: "U0AUTH2"}, At: t0}}
	manual := sample(actions.StateRunning, 1)
	manual.Action, manual.Manual = actions.DeleteAppPasswords, true
	manualDone := withResults(manual, 1, 0)
	manualDone.State, manualDone.DecidedBy, manualDone.DecisionNote = actions.StateSucceeded, actions.Person{SlackID: "U0AUTH1"}, ""
	cancelled := sample(actions.StateCancelled, 1)
	cancelled.DecidedBy = cancelled.Requester

	cases := map[string]actions.Request{
		"pending":          sample(actions.StatePending, 1),
		"pending_2_of_2":   twoOfTwo,
		"approved":         sample(actions.StateApproved, 3),
		"running":          withResults(sample(actions.StateRunning, 5), 2, 1),
		"succeeded":        withResults(sample(actions.StateSucceeded, 3), 3, 0),
		"partially_failed": withResults(sample(actions.StatePartiallyFailed, 3), 2, 1),
		"denied":           denied,
		"expired":          sample(actions.StateExpired, 1),
		"cancelled":        cancelled,
		"manual_running":   manual,
		"manual_done":      manualDone,
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			blocks := ApprovalMessage(r)
			checkMessage(t, blocks)
			golden(t, "approval_"+name, map[string]any{"text": FallbackText(r), "blocks": blocks})
		})
	}
}

// TestApprovalMessageLimits renders extreme requests and checks every
// message against Slack's limits.
func TestApprovalMessageLimits(t *testing.T) {
	long := strings.Repeat("wörd <b>&amp; ", 400)
	r := withResults(sample(actions.StateRunning, 1000), 300, 400)
	r.Reason, r.Ticket = long, long
	for i := range r.Targets {
		r.Targets[i].Email = strings.Repeat("x", 300) + r.Targets[i].Email
		if r.Targets[i].Result != nil {
			r.Targets[i].Result.Detail = long
		}
	}
	for _, state := range []actions.State{actions.StatePending, actions.StateRunning, actions.StatePartiallyFailed, actions.StateDenied} {
		r.State = state
		r.DecisionNote = long
		blocks := ApprovalMessage(r)
		checkMessage(t, blocks)
		checkMessage(t, OutcomeBlocks(r))
		checkMessage(t, ManualBlocks(r, long))
		checkMessage(t, RequestBlocks(r, false))
		if n := len(blocks); n > 20 {
			t.Errorf("%s: %d blocks for 1000 targets: the list is not summarised", state, n)
		}
		if got := FallbackText(r); len([]rune(got)) > MaxFallbackText {
			t.Errorf("fallback text is %d characters", len([]rune(got)))
		}
	}
	raw, _ := json.Marshal(ApprovalMessage(r))
	if !strings.Contains(string(raw), "…and 980 more") {
		t.Errorf("the target list does not say how many are left out")
	}
	if strings.Contains(string(raw), "<b>") {
		t.Errorf("user text is not escaped: %s", raw[:200])
	}
	checkMessage(t, PendingBlocks(manyPending(200), actions.Person{SlackID: "U0AUTH1"}, "CAPPROVAL"))
}

func manyPending(n int) []actions.Request {
	rs := make([]actions.Request, n)
	for i := range rs {
		rs[i] = sample(actions.StatePending, i%3+1)
		rs[i].ID = fmt.Sprintf("R%010d", i)
	}
	return rs
}

func TestModalsGolden(t *testing.T) {
	offered := []actions.Action{actions.ResetPassword, actions.RequireReregisterMFA, actions.RevokeMFASessions}
	cases := map[string]slack.ModalViewRequest{
		"request_empty": RequestModal(RequestForm{Actions: offered, MaxTargets: 50, Channel: "CAPPROVAL"}),
		"request_prefilled": RequestModal(RequestForm{Actions: offered, Action: actions.RevokeMFASessions,
			Targets: []string{"U0BOB", "U0CAROL"}, Reason: "lost phone", MaxTargets: 50, Channel: "CAPPROVAL"}),
		"request_problems": RequestModal(RequestForm{Actions: offered, Action: actions.ResetPassword,
			Targets: []string{"U0GHOST"}, Reason: "forgot", Ticket: "INC-1", MaxTargets: 50, Channel: "CAPPROVAL",
			Problems: []string{"@ghost (ghost@example.com) is not a user of the dryrun directory."}}),
		"checking":  CheckingView(),
		"submitted": SubmittedView(sample(actions.StatePending, 2), "CAPPROVAL"),
		"deny":      DenyModal(sample(actions.StatePending, 1)),
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			checkView(t, v)
			golden(t, "modal_"+name, v)
		})
	}
}

func TestDirectMessagesGolden(t *testing.T) {
	pwd := sample(actions.StateRunning, 1)
	pwd.Action = actions.ResetPassword
	manual := sample(actions.StateRunning, 2)
	manual.Action, manual.Manual = actions.DeleteAppPasswords, true
	cases := map[string][]slack.Block{
		"confirmation":     ConfirmationBlocks(sample(actions.StatePending, 1), "CAPPROVAL"),
		"outcome_ok":       OutcomeBlocks(withResults(sample(actions.StateSucceeded, 2), 2, 0)),
		"outcome_partial":  OutcomeBlocks(withResults(sample(actions.StatePartiallyFailed, 3), 1, 2)),
		"outcome_expired":  OutcomeBlocks(sample(actions.StateExpired, 1)),
		"secret":           SecretBlocks(pwd, pwd.Targets[0], "Temporary password", "Xy7-secret", "must be changed at next sign-in"),
		"manual_steps":     ManualBlocks(manual, "1. Open the admin portal.\n2. Remove the app passwords.\n3. Mark it done."),
		"pending_list":     PendingBlocks(manyPending(3), actions.Person{SlackID: "U0HELP1"}, "CAPPROVAL"),
		"pending_list_nil": PendingBlocks(nil, actions.Person{SlackID: "U0HELP1"}, "CAPPROVAL"),
	}
	for name, blocks := range cases {
		t.Run(name, func(t *testing.T) {
			checkMessage(t, blocks)
			golden(t, "dm_"+name, blocks)
		})
	}
	if strings.Contains(SecretText(pwd, "Temporary password"), "Xy7") {
		t.Error("the notification text carries the secret")
	}
}

func TestFieldErrors(t *testing.T) {
	v := &actions.ValidationError{}
	v.Add(actions.FieldTargets, "<@U0BOB> is deactivated in Slack")
	v.Add(actions.FieldTargets, "you cannot request an action on yourself")
	v.Add(actions.FieldAction, "you may not request delete-app-passwords: it needs one of the roles global-admin")
	v.Add(actions.FieldReason, "%s", strings.Repeat("long ", 200))
	v.Add("unknown", "goes to the action block")
	got := FieldErrors(v, map[string]string{"U0BOB": "bob"})
	want := map[string]string{
		BlockTargets: "@bob is deactivated in Slack. You cannot request an action on yourself.",
		BlockAction:  "You may not request delete-app-passwords: it needs one of the roles global-admin. Goes to the action block.",
		BlockReason:  clip.Runes(Sentence(strings.Repeat("long ", 200)), MaxFieldErrors),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FieldErrors (-want +got):\n%s", diff)
	}
}
