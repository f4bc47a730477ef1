package bot

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/stepup"
)

// decisions handles what approvers press: Approve, Deny (and its modal),
// and a manual step's Done and Failed.
type decisions struct {
	*core
	recent    *memo
	forms     *forms
	publicURL string // MFADESK_PUBLIC_URL, for step-up links
}

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
func (dc *decisions) blockActions(ctx context.Context, ic slack.InteractionCallback, d *delivery) {
	for _, a := range ic.ActionCallback.BlockActions {
		c := click{requestID: a.Value, user: ic.User.ID, channel: ic.Container.ChannelID, ts: ic.Container.MessageTs,
			trigger: ic.TriggerID, received: time.Now()}
		if c.channel == "" {
			c.channel = ic.Channel.ID
		}
		var fn func(ctx context.Context)
		urgent := false
		switch a.ActionID {
		case blocks.ActionApprove:
			fn = func(ctx context.Context) { dc.approve(ctx, c) }
		case blocks.ActionDeny:
			urgent = true // may open a modal: the trigger_id lives 3 seconds
			fn = func(ctx context.Context) { dc.deny(ctx, c) }
		case blocks.ActionNotMe:
			fn = func(ctx context.Context) { dc.notMe(ctx, c) }
		case blocks.ActionManualDone, blocks.ActionManualFailed:
			done := a.ActionID == blocks.ActionManualDone
			fn = func(ctx context.Context) { dc.markManual(ctx, c, done) }
		case blocks.ActionVerifyTarget, blocks.ActionVerifyManager, blocks.ActionVerifyPush:
			m, _ := blocks.VerifyMethodOf(a.ActionID)
			fn = func(ctx context.Context) { dc.startVerify(ctx, c, m) }
		case blocks.ActionVerifyYes, blocks.ActionVerifyNo:
			yes := a.ActionID == blocks.ActionVerifyYes
			fn = func(ctx context.Context) { dc.answerVerify(ctx, c, yes) }
		default:
			continue
		}
		key := "click:" + c.user + ":" + a.ActionID + ":" + c.requestID + ":" + a.ActionTs
		if !dc.recent.first(key) {
			dc.log.InfoContext(ctx, "redelivered click dropped", "request_id", c.requestID, "slack_user", c.user, "retry", d.retry)
			continue
		}
		allowed := dc.budget.allow(c.user)
		if a.ActionID == blocks.ActionNotMe {
			// "This wasn't me" protects an account: never dropped on the
			// floor, whatever the budget; a full queue is waited for, and
			// if it stays full the user is told.
			if !allowed {
				dc.log.WarnContext(ctx, "\"This wasn't me\" taken over the user's budget", "request_id", c.requestID, "slack_user", c.user)
			}
			dc.jobs.mustEnqueue(a.ActionID, fn, func() {
				dc.recent.forget(key)
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobTimeout)
				defer cancel()
				dc.slack.replyText(ctx, ic.ResponseURL, c.channel, c.user, busyText)
			})
			continue
		}
		if !allowed {
			dc.log.WarnContext(ctx, "click refused: over the user's budget", "request_id", c.requestID, "slack_user", c.user)
			dc.recent.forget(key)
			continue
		}
		if !dc.jobs.enqueue(a.ActionID, urgent, fn) {
			dc.recent.forget(key)
		}
	}
}

func (dc *decisions) approve(ctx context.Context, c click) {
	p, err := dc.slack.person(ctx, c.user)
	if err == nil {
		_, err = dc.svc.Approve(ctx, c.requestID, p)
		if errors.Is(err, actions.ErrStepUpRequired) {
			err = dc.stepUp(ctx, c, p)
		}
	}
	if err != nil {
		dc.slack.replyText(ctx, "", c.channel, c.user, dc.explain(ctx, err, c.requestID))
	}
}

// stepUp answers an Approve on a step_up action: the service checks the
// click and issues a single-use link, and the approver gets it privately
// (README, "Approver step-up").
func (dc *decisions) stepUp(ctx context.Context, c click, p actions.Person) error {
	if dc.publicURL == "" {
		return errors.New("step-up: MFADESK_PUBLIC_URL is not set")
	}
	r, token, err := dc.svc.BeginStepUp(ctx, c.requestID, p)
	if err != nil {
		return err
	}
	dc.slack.reply(ctx, "", c.channel, c.user, blocks.StepUpText(r), blocks.StepUpBlocks(r, stepup.LinkURL(dc.publicURL, token)))
	return nil
}

// deny opens the deny modal for the optional reason, after the service has
// authorized the clicker: someone who may not deny gets the explanation at
// once (and the service records the refusal), not a form that fails later.
func (dc *decisions) deny(ctx context.Context, c click) {
	ctx, cancel := context.WithDeadline(ctx, c.received.Add(triggerLife))
	defer cancel()
	p, err := dc.slack.person(ctx, c.user)
	var r actions.Request
	if err == nil {
		r, err = dc.svc.AuthorizeDeny(context.WithoutCancel(ctx), c.requestID, p)
	}
	if err == nil {
		err = dc.slack.openView(ctx, c.trigger, blocks.DenyModal(r))
		if err != nil && (slackErr(err, "expired_trigger_id") || ctx.Err() != nil) {
			dc.log.WarnContext(ctx, "deny form not opened in time", "request_id", c.requestID, "error", err)
			dc.slack.replyText(context.WithoutCancel(ctx), "", c.channel, c.user,
				"Slack allows 3 seconds to open the deny form and that time ran out. Please click Deny again.")
			return
		}
	}
	if err != nil {
		dc.slack.replyText(context.WithoutCancel(ctx), "", c.channel, c.user, dc.explain(ctx, err, c.requestID))
	}
}

// markManual records a tracked manual step as done or failed and redraws
// the message with the buttons.
func (dc *decisions) markManual(ctx context.Context, c click, done bool) {
	p, err := dc.slack.person(ctx, c.user)
	var r actions.Request
	if err == nil {
		r, err = dc.svc.MarkManual(ctx, c.requestID, p, done, "")
	}
	if err != nil {
		dc.slack.replyText(ctx, "", c.channel, c.user, dc.explain(ctx, err, c.requestID))
		return
	}
	if c.channel != "" && c.ts != "" {
		steps := dc.svc.ManualSteps(r.Action)
		if err := dc.slack.update(ctx, c.channel, c.ts, blocks.FallbackText(r), blocks.ManualBlocks(r, steps)); err != nil {
			dc.log.WarnContext(ctx, "manual step message not redrawn", "request_id", r.ID, "error", err)
		}
	}
}

// submitDeny handles the deny modal: the denial with its optional reason.
func (dc *decisions) submitDeny(ctx context.Context, ic slack.InteractionCallback, d *delivery) any {
	var meta blocks.DenyMeta
	if err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &meta); err != nil || meta.RequestID == "" {
		dc.log.WarnContext(ctx, "deny modal without a request ID", "view_id", ic.View.ID)
		return slack.NewClearViewSubmissionResponse()
	}
	reason := ""
	if ic.View.State != nil {
		reason = ic.View.State.Values[blocks.BlockDenyReason][blocks.BlockDenyReason].Value
	}
	waiting := blocks.InfoView(":hourglass_flowing_sand: Denying `" + meta.RequestID + "`…")
	return dc.forms.run(ctx, ic, d, waiting, func(ctx context.Context) submitResult {
		p, err := dc.slack.person(ctx, ic.User.ID)
		var r actions.Request
		if err == nil {
			r, err = dc.svc.Deny(ctx, meta.RequestID, p, reason)
		}
		if err != nil {
			text := dc.explain(ctx, err, meta.RequestID)
			return submitResult{
				resp: slack.NewErrorsViewSubmissionResponse(map[string]string{
					blocks.BlockDenyReason: clip.Runes(blocks.Readable(text, nil), blocks.MaxFieldErrors)}),
				late: blocks.InfoView(":x: " + text),
			}
		}
		dc.log.InfoContext(ctx, "request denied", "request_id", r.ID, "slack_user", ic.User.ID)
		return submitResult{resp: slack.NewClearViewSubmissionResponse(), late: blocks.InfoView(":no_entry: Denied `" + r.ID + "`.")}
	})
}
