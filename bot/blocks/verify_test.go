package blocks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// blockText is the JSON of blocks, for looking for text in it.
func blockText(t *testing.T, bs []slack.Block) string {
	t.Helper()
	raw, err := json.Marshal(bs)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// verifying is a pending reset-password on four users that needs caller
// verification: one verified by themself, one waiting for their manager,
// one whose push was rejected, one not started.
func verifying() actions.Request {
	r := sample(actions.StatePending, 4)
	r.Action = actions.ResetPassword
	r.Verify = []actions.VerifyMethod{actions.VerifyTarget, actions.VerifyManager, actions.VerifyPush}
	r.Approvals = []actions.Approval{{By: actions.Person{SlackID: "U0AUTH1", Email: "auth1@example.com"}, At: t0.Add(5 * time.Minute)}}
	r.Verifications = []actions.Verification{
		{Target: 0, Method: actions.VerifyTarget, State: actions.VerificationVerified, Verifier: actions.Person{SlackID: "U0001"},
			StartedAt: t0, Deadline: t0.Add(30 * time.Minute), DecidedAt: t0.Add(time.Minute), Detail: "confirmed by the user user1@example.com in Slack"},
		{Target: 1, Method: actions.VerifyManager, State: actions.VerificationWaiting, Verifier: actions.Person{SlackID: "U0BOSS"},
			StartedAt: t0, Deadline: t0.Add(30 * time.Minute), Detail: "asked the manager boss@example.com in Slack"},
		{Target: 2, Method: actions.VerifyPush, State: actions.VerificationFailed,
			StartedAt: t0, Deadline: t0.Add(30 * time.Minute), DecidedAt: t0.Add(2 * time.Minute), Detail: "push rejected by the user, transaction v2mst0042"},
	}
	return r
}

func TestVerificationGolden(t *testing.T) {
	r := verifying()
	notes := []actions.VerifyNote{{Target: 1, Started: true, Number: 42}, {Target: 3, Problem: "no push factor enrolled"}}
	for name, content := range map[string]any{
		"approval_verifying":      ApprovalMessage(r),
		"verify_buttons":          VerifyButtons(r, []actions.VerifyMethod{actions.VerifyTarget, actions.VerifyManager}),
		"verify_question_target":  VerifyQuestion(r, actions.VerifyTarget, []int{3}),
		"verify_question_manager": VerifyQuestion(r, actions.VerifyManager, []int{1, 3}),
		"verify_started_push":     VerifyStarted(r, actions.VerifyPush, notes),
		"verify_answered_no":      VerifyAnswered(r, false),
	} {
		t.Run(name, func(t *testing.T) {
			golden(t, name, content)
		})
	}
}

func TestVerificationBlocksValid(t *testing.T) {
	r := verifying()
	checkMessage(t, ApprovalMessage(r))
	checkMessage(t, VerifyButtons(r, []actions.VerifyMethod{actions.VerifyPush}))
	checkMessage(t, VerifyQuestion(r, actions.VerifyManager, []int{0, 1, 2, 3}))
	checkMessage(t, VerifyStarted(r, actions.VerifyTarget, []actions.VerifyNote{{Target: 0, Started: true}}))

	text := blockText(t, ApprovalMessage(r))
	for _, want := range []string{"verified (target)", "verification waiting (manager)", "not verified (push): push rejected", "not verified yet", "Caller verification: 1 of 4 verified"} {
		if !strings.Contains(text, want) {
			t.Errorf("approval message lacks %q:\n%s", want, text)
		}
	}
	// No verification needed: nothing about it is shown, and no buttons.
	plain := sample(actions.StatePending, 1)
	if pt := blockText(t, ApprovalMessage(plain)); strings.Contains(pt, "Caller verification") || strings.Contains(pt, "not verified") || VerifyButtons(plain, []actions.VerifyMethod{actions.VerifyTarget}) != nil {
		t.Error("a request without verification shows verification")
	}
	// The push number is in the requester's reply only.
	if !strings.Contains(blockText(t, VerifyStarted(r, actions.VerifyPush, []actions.VerifyNote{{Target: 1, Started: true, Number: 42}})), "*42*") {
		t.Error("the requester's reply lacks the number")
	}
}
