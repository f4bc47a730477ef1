package blocks

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
)

// Caller verification buttons (README, "Caller verification"); each value is
// the request ID and nothing else. The requester starts a method with
// verify_target, verify_manager or verify_push; the person asked answers
// with verify_yes or verify_no.
const (
	ActionVerifyTarget  = "verify_target"
	ActionVerifyManager = "verify_manager"
	ActionVerifyPush    = "verify_push"
	ActionVerifyYes     = "verify_yes"
	ActionVerifyNo      = "verify_no"

	blockVerify        = "verify"
	blockVerifyAnswer  = "verify_answer"
	maxVerifyDetailLen = 160
)

// VerifyAction is the button that starts method m.
func VerifyAction(m actions.VerifyMethod) string {
	switch m {
	case actions.VerifyTarget:
		return ActionVerifyTarget
	case actions.VerifyManager:
		return ActionVerifyManager
	case actions.VerifyPush:
		return ActionVerifyPush
	}
	return ""
}

// VerifyMethodOf is the method a verify_* button starts; false for any
// other action ID.
func VerifyMethodOf(actionID string) (actions.VerifyMethod, bool) {
	switch actionID {
	case ActionVerifyTarget:
		return actions.VerifyTarget, true
	case ActionVerifyManager:
		return actions.VerifyManager, true
	case ActionVerifyPush:
		return actions.VerifyPush, true
	}
	return "", false
}

var verifyButtonText = map[actions.VerifyMethod]string{
	actions.VerifyTarget:  "Ask the user in Slack",
	actions.VerifyManager: "Ask their manager",
	actions.VerifyPush:    "Push to their authenticator",
}

// VerifyButtons are what the requester gets privately after submitting a
// request that needs caller verification: one button per method allowed.
// None when r needs no verification or no method is available.
func VerifyButtons(r actions.Request, methods []actions.VerifyMethod) []slack.Block {
	if !r.NeedsVerification() || len(methods) == 0 {
		return nil
	}
	var els []slack.BlockElement
	for _, m := range methods {
		els = append(els, button(VerifyAction(m), r.ID, verifyButtonText[m], ""))
	}
	return []slack.Block{
		Section(":identification_card: *Verify the caller.* This request runs only once every user is verified by one of these, " +
			"and approved. Start one; you may start another while it waits."),
		slack.NewActionBlock(blockVerify, els...),
	}
}

// verificationNote says where target i of r stands in caller verification,
// for its line in the approval message; "" when r needs none.
func verificationNote(r actions.Request, i int) string {
	if !r.NeedsVerification() {
		return ""
	}
	var waiting, failed []actions.Verification
	for _, v := range r.TargetVerifications(i) {
		switch v.State {
		case actions.VerificationVerified:
			return " :large_green_circle: _verified (" + string(v.Method) + "): " + Esc(clip.Runes(oneLine(v.Detail), maxVerifyDetailLen)) + "_"
		case actions.VerificationWaiting:
			waiting = append(waiting, v)
		default:
			failed = append(failed, v)
		}
	}
	if len(waiting) > 0 {
		var ms []string
		for _, v := range waiting {
			ms = append(ms, string(v.Method))
		}
		return " :hourglass: _verification waiting (" + strings.Join(ms, ", ") + ")_"
	}
	if len(failed) > 0 {
		v := failed[len(failed)-1]
		return " :red_circle: _not verified (" + string(v.Method) + "): " + Esc(clip.Runes(oneLine(v.Detail), maxVerifyDetailLen)) + "_"
	}
	return " :white_circle: _not verified yet_"
}

// verificationStatus is the pending status line's part about caller
// verification.
func verificationStatus(r actions.Request) string {
	if !r.NeedsVerification() || r.State != actions.StatePending {
		return ""
	}
	n := 0
	for i := range r.Targets {
		if r.TargetVerified(i) {
			n++
		}
	}
	return fmt.Sprintf(" Caller verification: %d of %d verified.", n, len(r.Targets))
}

// waitingForVerification reports whether r has its approvals and waits
// only for caller verification.
func waitingForVerification(r actions.Request) bool {
	return r.State == actions.StatePending && r.NeedsVerification() && !r.AllVerified() &&
		len(r.Approvals) >= max(r.ApprovalsNeeded, 1)
}

// VerifyQuestionText is the notification text of VerifyQuestion.
func VerifyQuestionText(r actions.Request, m actions.VerifyMethod) string {
	if m == actions.VerifyManager {
		return "Please confirm a helpdesk caller's identity (request " + r.ID + ")"
	}
	return "Did you ask the helpdesk for this? (request " + r.ID + ")"
}

// VerifyQuestion is the direct message that asks a target (method target)
// or their manager (method manager) to confirm: who in the helpdesk acts on
// whose account, what will be done, the request ID, and Yes and No.
func VerifyQuestion(r actions.Request, m actions.VerifyMethod, targets []int) []slack.Block {
	what := "*" + Esc(r.Action.Title()) + "*: " + Esc(r.Action.Effect())
	var blocks []slack.Block
	yes, no := "Yes, I asked for this", "No, I did not"
	if m == actions.VerifyManager {
		var names []string
		for _, i := range targets {
			t := r.Targets[i]
			names = append(names, mention(actions.Person{SlackID: t.SlackID, Email: t.Email})+" ("+Esc(t.Email)+")")
		}
		blocks = append(blocks,
			Section(fmt.Sprintf(":identification_card: %s in the helpdesk is about to act on the account of %s, who reports to you, on a call from someone who says they are them.",
				mention(r.Requester), strings.Join(names, ", "))),
			Section(what+"\nRequest `"+r.ID+"`."),
			Section("*Have you confirmed in person or on video that the caller is really them?* Do not answer from the caller's word alone."),
		)
		yes, no = "Yes, I confirmed it is them", "No"
	} else {
		blocks = append(blocks,
			Section(fmt.Sprintf(":identification_card: %s in the helpdesk is about to act on *your* account, on a call from someone who says they are you.", mention(r.Requester))),
			Section(what+"\nRequest `"+r.ID+"`."),
			Section("*Did you ask for this?* If not, someone may be impersonating you: say No and the request stops at once."),
		)
	}
	blocks = append(blocks, slack.NewActionBlock(blockVerifyAnswer,
		button(ActionVerifyYes, r.ID, yes, slack.StylePrimary),
		button(ActionVerifyNo, r.ID, no, slack.StyleDanger),
	))
	return blocks
}

// VerifyAnswered replaces the question once answered.
func VerifyAnswered(r actions.Request, yes bool) []slack.Block {
	if yes {
		return []slack.Block{Section(fmt.Sprintf(":white_check_mark: Thank you: you confirmed the caller for request `%s`.", r.ID))}
	}
	return []slack.Block{Section(fmt.Sprintf(":no_entry: Thank you: you said no for request `%s`. The helpdesk and security have been told.", r.ID))}
}

// VerifyStarted tells the requester privately what starting method m did,
// per target: who was asked, the number to read to the caller for a push
// with number matching, or why the method cannot be used. It is sent only
// to the requester: the number is for their eyes.
func VerifyStarted(r actions.Request, m actions.VerifyMethod, notes []actions.VerifyNote) []slack.Block {
	lines := make([]string, 0, len(notes))
	for _, n := range notes {
		t := r.Targets[n.Target]
		who := mention(actions.Person{SlackID: t.SlackID, Email: t.Email})
		switch {
		case n.Problem != "":
			lines = append(lines, "• "+who+": :x: "+Esc(clip.Runes(oneLine(n.Problem), maxVerifyDetailLen)))
		case m == actions.VerifyPush && n.Number != 0:
			lines = append(lines, fmt.Sprintf("• %s: push sent. Read this number to the caller; they pick it in their authenticator: *%d*", who, n.Number))
		case m == actions.VerifyPush:
			lines = append(lines, "• "+who+": push sent; the caller approves it in their authenticator.")
		case m == actions.VerifyManager:
			lines = append(lines, "• "+who+": their manager was asked to confirm.")
		default:
			lines = append(lines, "• "+who+": asked in Slack to confirm.")
		}
	}
	return packLines(fmt.Sprintf("*Caller verification for `%s`: %s*", r.ID, m.Title()), lines)
}
