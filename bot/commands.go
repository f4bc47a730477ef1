package bot

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// intake takes requests in: the slash command and its subcommands, and the
// request modal (submit.go).
type intake struct {
	*core
	recent  *memo
	forms   *forms
	notices *notifications // confirms a stored request to its requester
}

// commandAnswer is a slash command's immediate, private answer.
type commandAnswer struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func ephemeral(text string) *commandAnswer {
	return &commandAnswer{ResponseType: slack.ResponseTypeEphemeral, Text: clip.Runes(text, blocks.MaxFallbackText)}
}

// triggerLife is how long Slack accepts a trigger_id for views.open.
const triggerLife = 3 * time.Second

// command handles a slash command (any command name). It answers at once:
// help inline, everything else from the worker pool.
func (in *intake) command(ctx context.Context, cmd slack.SlashCommand, d *delivery) any {
	received := time.Now()
	word, rest, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
	word = strings.ToLower(word)
	rest = strings.TrimSpace(rest)
	if word == "help" {
		return ephemeral(blocks.HelpText(cmd.Command, in.requestable(ctx, cmd.UserID)))
	}
	if unknownWord(word) {
		// A mistyped command or action would otherwise become the reason.
		return ephemeral("Unknown command or action `" + clip.Runes(word, 40) + "`.\n" +
			blocks.HelpText(cmd.Command, in.requestable(ctx, cmd.UserID)))
	}
	if cmd.TriggerID != "" && !in.recent.first("cmd:"+cmd.TriggerID) {
		in.log.InfoContext(ctx, "redelivered command dropped", "slack_user", cmd.UserID, "retry", d.retry)
		return nil
	}
	isRequest := word != "pending" && word != "status" && word != "cancel"
	if isRequest && in.svc.SureHoldsNoRole(cmd.UserID) {
		// Known without looking the person up: nothing to open, nothing queued.
		return ephemeral(blocks.Sentence(errNoRole.Reason))
	}
	if !in.budget.allow(cmd.UserID) {
		in.log.WarnContext(ctx, "command refused: over the user's budget", "slack_user", cmd.UserID)
		return ephemeral(tooFastText)
	}
	var fn func(ctx context.Context)
	urgent := false
	kind := "command " + word
	switch word {
	case "pending":
		fn = func(ctx context.Context) { in.pending(ctx, cmd) }
	case "status", "cancel":
		id, _, _ := strings.Cut(rest, " ")
		if id == "" {
			return ephemeral("Which request? `" + cmd.Command + " " + word + " ID`, e.g. `" + cmd.Command + " " + word + " R7K2M9QXA4F`.")
		}
		if word == "status" {
			fn = func(ctx context.Context) { in.status(ctx, cmd, id) }
		} else {
			fn = func(ctx context.Context) { in.cancel(ctx, cmd, id) }
		}
	default:
		urgent, kind = true, "command request"
		fn = func(ctx context.Context) { in.openRequestModal(ctx, cmd, received) }
	}
	if !in.jobs.enqueue(kind, urgent, fn) {
		in.recent.forget("cmd:" + cmd.TriggerID)
		return ephemeral(busyText)
	}
	return nil
}

// subcommands are the words /mfa takes besides an action name.
var subcommands = []string{"help", "pending", "status", "cancel"}

// unknownWord reports whether the command text's first word is neither a
// subcommand, nor an action, nor a mention: `/mfa ACTION …` puts the reason
// after the action, never first.
func unknownWord(word string) bool {
	if word == "" || slices.Contains(subcommands, word) || strings.HasPrefix(word, "<@") {
		return false
	}
	_, err := actions.ParseAction(word)
	return err != nil
}

// helpLookup bounds the look-up of the caller for help, which is answered
// in the HTTP response (Slack waits 3 seconds).
const helpLookup = 1500 * time.Millisecond

// requestable lists what the caller may request, for help. Without their
// profile (Slack too slow) it goes by Slack ID alone.
func (in *intake) requestable(ctx context.Context, userID string) []actions.Action {
	ctx, cancel := context.WithTimeout(ctx, helpLookup)
	defer cancel()
	p, err := in.slack.person(ctx, userID)
	if err != nil {
		in.log.InfoContext(ctx, "help without the caller's profile", "slack_user", userID, "error", err)
	}
	return in.svc.Requestable(p)
}

// parseRequestText reads `/mfa [ACTION] [@user …] [reason…]`: a leading
// action name, every mention as a target (should_escape delivers them as
// <@U123> or <@U123|name>), the remaining words as the reason.
func parseRequestText(text string) (a actions.Action, targets []string, reason string) {
	for _, m := range blocks.MentionPattern.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(targets, m[1]) {
			targets = append(targets, m[1])
		}
	}
	words := strings.Fields(blocks.MentionPattern.ReplaceAllString(text, " "))
	if len(words) > 0 {
		if parsed, err := actions.ParseAction(strings.ToLower(words[0])); err == nil {
			a, words = parsed, words[1:]
		}
	}
	return a, targets, strings.Join(words, " ")
}

// openRequestModal opens the request form, prefilled from the command text.
// The trigger_id expires 3 seconds after Slack sent it, so this runs first
// among queued work and gives up when the time is gone.
func (in *intake) openRequestModal(ctx context.Context, cmd slack.SlashCommand, received time.Time) {
	ctx, cancel := context.WithDeadline(ctx, received.Add(triggerLife))
	defer cancel()
	err := in.showRequestForm(ctx, cmd)
	if err == nil {
		return
	}
	msg := in.explain(ctx, err, "")
	if slackErr(err, "expired_trigger_id") || ctx.Err() != nil {
		msg = "Slack allows 3 seconds to open the form and that time ran out. Please run `" + cmd.Command + "` again."
		in.log.WarnContext(ctx, "request form not opened in time", "slack_user", cmd.UserID, "error", err)
	}
	in.slack.replyText(context.WithoutCancel(ctx), cmd.ResponseURL, cmd.ChannelID, cmd.UserID, msg)
}

// errNoRole: the person holds no role that may request anything.
var errNoRole = &actions.DecisionError{Kind: actions.ErrForbidden,
	Reason: "you hold no role that may request an MFA action, so there is nothing to open. Ask whoever runs mfadesk to add you to a role in its policy"}

// showRequestForm looks the requester up and opens the form with the
// actions they may request.
func (in *intake) showRequestForm(ctx context.Context, cmd slack.SlashCommand) error {
	p, err := in.slack.person(ctx, cmd.UserID)
	if err != nil {
		return err
	}
	offered := in.svc.Requestable(p)
	if len(offered) == 0 {
		return errNoRole
	}
	a, targets, reason := parseRequestText(cmd.Text)
	if a != "" && !slices.Contains(offered, a) {
		// Not a form without it and no word: say why, and what they may do.
		in.slack.replyText(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, blocks.NotRequestableText(cmd.Command, a, offered))
		return nil
	}
	view := blocks.RequestModal(blocks.RequestForm{Actions: offered, Action: a, Targets: targets, Reason: reason,
		MaxTargets: in.svc.MaxTargets(), Channel: in.channel})
	return in.slack.openView(ctx, cmd.TriggerID, view)
}

// pending lists the open requests the caller can act on.
func (in *intake) pending(ctx context.Context, cmd slack.SlashCommand) {
	p, err := in.slack.person(ctx, cmd.UserID)
	var rs []actions.Request
	if err == nil {
		rs, err = in.svc.Actionable(ctx, p)
	}
	if err != nil {
		in.slack.replyText(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, in.explain(ctx, err, ""))
		return
	}
	in.slack.reply(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, blocks.Plural(len(rs), "request waits", "requests wait")+" for you.",
		blocks.PendingBlocks(rs, p, in.channel))
}

// status shows one request to its requester, or to anyone holding a role
// in the policy; to others it does not exist.
func (in *intake) status(ctx context.Context, cmd slack.SlashCommand, id string) {
	r, ok := in.asCaller(ctx, cmd, id, in.svc.Status)
	if !ok {
		return
	}
	in.slack.reply(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, blocks.FallbackText(r), blocks.RequestBlocks(r, false))
}

// cancel withdraws the caller's own pending request.
func (in *intake) cancel(ctx context.Context, cmd slack.SlashCommand, id string) {
	r, ok := in.asCaller(ctx, cmd, id, in.svc.Cancel)
	if !ok {
		return
	}
	in.slack.replyText(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, "Cancelled `"+r.ID+"`: "+blocks.Title(r)+". Nothing was done.")
}

// asCaller looks the command's caller up and calls op on request id as
// them. When either fails it tells the caller why and returns false.
func (in *intake) asCaller(ctx context.Context, cmd slack.SlashCommand, id string,
	op func(context.Context, string, actions.Person) (actions.Request, error)) (actions.Request, bool) {
	p, err := in.slack.person(ctx, cmd.UserID)
	var r actions.Request
	if err == nil {
		r, err = op(ctx, id, p)
	}
	if err != nil {
		in.slack.replyText(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, in.explain(ctx, err, actions.NormalizeRequestID(id)))
		return actions.Request{}, false
	}
	return r, true
}
