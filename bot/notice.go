package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// Notices to affected users, their managers and the security channel
// (README, "Notice, "This wasn't me" and containment"), and the "This
// wasn't me" button. The courier (actions.Courier) decides when a notice is
// sent and records it; the bot only finds people and posts.

var _ actions.Messenger = (*Bot)(nil)

// FindPerson returns the Slack account with this directory email
// (users.lookupByEmail). When there is none, or it is deactivated, the
// error wraps actions.ErrUndeliverable and says which.
func (b *Bot) FindPerson(ctx context.Context, email string) (actions.Person, error) {
	u, err := b.notices.slack.lookupByEmail(ctx, email)
	switch {
	case errors.Is(err, errDeactivated):
		return actions.Person{}, fmt.Errorf("the Slack account of %s is deactivated: %w", email, actions.ErrUndeliverable)
	case errors.Is(err, errNoSlackAccount):
		return actions.Person{}, fmt.Errorf("no Slack account for %s: %w", email, actions.ErrUndeliverable)
	case err != nil:
		return actions.Person{}, err
	}
	return actions.Person{SlackID: u.ID, Email: u.Profile.Email}, nil
}

// SendNotice posts notice k of r (see actions.Messenger) and returns
// "channel/ts". Slack refusing or throttling the post wraps
// actions.ErrNotSent; a recipient Slack cannot reach wraps
// actions.ErrUndeliverable; any other error (a timeout) may have posted it.
func (b *Bot) SendNotice(ctx context.Context, r actions.Request, k int) (string, error) {
	return b.notices.sendNotice(ctx, r, k)
}

func (n *notifications) sendNotice(ctx context.Context, r actions.Request, k int) (string, error) {
	if k < 0 || k >= len(r.Notices) {
		return "", fmt.Errorf("request %s has no notice %d: %w", r.ID, k, actions.ErrUndeliverable)
	}
	no := r.Notices[k]
	i := no.Target
	if i < 0 || i >= len(r.Targets) {
		return "", fmt.Errorf("notice %d of %s names no target: %w", k, r.ID, actions.ErrUndeliverable)
	}
	switch no.To {
	case actions.NoticeTarget:
		containment, ttl := n.svc.NotMeTerms()
		until := r.UpdatedAt.Add(ttl)
		if res := r.Targets[i].Result; res != nil {
			until = res.At.Add(ttl)
		}
		return n.postDM(ctx, no.Recipient, blocks.NoticeText(r), blocks.NoticeBlocks(r, i, containment, until))
	case actions.NoticeManager:
		return n.postDM(ctx, no.Recipient, blocks.ManagerNoticeText(r, i), blocks.ManagerNoticeBlocks(r, i))
	case actions.NoticeSecurity, actions.NoticeReporter:
		steps, err := n.containment(ctx, r, i)
		if err != nil {
			return "", fmt.Errorf("%w: %w", err, actions.ErrNotSent)
		}
		if no.To == actions.NoticeReporter {
			return n.postDM(ctx, no.Recipient, blocks.ReporterText(r), blocks.ReporterBlocks(r, steps))
		}
		return n.postTo(ctx, n.security, blocks.AlertText(r, i), blocks.AlertBlocks(r, i, steps))
	}
	return "", fmt.Errorf("notice %d of %s is for %q, which the bot does not know: %w", k, r.ID, no.To, actions.ErrUndeliverable)
}

// containment returns the containment requests target i of r started.
func (n *notifications) containment(ctx context.Context, r actions.Request, i int) ([]actions.Request, error) {
	all, err := n.svc.ContainmentOf(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	return reportedBy(all, r.Targets[i].Person()), nil
}

// reportedBy returns the containment requests of all that p's report started.
func reportedBy(all []actions.Request, p actions.Person) []actions.Request {
	var out []actions.Request
	for _, c := range all {
		if c.Requester.Is(p) {
			out = append(out, c)
		}
	}
	return out
}

// undeliverableCodes are Slack's answers that mean this person or channel
// cannot be reached at all.
var undeliverableCodes = []string{"user_not_found", "account_inactive", "user_disabled", "cannot_dm_bot",
	"channel_not_found", "is_archived", "not_in_channel", "restricted_action"}

// classify marks what a failed Slack call means for a notice: Slack's own
// refusal (an error code) or throttling delivered nothing; a code in
// undeliverableCodes never will.
func classify(err error) error {
	var se slack.SlackErrorResponse
	var rl *slack.RateLimitedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		for _, c := range undeliverableCodes {
			if se.Err == c {
				return fmt.Errorf("%w: %w", err, actions.ErrUndeliverable)
			}
		}
		return fmt.Errorf("%w: %w", err, actions.ErrNotSent)
	case errors.As(err, &rl):
		return fmt.Errorf("%w: %w", err, actions.ErrNotSent)
	}
	return err
}

// postDM opens the direct message with user and posts; a failure to open
// it posted nothing.
func (n *notifications) postDM(ctx context.Context, user, text string, content []slack.Block) (string, error) {
	if user == "" {
		return "", fmt.Errorf("no Slack user to send it to: %w", actions.ErrUndeliverable)
	}
	var ch *slack.Channel
	err := n.slack.call(ctx, "conversations.open", func(ctx context.Context) (err error) {
		ch, _, _, err = n.slack.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
		return err
	})
	if err != nil {
		if c := classify(err); errors.Is(c, actions.ErrUndeliverable) {
			return "", c
		}
		return "", fmt.Errorf("%w: %w", err, actions.ErrNotSent)
	}
	return n.postTo(ctx, ch.ID, text, content)
}

func (n *notifications) postTo(ctx context.Context, channel, text string, content []slack.Block) (string, error) {
	ts, err := n.slack.post(ctx, channel, text, content)
	if err != nil {
		return "", classify(err)
	}
	return channel + "/" + ts, nil
}

// notMe handles "This wasn't me": the service decides whether it counts;
// the notice then shows that the report was taken, in place of the button.
func (dc *decisions) notMe(ctx context.Context, c click) {
	p, err := dc.slack.person(ctx, c.user)
	var rep actions.Report
	if err == nil {
		rep, err = dc.svc.ReportNotMe(ctx, c.requestID, p)
	}
	if errors.Is(err, actions.ErrDuplicate) {
		dc.slack.replyText(ctx, "", c.channel, c.user, blocks.ReportedAgainText(c.requestID, dc.containedFor(ctx, c.requestID, p)))
		return
	}
	if err != nil {
		dc.slack.replyText(ctx, "", c.channel, c.user, dc.explain(ctx, err, c.requestID))
		return
	}
	i := -1
	for k, t := range rep.Reported.Targets {
		if t.Person().Is(p) {
			i = k
			break
		}
	}
	if c.channel == "" || c.ts == "" || i < 0 {
		return
	}
	r := rep.Reported
	if err := dc.slack.update(ctx, c.channel, c.ts, blocks.NoticeText(r), blocks.ReportedBlocks(r, i, rep.Containment, time.Now())); err != nil {
		dc.log.WarnContext(ctx, "notice not redrawn after the report", "request_id", r.ID, "error", err)
	}
}

// containedFor returns the containment requests p's report on request id
// started; none when they cannot be read (the answer then claims nothing).
func (dc *decisions) containedFor(ctx context.Context, id string, p actions.Person) []actions.Request {
	all, err := dc.svc.ContainmentOf(ctx, actions.NormalizeRequestID(id))
	if err != nil {
		dc.log.WarnContext(ctx, "containment not read for a repeated report", "request_id", id, "error", err)
		return nil
	}
	return reportedBy(all, p)
}
