package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
)

// youWords say in plain words what an action did to the reader's account.
var youWords = map[actions.Action]string{
	actions.ResetPassword:            "Your password was reset to a temporary one: you must choose a new password at your next sign-in.",
	actions.RequireReregisterMFA:     "Your MFA methods were removed: you will be asked to set up MFA again at your next sign-in.",
	actions.RevokeMFASessions:        "You were signed out everywhere and your remembered MFA devices were forgotten: you will be asked for MFA at your next sign-in.",
	actions.DeleteAppPasswords:       "Your app passwords were deleted: apps that used them stop working until you create new ones.",
	actions.IssueTemporaryAccessPass: "A Temporary Access Pass was issued for your account: whoever holds it can register new sign-in methods for you until it expires.",
	actions.BlockSignIn:              "Your account was blocked: nobody can sign in to it until it is unblocked.",
	actions.UnblockSignIn:            "Your account was unblocked: you can sign in again.",
}

// YouWords says what a did to the reader's account.
func YouWords(a actions.Action) string {
	if w, ok := youWords[a]; ok {
		return w
	}
	return "An administrator ran " + string(a) + " on your account."
}

// protects says what a containment action does, as "mfadesk …s"; doing
// as "mfadesk is …ing".
var (
	protects = map[actions.Action]string{
		actions.RevokeMFASessions: "signs you out everywhere", actions.BlockSignIn: "blocks sign-in to your account",
	}
	doing = map[actions.Action]string{
		actions.RevokeMFASessions: "signing you out everywhere", actions.BlockSignIn: "blocking sign-in to your account",
	}
)

// andList joins the words of acts from m: "a", "a and b", "a, b and c".
func andList(acts []actions.Action, m map[actions.Action]string) string {
	words := make([]string, len(acts))
	for i, a := range acts {
		words[i] = m[a]
		if words[i] == "" {
			words[i] = strings.ToLower(a.Title())
		}
	}
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// noticeFacts are the when, who and why of a notice about target i of r.
func noticeFacts(r actions.Request, i int) string {
	when := r.UpdatedAt
	if res := r.Targets[i].Result; res != nil {
		when = res.At
	}
	lines := []string{
		"*When:* " + slackDate(when),
		"*Requested by:* " + mention(r.Requester),
		"*Approved by:* " + approvedBy(r),
		"*Reason:* " + Esc(clip.Runes(oneLine(r.Reason), 300)),
	}
	if r.Ticket != "" {
		lines = append(lines, "*Ticket:* "+Esc(clip.Runes(oneLine(r.Ticket), 100)))
	}
	lines = append(lines, "*Request:* `"+r.ID+"`")
	return strings.Join(lines, "\n")
}

func approvedBy(r actions.Request) string {
	switch {
	case len(r.Approvals) > 0:
		return mentions(approvers(r))
	case r.Manual && r.DecidedBy != (actions.Person{}):
		return "marked done by " + mention(r.DecidedBy)
	}
	return "nobody"
}

// NoticeText is the notification text of a notice: no secret, no detail.
func NoticeText(r actions.Request) string {
	return clip.Runes(fmt.Sprintf("mfadesk: %s was done to your account (request %s).", r.Action.Title(), r.ID), MaxFallbackText)
}

// NoticeBlocks tell target i of r what was done to their account, with the
// "This wasn't me" button (ActionNotMe) until until. containment names what
// a report runs at once.
func NoticeBlocks(r actions.Request, i int, containment []actions.Action, until time.Time) []slack.Block {
	then := "mfadesk alerts the security team at once."
	if len(containment) > 0 {
		then = "at once, without waiting for anyone, mfadesk " + andList(containment, protects) + ", and alerts the security team."
	}
	confirm := slack.NewConfirmationBlockObject(plain("Report this?"),
		plain("You did not ask for this? "+clip.Runes(then, 200)), plain("Yes, it wasn't me"), plain("Cancel"))
	confirm.WithStyle(slack.StyleDanger)
	b := button(ActionNotMe, r.ID, "This wasn't me", slack.StyleDanger)
	b.Confirm = confirm
	return []slack.Block{
		header("A change was made to your account"),
		Section(YouWords(r.Action)),
		Section(noticeFacts(r, i)),
		Section("If you asked the helpdesk for this, there is nothing to do. *If you did not*, press *This wasn't me*: " + then),
		slack.NewActionBlock(blockNotMe, b),
		contextBlock("The button works until " + slackDate(until) + ". mfadesk never asks for your password or codes."),
	}
}

// ManagerNoticeBlocks tell a manager what was done to their report's
// account: the target's notice without the button.
func ManagerNoticeBlocks(r actions.Request, i int) []slack.Block {
	t := r.Targets[i]
	return []slack.Block{
		header("A change was made to your report's account"),
		Section(fmt.Sprintf("mfadesk told %s:\n>%s", mention(t.Person()), YouWords(r.Action))),
		Section(noticeFacts(r, i)),
		contextBlock("You get this because the directory names you as their manager. If this looks wrong, talk to them and to the security team."),
	}
}

// ManagerNoticeText is the notification text of ManagerNoticeBlocks.
func ManagerNoticeText(r actions.Request, i int) string {
	return clip.Runes(fmt.Sprintf("mfadesk: %s was done to the account of %s (request %s).",
		r.Action.Title(), mention(r.Targets[i].Person()), r.ID), MaxFallbackText)
}

// ReportedBlocks replace a notice's button once the report is taken.
func ReportedBlocks(r actions.Request, i int, containment []actions.Request, at time.Time) []slack.Block {
	now := "The security team is being alerted."
	if len(containment) > 0 {
		acts := make([]actions.Action, len(containment))
		for k, c := range containment {
			acts[k] = c.Action
		}
		now = "mfadesk is " + andList(acts, doing) + " now, and alerting the security team."
	}
	return []slack.Block{
		header("A change was made to your account"),
		Section(YouWords(r.Action)),
		Section(noticeFacts(r, i)),
		Section(fmt.Sprintf(":rotating_light: You reported this as *not you* %s. %s You get a message when it is done.", slackDate(at), now)),
	}
}

// ReportedAgainText answers a second "This wasn't me" on request id, whose
// first report started containment (none when the policy lists none): as
// ReportedBlocks, it says mfadesk acted only when it did.
func ReportedAgainText(id string, containment []actions.Request) string {
	done := "the security team knows."
	if len(containment) > 0 {
		done = "the security team knows, and mfadesk protected your account once."
	}
	return "You reported request `" + Esc(id) + "` already: " + done + " Please call the security team in person."
}

// stepLine is one containment request and its result.
func stepLine(c actions.Request) string {
	line := fmt.Sprintf("`%s` %s: ", c.ID, c.Action.Title())
	if len(c.Targets) == 0 || c.Targets[0].Result == nil {
		return line + stateLabel(c)
	}
	res := c.Targets[0].Result
	switch res.Outcome {
	case actions.OutcomeOK:
		line += "done"
	case actions.OutcomeSkipped:
		line += "nothing to do"
	default:
		line += "*failed*"
	}
	if res.Detail != "" {
		line += " (" + Esc(clip.Runes(oneLine(res.Detail), maxTargetDetail)) + ")"
	}
	return line
}

func stepLines(steps []actions.Request) string {
	if len(steps) == 0 {
		return "No containment ran: the policy lists none."
	}
	lines := make([]string, len(steps))
	for k, c := range steps {
		lines[k] = "• " + stepLine(c)
	}
	return strings.Join(lines, "\n")
}

// AlertText is the notification text of AlertBlocks.
func AlertText(r actions.Request, i int) string {
	return clip.Runes(fmt.Sprintf("\"This wasn't me\": %s reported request %s (%s)", mention(r.Targets[i].Person()), r.ID, r.Action.Title()), MaxFallbackText)
}

// AlertBlocks tell the security channel that target i of r reported it as
// not them, and what the containment did.
func AlertBlocks(r actions.Request, i int, steps []actions.Request) []slack.Block {
	t := r.Targets[i]
	return []slack.Block{
		header("\"This wasn't me\": containment ran"),
		Section(fmt.Sprintf(":rotating_light: %s (%s) says they did not ask for request `%s`: %s.",
			mention(t.Person()), Esc(t.Email), r.ID, r.Action.Title())),
		Section(noticeFacts(r, i)),
		Section("*Containment*\n" + stepLines(steps)),
		contextBlock("Reach " + mention(t.Person()) + " in person, check who asked and how, and unblock the account when it is safe (`unblock-sign-in`)."),
	}
}

// ReporterText is the notification text of ReporterBlocks.
func ReporterText(r actions.Request) string {
	return clip.Runes("mfadesk: what was done after your report on request "+r.ID+", and what to do now.", MaxFallbackText)
}

// ReporterBlocks tell the user who reported r what was done and what to do
// next.
func ReporterBlocks(r actions.Request, steps []actions.Request) []slack.Block {
	return []slack.Block{
		header("Your account is being protected"),
		Section(fmt.Sprintf("You said you did not ask for request `%s` (%s). The security team has been alerted.", r.ID, r.Action.Title())),
		Section("*What mfadesk did*\n" + stepLines(steps)),
		Section("*What to do now*\n• *Call the security team* or walk over to them: do it in person, not by replying to a message or an email.\n" +
			"• Do not give anyone your password or MFA codes, and do not approve sign-in prompts you did not start.\n" +
			"• The security team checks it is you and gives you back access."),
	}
}

// undeliveredLines say, for the approval message, which notices did not
// reach their recipient, so that someone tells them another way.
func undeliveredLines(r actions.Request) []string {
	var out []string
	for _, n := range r.Undelivered() {
		if n.Target < 0 || n.Target >= len(r.Targets) {
			continue
		}
		who := mention(r.Targets[n.Target].Person())
		switch n.To {
		case actions.NoticeManager:
			who = "the manager of " + who
		case actions.NoticeSecurity:
			who = "the security channel (report by " + who + ")"
		}
		verb := "could not be delivered"
		if n.State == actions.NoticeUncertain {
			verb = "may not have arrived"
		}
		out = append(out, clip.Runes(fmt.Sprintf(":warning: The notice to %s %s: %s. Tell them another way.",
			who, verb, Esc(oneLine(n.Detail))), maxContextText))
	}
	return out
}
