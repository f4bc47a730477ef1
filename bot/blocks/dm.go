package blocks

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
)

// ConfirmationBlocks tell the requester their request is stored.
func ConfirmationBlocks(r actions.Request, channel string) []slack.Block {
	where := "the approval channel"
	if channel != "" {
		where = "<#" + channel + ">"
	}
	return []slack.Block{
		Section(fmt.Sprintf(":inbox_tray: Your request `%s` is waiting for approval in %s: %s. It expires %s.",
			r.ID, where, Title(r), slackDate(r.ExpiresAt))),
		contextBlock("You get the outcome here. `/mfa cancel " + r.ID + "` withdraws it while it waits."),
	}
}

// OutcomeBlocks tell the requester how their request ended.
func OutcomeBlocks(r actions.Request) []slack.Block {
	blocks := []slack.Block{
		Section(fmt.Sprintf("Your request `%s`, %s, has %s.", r.ID, Title(r), stateLabel(r))),
		Section(statusLine(r)),
	}
	if r.State != actions.StateDenied && r.State != actions.StateExpired && r.State != actions.StateCancelled {
		blocks = append(blocks, targetBlocks(r, maxTargetLinesDM)...)
	}
	return capBlocks(blocks, maxMessageBlocks)
}

// OutcomeText is the notification text of OutcomeBlocks.
func OutcomeText(r actions.Request) string {
	return clip.Runes(fmt.Sprintf("Your request %s has %s.", r.ID, stateLabel(r)), MaxFallbackText)
}

// SecretBlocks carry one target's secret to the requester. The value is in
// the blocks only: notification text shows on lock screens.
func SecretBlocks(r actions.Request, t actions.Target, kind, value, note string) []slack.Block {
	who := Esc(t.Email)
	if t.SlackID != "" {
		who = "<@" + t.SlackID + "> (" + Esc(t.Email) + ")"
	}
	blocks := []slack.Block{
		header(kind),
		Section(fmt.Sprintf("%s for %s, request `%s`:", Esc(kind), who, r.ID)),
		Section("```" + strings.ReplaceAll(value, "```", "` ` `") + "```"),
	}
	ctx := "Shown once and only to you: mfadesk does not store it. Hand it to the user over a channel you trust."
	if note != "" {
		ctx = Esc(oneLine(note)) + " " + ctx
	}
	return append(blocks, contextBlock(ctx))
}

// SecretText is the notification text of SecretBlocks: no secret in it.
func SecretText(r actions.Request, kind string) string {
	return clip.Runes(fmt.Sprintf("%s for request %s: open the message to see it.", kind, r.ID), MaxFallbackText)
}

// ManualBlocks give an approver the steps of a tracked manual step, with
// Done and Failed buttons while it is open; once marked, they say so.
func ManualBlocks(r actions.Request, steps string) []slack.Block {
	blocks := []slack.Block{
		header("Manual step: " + r.Action.Title()),
		Section(fmt.Sprintf("Request `%s`, %s, requested by %s, was approved. The directory cannot do this through its API: please do it by hand.",
			r.ID, Title(r), mention(r.Requester))),
		Section("*Steps*\n" + Esc(clip.Runes(steps, maxSectionText-20))),
	}
	blocks = append(blocks, targetBlocks(r, maxTargetLinesDM)...)
	if r.State == actions.StateRunning {
		blocks = append(blocks, slack.NewActionBlock(blockManual,
			button(ActionManualDone, r.ID, "Done", slack.StylePrimary),
			button(ActionManualFailed, r.ID, "Failed", slack.StyleDanger),
		))
	} else {
		blocks = append(blocks, Section(statusLine(r)))
	}
	return capBlocks(blocks, maxMessageBlocks)
}

// PendingBlocks list the open requests someone can act on.
func PendingBlocks(rs []actions.Request, viewer actions.Person, channel string) []slack.Block {
	if len(rs) == 0 {
		return []slack.Block{Section("Nothing waits for you.")}
	}
	const maxListed = 40
	lines := make([]string, 0, min(len(rs), maxListed)+1)
	for _, r := range rs[:min(len(rs), maxListed)] {
		what := "approve or deny"
		switch {
		case r.Requester.Is(viewer):
			what = "yours: `/mfa cancel " + r.ID + "` withdraws it"
		case r.State == actions.StateRunning:
			what = "manual step to mark done or failed"
		}
		lines = append(lines, fmt.Sprintf("• `%s` %s, by %s, %s (%s)",
			r.ID, Title(r), mention(r.Requester), stateLabel(r), what))
	}
	if rest := len(rs) - maxListed; rest > 0 {
		lines = append(lines, fmt.Sprintf("…and %d more.", rest))
	}
	heading := fmt.Sprintf("*%s waiting for you*", Plural(len(rs), "request", "requests"))
	blocks := packLines(heading, lines)
	if channel != "" {
		blocks = append(blocks, contextBlock("Approve and deny in <#"+channel+">; `/mfa status ID` shows one in full."))
	}
	return capBlocks(blocks, maxMessageBlocks)
}

// HelpText answers `/mfa help`.
func HelpText(command string, requestable []actions.Action) string {
	if command == "" {
		command = "/mfa"
	}
	may := "You hold no role that may request an action."
	if len(requestable) > 0 {
		may = "Actions you may request: " + actionNames(requestable) + "."
	}
	return strings.Join([]string{
		"*" + command + "*: ask for an MFA admin action; a second person approves it.",
		"• `" + command + "` or `" + command + " ACTION @user … reason`: open the request form, prefilled",
		"• `" + command + " pending`: requests waiting for you",
		"• `" + command + " status ID`: where a request stands",
		"• `" + command + " cancel ID`: withdraw your request while it waits",
		"• `" + command + " help`: this text",
		may,
	}, "\n")
}

// NotRequestableText answers `/mfa ACTION …` for an action the caller may
// not request: the policy does not enable it, or enables it for other
// roles.
func NotRequestableText(command string, a actions.Action, requestable []actions.Action) string {
	if command == "" {
		command = "/mfa"
	}
	text := "You cannot request `" + string(a) + "`: mfadesk's policy does not enable it, or no role of yours may request it."
	if len(requestable) > 0 {
		text += " You may request " + actionNames(requestable) + ": `" + command + " " + string(requestable[0]) + " @user reason`."
	}
	return text
}

func actionNames(list []actions.Action) string {
	names := make([]string, len(list))
	for i, a := range list {
		names[i] = "`" + string(a) + "`"
	}
	return strings.Join(names, ", ")
}

// UnpostedText tells a requester that their request r could not be put
// before approvers in channel (Slack said code), and was ended.
func UnpostedText(r actions.Request, channel, code string) string {
	why := "mfadesk is not a member of <#" + channel + ">. Someone in that channel should run `/invite @mfadesk`"
	switch code {
	case "channel_not_found":
		why = "<#" + channel + "> does not exist or is private without mfadesk in it. Someone in that channel should run `/invite @mfadesk` (or whoever runs mfadesk should check MFADESK_APPROVAL_CHANNEL)"
	case "is_archived":
		why = "<#" + channel + "> is archived. Whoever runs mfadesk should set MFADESK_APPROVAL_CHANNEL to a live channel"
	}
	return ":warning: Your request `" + r.ID + "` (" + Title(r) + ") could not be posted for approval: " + why +
		", then make the request again. It was cancelled; nothing was done."
}
