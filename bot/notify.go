package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// notifications tells people what happened: the approval message in the
// channel (kept in step by the renderer, render.go) and direct messages to
// requesters and approvers.
type notifications struct {
	*core
	recent   *memo // confirmations and outcomes already sent
	messages *renderer
	security string // the security channel
}

// securityAlert posts text about r in the security channel.
func (n *notifications) securityAlert(r actions.Request, text string) {
	n.jobs.mustEnqueue("security alert", func(ctx context.Context) {
		if _, err := n.slack.post(ctx, n.security, text, []slack.Block{blocks.Section(":rotating_light: " + blocks.Esc(text))}); err != nil {
			n.log.ErrorContext(ctx, "security alert not posted", "request_id", r.ID, "error", err)
		}
	}, nil)
}

// changed redraws r's approval message and, when r has ended, tells the
// requester.
func (n *notifications) changed(_ context.Context, r actions.Request) {
	// A containment request's requester is the user who reported: the
	// report's own notice tells them, once every step has ended.
	if r.State.Terminal() && r.State != actions.StateCancelled && r.Containment == nil {
		n.tellOutcome(r)
	}
	n.messages.changed(r)
}

// deliverSecret sends the requester t's secret in a direct message; see
// Bot.DeliverSecret.
func (n *notifications) deliverSecret(ctx context.Context, r actions.Request, t actions.Target, s *actions.Secret) error {
	if s == nil {
		return errors.New("deliver secret: no secret")
	}
	if r.Requester.SlackID == "" {
		return errors.New("deliver secret: the requester has no Slack ID")
	}
	_, _, err := n.slack.dm(ctx, r.Requester.SlackID, blocks.SecretText(r, s.Kind), blocks.SecretBlocks(r, t, s.Kind, s.Reveal(), s.Note))
	if err != nil {
		return fmt.Errorf("deliver %s to the requester: %w", s.Kind, err)
	}
	n.log.InfoContext(ctx, "secret delivered", "request_id", r.ID, "kind", s.Kind, "directory_id", t.DirectoryID)
	return nil
}

// manualSteps sends every approver of r the steps; see Bot.ManualSteps.
func (n *notifications) manualSteps(ctx context.Context, r actions.Request, steps string) error {
	var errs []error
	for _, a := range r.Approvals {
		if _, _, err := n.slack.dm(ctx, a.By.SlackID, "Manual step for request "+r.ID, blocks.ManualBlocks(r, steps)); err != nil {
			errs = append(errs, fmt.Errorf("send manual steps to %s: %w", a.By.SlackID, err))
		}
	}
	return errors.Join(errs...)
}

// tellOutcome tells the requester privately how their request ended, once.
func (n *notifications) tellOutcome(r actions.Request) {
	if r.Requester.SlackID == "" || !n.recent.first("outcome:"+r.ID) {
		return
	}
	n.jobs.mustEnqueue("outcome", func(ctx context.Context) {
		if _, _, err := n.slack.dm(ctx, r.Requester.SlackID, blocks.OutcomeText(r), blocks.OutcomeBlocks(r)); err != nil {
			n.log.ErrorContext(ctx, "outcome not sent", "request_id", r.ID, "error", err)
		}
	}, nil)
}

// confirm tells the requester privately that their request is stored, once.
func (n *notifications) confirm(r actions.Request) {
	if !n.recent.first("confirm:" + r.ID) {
		return
	}
	n.jobs.mustEnqueue("confirmation", func(ctx context.Context) {
		content := append(blocks.ConfirmationBlocks(r, n.channel), blocks.VerifyButtons(r, n.svc.VerifyMethods(r))...)
		if _, _, err := n.slack.dm(ctx, r.Requester.SlackID, "Your request "+r.ID+" is waiting for approval.", content); err != nil {
			n.log.ErrorContext(ctx, "confirmation not sent", "request_id", r.ID, "error", err)
		}
	}, nil)
}
