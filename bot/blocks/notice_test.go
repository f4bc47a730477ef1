package blocks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// noticed is a password reset of one user that ran, with its notices.
func noticed() actions.Request {
	r := withResults(sample(actions.StateSucceeded, 1), 1, 0)
	r.Action = actions.ResetPassword
	r.Notices = []actions.Notice{
		{To: actions.NoticeTarget, Target: 0, State: actions.NoticeSent, Recipient: "U0001"},
		{To: actions.NoticeManager, Target: 0, State: actions.NoticeUndeliverable,
			Detail: "the Slack account of boss@example.com is deactivated"},
	}
	return r
}

func containmentSteps() []actions.Request {
	revoke := withResults(sample(actions.StateSucceeded, 1), 1, 0)
	revoke.ID, revoke.Requester = "RC1REVOKE00", actions.Person{SlackID: "U0001"}
	block := sample(actions.StateFailed, 1)
	block.ID, block.Action, block.Requester = "RC2BLOCK000", actions.BlockSignIn, actions.Person{SlackID: "U0001"}
	block.Targets[0].Result = &actions.TargetResult{Outcome: actions.OutcomeFailed, Detail: "update user: 403 Forbidden <b>", At: t0}
	return []actions.Request{revoke, block}
}

func TestNoticeMessagesGolden(t *testing.T) {
	r := noticed()
	steps := containmentSteps()
	contain := []actions.Action{actions.RevokeMFASessions, actions.BlockSignIn}
	cases := map[string][]slack.Block{
		"target":         NoticeBlocks(r, 0, contain, t0.Add(7*24*time.Hour)),
		"target_nothing": NoticeBlocks(r, 0, nil, t0.Add(7*24*time.Hour)),
		"manager":        ManagerNoticeBlocks(r, 0),
		"reported":       ReportedBlocks(r, 0, steps, t0.Add(time.Hour)),
		"alert":          AlertBlocks(r, 0, steps),
		"alert_none":     AlertBlocks(r, 0, nil),
		"reporter":       ReporterBlocks(r, steps),
	}
	for name, blocks := range cases {
		t.Run(name, func(t *testing.T) {
			checkMessage(t, blocks)
			golden(t, "notice_"+name, blocks)
		})
	}
}

// TestNoticeWords: every action has its plain words, the target's notice
// says what a report does, and the manager's has no button.
func TestNoticeWords(t *testing.T) {
	for _, a := range actions.AllActions() {
		if _, ok := youWords[a]; !ok {
			t.Errorf("%s has no plain words for a notice", a)
		}
	}
	r := noticed()
	js := func(b []slack.Block) string {
		var sb strings.Builder
		enc := json.NewEncoder(&sb)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(b)
		return sb.String()
	}
	target := js(NoticeBlocks(r, 0, []actions.Action{actions.RevokeMFASessions, actions.BlockSignIn}, t0))
	for _, want := range []string{`"action_id":"not_me"`, `"value":"R7K2M9QXA4F"`, "mfadesk signs you out everywhere and blocks sign-in to your account",
		"Your password was reset to a temporary one", "<@U0HELP1>", "<@U0AUTH1>", "INC-4711", "identity verified by a call back"} {
		if !strings.Contains(target, want) {
			t.Errorf("the target's notice lacks %q", want)
		}
	}
	if m := js(ManagerNoticeBlocks(r, 0)); strings.Contains(m, "not_me") || !strings.Contains(m, "<@U0001>") {
		t.Errorf("manager's notice: %s", m)
	}
	if txt := NoticeText(r); strings.Contains(txt, "signed out") || !strings.Contains(txt, r.ID) {
		t.Errorf("notification text %q", txt)
	}
}

func TestApprovalMessageSaysNoticeUndelivered(t *testing.T) {
	raw, _ := json.Marshal(ApprovalMessage(noticed()))
	want := "could not be delivered: the Slack account of boss@example.com is deactivated. Tell them another way."
	if !strings.Contains(string(raw), want) || !strings.Contains(string(raw), "The notice to the manager of ") {
		t.Errorf("the approval message does not say the notice was not delivered:\n%s", raw)
	}
}
