package blocks

import (
	"strings"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// ActionStepUp is the "Sign in to approve" link button's action_id. Slack
// reports clicks on link buttons too; the bot ignores them, since the link
// does the work.
const ActionStepUp = "stepup_signin"

// StepUpText is the fallback text of the approver's private step-up message.
func StepUpText(r actions.Request) string {
	return "Sign in to approve request " + r.ID
}

// StepUpBlocks is the approver's private message after Approve on a step_up
// action: what the link does, and the link button.
func StepUpBlocks(r actions.Request, link string) []slack.Block {
	b := slack.NewButtonBlockElement(ActionStepUp, r.ID, plain("Sign in to approve"))
	b.URL = link
	b.Style = slack.StylePrimary
	return []slack.Block{
		Section(":lock: *" + Esc(Title(r)) + "* (`" + r.ID + "`) needs a fresh MFA sign-in before your approval counts. " +
			"Nothing is approved yet."),
		slack.NewActionBlock("stepup", b),
		contextBlock("The link works once, in the browser that opens it, for " + actions.StepUpLinkTTL.String() +
			". If it expires, click Approve again."),
	}
}

// WithSigningIn adds to an approval message who is signing in to approve
// it; people who approved already are left out.
func WithSigningIn(content []slack.Block, r actions.Request, slackIDs []string) []slack.Block {
	if r.State != actions.StatePending {
		return content
	}
	var who []string
	for _, id := range slackIDs {
		if !r.ApprovedBy(actions.Person{SlackID: id}) {
			who = append(who, "<@"+id+">")
		}
	}
	if len(who) == 0 {
		return content
	}
	note := contextBlock(":lock: " + strings.Join(who, ", ") + " signing in with MFA to approve")
	return capBlocks(append(append([]slack.Block(nil), content...), note), maxMessageBlocks)
}
