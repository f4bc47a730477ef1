package bot

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// commandAnswer is a slash command's immediate, private answer.
type commandAnswer struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func ephemeral(text string) *commandAnswer {
	return &commandAnswer{ResponseType: slack.ResponseTypeEphemeral, Text: clip(text, maxFallbackText)}
}

const busyText = "mfadesk is busy right now. Please try again in a moment."

// triggerLife is how long Slack accepts a trigger_id for views.open.
const triggerLife = 3 * time.Second

// command handles a slash command (any command name). It answers at once:
// help inline, everything else from the worker pool.
func (b *Bot) command(ctx context.Context, cmd slack.SlashCommand, d *delivery) any {
	received := time.Now()
	word, rest, _ := strings.Cut(strings.TrimSpace(cmd.Text), " ")
	word = strings.ToLower(word)
	rest = strings.TrimSpace(rest)
	if word == "help" {
		return ephemeral(helpText(cmd.Command))
	}
	if cmd.TriggerID != "" && !b.seen.first("cmd:"+cmd.TriggerID) {
		b.log.InfoContext(ctx, "redelivered command dropped", "slack_user", cmd.UserID, "retry", d.retry)
		return nil
	}
	var fn func(ctx context.Context)
	urgent := false
	switch word {
	case "pending":
		fn = func(ctx context.Context) { b.pending(ctx, cmd) }
	case "status", "cancel":
		id, _, _ := strings.Cut(rest, " ")
		if id == "" {
			return ephemeral("Which request? `" + cmd.Command + " " + word + " ID`, e.g. `" + cmd.Command + " " + word + " R7K2M9QXA4F`.")
		}
		if word == "status" {
			fn = func(ctx context.Context) { b.status(ctx, cmd, id) }
		} else {
			fn = func(ctx context.Context) { b.cancel(ctx, cmd, id) }
		}
	default:
		urgent = true
		fn = func(ctx context.Context) { b.openRequestModal(ctx, cmd, received) }
	}
	if !b.enqueue("command "+word, urgent, fn) {
		b.seen.forget("cmd:" + cmd.TriggerID)
		return ephemeral(busyText)
	}
	return nil
}

// enqueue hands fn to the worker pool; false when the queue is full.
func (b *Bot) enqueue(kind string, urgent bool, fn func(ctx context.Context)) bool {
	if b.pool.submit(kind, urgent, fn) {
		return true
	}
	b.cfg.Metrics.JobDropped(kind)
	b.log.Warn("worker queue full: work refused", "kind", kind)
	return false
}

// mustEnqueue is enqueue for work nobody will ask for again (posting an
// approval message, telling a requester the outcome): when the queue is
// full it tries again a few times, a second apart, before giving up and
// calling dropped (if not nil).
func (b *Bot) mustEnqueue(kind string, fn func(ctx context.Context), dropped func()) {
	var try func(attempt int)
	try = func(attempt int) {
		if b.enqueue(kind, false, fn) {
			return
		}
		if b.closing.Load() || attempt >= 5 {
			b.log.Error("work dropped: the worker queue stayed full", "kind", kind)
			if dropped != nil {
				dropped()
			}
			return
		}
		time.AfterFunc(time.Second, func() { try(attempt + 1) })
	}
	try(1)
}

// parseRequestText reads `/mfa [ACTION] [@user …] [reason…]`: a leading
// action name, every mention as a target (should_escape delivers them as
// <@U123> or <@U123|name>), the remaining words as the reason.
func parseRequestText(text string) (a actions.Action, targets []string, reason string) {
	for _, m := range mentionPattern.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(targets, m[1]) {
			targets = append(targets, m[1])
		}
	}
	words := strings.Fields(mentionPattern.ReplaceAllString(text, " "))
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
func (b *Bot) openRequestModal(ctx context.Context, cmd slack.SlashCommand, received time.Time) {
	ctx, cancel := context.WithDeadline(ctx, received.Add(triggerLife))
	defer cancel()
	err := b.showRequestForm(ctx, cmd)
	if err == nil {
		return
	}
	msg := b.explain(ctx, err, "")
	if slackErr(err, "expired_trigger_id") || ctx.Err() != nil {
		msg = "Slack allows 3 seconds to open the form and that time ran out. Please run `" + cmd.Command + "` again."
		b.log.WarnContext(ctx, "request form not opened in time", "slack_user", cmd.UserID, "error", err)
	}
	b.replyText(context.WithoutCancel(ctx), cmd.ResponseURL, cmd.ChannelID, cmd.UserID, msg)
}

// errNoRole: the person holds no role that may request anything.
var errNoRole = &actions.DecisionError{Kind: actions.ErrForbidden,
	Reason: "you hold no role that may request an MFA action, so there is nothing to open. Ask whoever runs mfadesk to add you to a role in its policy"}

// showRequestForm looks the requester up and opens the form with the
// actions they may request.
func (b *Bot) showRequestForm(ctx context.Context, cmd slack.SlashCommand) error {
	p, err := b.person(ctx, cmd.UserID)
	if err != nil {
		return err
	}
	offered := b.svc.Requestable(p)
	if len(offered) == 0 {
		return errNoRole
	}
	a, targets, reason := parseRequestText(cmd.Text)
	if !slices.Contains(offered, a) {
		a = ""
	}
	view := requestModal(requestForm{Actions: offered, Action: a, Targets: targets, Reason: reason,
		MaxTargets: b.svc.Policy().MaxTargets, Channel: b.cfg.ApprovalChannel})
	return b.call(ctx, "views.open", func(ctx context.Context) error {
		_, err := b.api.OpenViewContext(ctx, cmd.TriggerID, view)
		return err
	})
}

// pending lists the open requests the caller can act on.
func (b *Bot) pending(ctx context.Context, cmd slack.SlashCommand) {
	p, err := b.person(ctx, cmd.UserID)
	var rs []actions.Request
	if err == nil {
		rs, err = b.svc.Actionable(ctx, p)
	}
	if err != nil {
		b.replyText(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, b.explain(ctx, err, ""))
		return
	}
	b.reply(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, plural(len(rs), "request waits", "requests wait")+" for you.",
		pendingBlocks(rs, p, b.cfg.ApprovalChannel))
}

// status shows one request to its requester, or to anyone holding a role
// in the policy; to others it does not exist.
func (b *Bot) status(ctx context.Context, cmd slack.SlashCommand, id string) {
	p, err := b.person(ctx, cmd.UserID)
	var r actions.Request
	if err == nil {
		r, err = b.svc.Get(ctx, id)
	}
	if err == nil && !r.Requester.Is(p) && len(b.svc.Policy().RolesOf(p)) == 0 {
		err = actions.ErrNotFound
	}
	if err != nil {
		b.replyText(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, b.explain(ctx, err, actions.NormalizeRequestID(id)))
		return
	}
	b.reply(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, fallbackText(r), requestBlocks(r, false))
}

// cancel withdraws the caller's own pending request.
func (b *Bot) cancel(ctx context.Context, cmd slack.SlashCommand, id string) {
	p, err := b.person(ctx, cmd.UserID)
	var r actions.Request
	if err == nil {
		r, err = b.svc.Cancel(ctx, id, p)
	}
	if err != nil {
		b.replyText(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, b.explain(ctx, err, actions.NormalizeRequestID(id)))
		return
	}
	b.replyText(ctx, cmd.ResponseURL, cmd.ChannelID, cmd.UserID, "Cancelled `"+r.ID+"`: "+title(r)+". Nothing was done.")
}
