package bot

import (
	"context"
	"errors"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// click is one button press, with what is needed to answer it.
type click struct {
	requestID string
	user      string
	channel   string // where the button was: for private replies
	ts        string // the message holding the button
	trigger   string
	received  time.Time
}

// blockActions handles button presses. It answers Slack at once (an empty
// 200) and leaves the decision to the worker pool. Every press is checked
// by the service at press time; a press redelivered (same action_ts) is
// dropped here, and a second press is refused by the domain (one decision
// per approver, compare-and-swap on the state).
func (b *Bot) blockActions(ctx context.Context, ic slack.InteractionCallback, d *delivery) {
	for _, a := range ic.ActionCallback.BlockActions {
		c := click{requestID: a.Value, user: ic.User.ID, channel: ic.Container.ChannelID, ts: ic.Container.MessageTs,
			trigger: ic.TriggerID, received: time.Now()}
		if c.channel == "" {
			c.channel = ic.Channel.ID
		}
		var fn func(ctx context.Context)
		urgent := false
		switch a.ActionID {
		case ActionApprove:
			fn = func(ctx context.Context) { b.approve(ctx, c) }
		case ActionDeny:
			urgent = true // may open a modal: the trigger_id lives 3 seconds
			fn = func(ctx context.Context) { b.deny(ctx, c) }
		case ActionManualDone, ActionManualFailed:
			done := a.ActionID == ActionManualDone
			fn = func(ctx context.Context) { b.markManual(ctx, c, done) }
		default:
			continue
		}
		key := "click:" + c.user + ":" + a.ActionID + ":" + c.requestID + ":" + a.ActionTs
		if !b.seen.first(key) {
			b.log.InfoContext(ctx, "redelivered click dropped", "request_id", c.requestID, "slack_user", c.user, "retry", d.retry)
			continue
		}
		if !b.enqueue(a.ActionID, urgent, fn) {
			b.seen.forget(key)
		}
	}
}

func (b *Bot) approve(ctx context.Context, c click) {
	p, err := b.person(ctx, c.user)
	if err == nil {
		_, err = b.svc.Approve(ctx, c.requestID, p)
	}
	if err != nil {
		b.replyText(ctx, "", c.channel, c.user, b.explain(ctx, err, c.requestID))
	}
}

// deny opens the deny modal for the optional reason, after checking that
// the clicker may deny at all: someone who may not gets the explanation at
// once (and the service audits the refusal), not a form that fails later.
func (b *Bot) deny(ctx context.Context, c click) {
	ctx, cancel := context.WithDeadline(ctx, c.received.Add(triggerLife))
	defer cancel()
	p, err := b.person(ctx, c.user)
	var r actions.Request
	if err == nil {
		r, err = b.svc.Get(ctx, c.requestID)
	}
	if err == nil {
		if why := b.svc.MayDecide(r, p); why != nil && !errors.Is(why, actions.ErrDuplicate) {
			// The service's own answer: it audits a refusal and expires a
			// request past its deadline.
			_, err = b.svc.Deny(context.WithoutCancel(ctx), c.requestID, p, "")
			if err == nil {
				return // allowed after all (e.g. a role just granted): denied, without a reason
			}
		}
	}
	if err == nil {
		err = b.call(ctx, "views.open", func(ctx context.Context) error {
			_, err := b.api.OpenViewContext(ctx, c.trigger, denyModal(r, c.channel))
			return err
		})
		if err != nil && (slackErr(err, "expired_trigger_id") || ctx.Err() != nil) {
			b.log.WarnContext(ctx, "deny form not opened in time", "request_id", c.requestID, "error", err)
			b.replyText(context.WithoutCancel(ctx), "", c.channel, c.user,
				"Slack allows 3 seconds to open the deny form and that time ran out. Please click Deny again.")
			return
		}
	}
	if err != nil {
		b.replyText(context.WithoutCancel(ctx), "", c.channel, c.user, b.explain(ctx, err, c.requestID))
	}
}

// markManual records a tracked manual step as done or failed and redraws
// the message with the buttons.
func (b *Bot) markManual(ctx context.Context, c click, done bool) {
	p, err := b.person(ctx, c.user)
	var r actions.Request
	if err == nil {
		r, err = b.svc.MarkManual(ctx, c.requestID, p, done, "")
	}
	if err != nil {
		b.replyText(ctx, "", c.channel, c.user, b.explain(ctx, err, c.requestID))
		return
	}
	if c.channel != "" && c.ts != "" {
		steps := b.svc.Directory().ManualSteps(r.Action)
		if err := b.update(ctx, c.channel, c.ts, fallbackText(r), manualBlocks(r, steps)); err != nil {
			b.log.WarnContext(ctx, "manual step message not redrawn", "request_id", r.ID, "error", err)
		}
	}
}
