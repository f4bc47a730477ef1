package blocks

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
)

// Target lists are summarised beyond these many lines.
const (
	maxTargetLinesChannel = 20
	maxTargetLinesDM      = 40
	maxTargetDetail       = 200
)

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// Section is one mrkdwn section, cut to Slack's limit.
func Section(s string) *slack.SectionBlock {
	return slack.NewSectionBlock(mrkdwn(clip.Runes(s, maxSectionText)), nil, nil)
}

func header(s string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(plain(clip.Runes(oneLine(s), maxHeaderText)))
}

func contextBlock(texts ...string) *slack.ContextBlock {
	els := make([]slack.MixedElement, 0, min(len(texts), 10))
	for _, t := range texts[:min(len(texts), 10)] {
		els = append(els, mrkdwn(clip.Runes(t, maxContextText)))
	}
	return slack.NewContextBlock("", els...)
}

func button(actionID, value, text string, style slack.Style) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(actionID, value, plain(clip.Runes(text, maxButtonText)))
	b.Style = style
	return b
}

// slackDate shows t in each reader's own time zone, with a UTC fallback.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} at {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func mention(p actions.Person) string {
	if p.SlackID != "" {
		return "<@" + p.SlackID + ">"
	}
	return Esc(p.Email)
}

func mentions(ps []actions.Person) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = mention(p)
	}
	return strings.Join(out, ", ")
}

func approvers(r actions.Request) []actions.Person {
	ps := make([]actions.Person, len(r.Approvals))
	for i, a := range r.Approvals {
		ps[i] = a.By
	}
	return ps
}

func users(n int) string { return Plural(n, "user", "users") }

// Title is what a request is about in one line: "Revoke MFA sessions for 3 users".
func Title(r actions.Request) string {
	if len(r.Targets) == 1 {
		t := r.Targets[0]
		if t.SlackID != "" {
			return r.Action.Title() + " for <@" + t.SlackID + ">"
		}
		return r.Action.Title() + " for " + Esc(t.Email)
	}
	return r.Action.Title() + " for " + users(len(r.Targets))
}

// stateLabel is the state as people say it.
func stateLabel(r actions.Request) string {
	switch r.State {
	case actions.StatePending:
		return "waiting for approval"
	case actions.StateApproved:
		return "approved"
	case actions.StateRunning:
		if r.Manual {
			return "approved: manual step in progress"
		}
		return "running"
	case actions.StateSucceeded:
		return "succeeded"
	case actions.StatePartiallyFailed:
		return "partly failed"
	case actions.StateFailed:
		return "failed"
	case actions.StateDenied:
		return "denied"
	case actions.StateExpired:
		return "expired"
	case actions.StateCancelled:
		return "cancelled"
	}
	return string(r.State)
}

// FallbackText is the notification text of a message about r. It never
// holds a secret: requests carry none.
func FallbackText(r actions.Request) string {
	return clip.Runes(fmt.Sprintf("%s requested by %s: %s (%s)",
		Title(r), mention(r.Requester), stateLabel(r), r.ID), MaxFallbackText)
}

// statusLine says where r stands, for the approval message, DMs and status.
func statusLine(r actions.Request) string {
	need := max(r.ApprovalsNeeded, 1)
	ok, failed, skipped, pending := r.Counts()
	total := len(r.Targets)
	counts := fmt.Sprintf("%d ok, %d failed, %d skipped", ok, failed, skipped)
	by := ""
	if len(r.Approvals) > 0 {
		by = " Approved by " + mentions(approvers(r)) + "."
	}
	switch r.State {
	case actions.StatePending:
		if waitingForVerification(r) {
			return fmt.Sprintf(":identification_card: *Approved, waiting for caller verification*. Expires %s.%s%s",
				slackDate(r.ExpiresAt), by, verificationStatus(r))
		}
		return fmt.Sprintf(":hourglass_flowing_sand: *Waiting for approval*: %d of %d. Expires %s.%s%s",
			len(r.Approvals), need, slackDate(r.ExpiresAt), by, verificationStatus(r))
	case actions.StateApproved:
		return ":white_check_mark: *Approved*, starting." + by
	case actions.StateRunning:
		if r.Manual {
			return ":wrench: *Manual step*: the approver has the steps and marks it done or failed here." + by
		}
		return fmt.Sprintf(":gear: *Running*: %d of %d done (%s).%s", total-pending, total, counts, by)
	case actions.StateSucceeded, actions.StatePartiallyFailed, actions.StateFailed:
		icon, word := ":white_check_mark:", "Succeeded"
		if r.State == actions.StatePartiallyFailed {
			icon, word = ":warning:", "Partly failed"
		} else if r.State == actions.StateFailed {
			icon, word = ":x:", "Failed"
		}
		s := fmt.Sprintf("%s *%s*: %s.%s", icon, word, counts, by)
		if r.Manual && r.DecidedBy != (actions.Person{}) {
			s += " Manual step marked by " + mention(r.DecidedBy)
			if r.DecisionNote != "" {
				s += ": " + Esc(clip.Runes(oneLine(r.DecisionNote), actions.MaxReasonLen))
			}
			s += "."
		}
		return s
	case actions.StateDenied:
		s := ":no_entry: *Denied* by " + mention(r.DecidedBy)
		if r.DecisionNote != "" {
			s += ": " + Esc(clip.Runes(oneLine(r.DecisionNote), actions.MaxReasonLen))
		}
		return s + "."
	case actions.StateExpired:
		return fmt.Sprintf(":alarm_clock: *Expired* %s with %d of %d approvals. Nothing was done.",
			slackDate(r.ExpiresAt), len(r.Approvals), need)
	case actions.StateCancelled:
		if r.Abandoned() {
			return ":warning: *Cancelled* by mfadesk: " + Esc(clip.Runes(oneLine(r.DecisionNote), actions.MaxReasonLen)) + ". Nothing was done."
		}
		return ":leftwards_arrow_with_hook: *Cancelled* by the requester. Nothing was done."
	}
	return string(r.State)
}

// targetLine is one target and, once known, its result.
func targetLine(t actions.Target) string {
	var b strings.Builder
	b.WriteString("• ")
	if t.SlackID != "" {
		b.WriteString("<@" + t.SlackID + "> ")
	}
	b.WriteString(Esc(t.Email))
	if t.Privileged {
		b.WriteString(" :shield: _admin_")
	}
	if res := t.Result; res != nil {
		switch res.Outcome {
		case actions.OutcomeOK:
			b.WriteString(" :white_check_mark: ok")
		case actions.OutcomeFailed:
			b.WriteString(" :x: failed")
		default:
			b.WriteString(" :heavy_minus_sign: " + Esc(string(res.Outcome)))
		}
		if d := oneLine(res.Detail); d != "" {
			b.WriteString(": " + Esc(clip.Runes(d, maxTargetDetail)))
		}
	}
	return b.String()
}

// targetBlocks lists targets, at most maxLines of them; failures come first
// once results exist, and the rest is summarised in one line.
func targetBlocks(r actions.Request, maxLines int) []slack.Block {
	order := make([]int, 0, len(r.Targets))
	for i, t := range r.Targets {
		if t.Result != nil && t.Result.Outcome == actions.OutcomeFailed {
			order = append(order, i)
		}
	}
	for i, t := range r.Targets {
		if t.Result == nil || t.Result.Outcome != actions.OutcomeFailed {
			order = append(order, i)
		}
	}
	lines := make([]string, 0, min(len(order), maxLines)+1)
	for _, i := range order[:min(len(order), maxLines)] {
		lines = append(lines, targetLine(r.Targets[i])+verificationNote(r, i))
	}
	if rest := len(order) - maxLines; rest > 0 {
		lines = append(lines, fmt.Sprintf("…and %d more. `/mfa status %s` lists them.", rest, r.ID))
	}
	return packLines("*Users*", lines)
}

// packLines puts lines into as few sections as fit Slack's text limit.
func packLines(heading string, lines []string) []slack.Block {
	var blocks []slack.Block
	var cur strings.Builder
	cur.WriteString(heading)
	for _, l := range lines {
		l = clip.Runes(l, maxSectionText-len(heading)-1)
		if cur.Len()+1+len(l) > maxSectionText {
			blocks = append(blocks, Section(cur.String()))
			cur.Reset()
		} else if cur.Len() > 0 {
			cur.WriteString("\n")
		}
		cur.WriteString(l)
	}
	if cur.Len() > 0 {
		blocks = append(blocks, Section(cur.String()))
	}
	return blocks
}

// summaryBlocks are who asked for what and why.
func summaryBlocks(r actions.Request) []slack.Block {
	ticket := "—"
	if r.Ticket != "" {
		ticket = Esc(clip.Runes(oneLine(r.Ticket), actions.MaxTicketLen))
	}
	fields := []*slack.TextBlockObject{
		mrkdwn("*Requested by*\n" + mention(r.Requester)),
		mrkdwn("*Request*\n`" + r.ID + "`"),
		mrkdwn("*Action*\n`" + string(r.Action) + "`"),
		mrkdwn(clip.Runes("*Ticket*\n"+ticket, maxFieldText)),
	}
	return []slack.Block{
		header(headerText(r)),
		slack.NewSectionBlock(nil, fields, nil),
		Section("*Reason*\n" + Esc(clip.Runes(r.Reason, actions.MaxReasonLen))),
		contextBlock("_" + Esc(r.Action.Effect()) + "_"),
	}
}

// headerText: headers are plain text, so a target is named by email, and
// several are counted.
func headerText(r actions.Request) string {
	if len(r.Targets) == 1 {
		return r.Action.Title() + ": " + r.Targets[0].Email
	}
	return r.Action.Title() + ": " + users(len(r.Targets))
}

// RequestBlocks shows r in full: what the approval message, status replies
// and DMs start from. With buttons, a pending request gets Approve and Deny.
func RequestBlocks(r actions.Request, buttons bool) []slack.Block {
	blocks := summaryBlocks(r)
	blocks = append(blocks, targetBlocks(r, maxTargetLinesChannel)...)
	blocks = append(blocks, Section(statusLine(r)))
	if lines := undeliveredLines(r); len(lines) > 0 {
		blocks = append(blocks, contextBlock(lines...))
	}
	if buttons && r.State == actions.StatePending {
		blocks = append(blocks, slack.NewActionBlock(blockDecision,
			button(ActionApprove, r.ID, "Approve", slack.StylePrimary),
			button(ActionDeny, r.ID, "Deny", slack.StyleDanger),
		))
	}
	return capBlocks(blocks, maxMessageBlocks)
}

// ApprovalMessage is the message in the approval channel.
func ApprovalMessage(r actions.Request) []slack.Block { return RequestBlocks(r, true) }

// capBlocks keeps at most n blocks, replacing the overflow with a note. The
// renderers stay well below the limit; this is the last guard.
func capBlocks(blocks []slack.Block, n int) []slack.Block {
	if len(blocks) <= n {
		return blocks
	}
	out := append([]slack.Block(nil), blocks[:n-1]...)
	return append(out, contextBlock(fmt.Sprintf("…%d more blocks left out (Slack shows at most %d).", len(blocks)-n+1, n)))
}
