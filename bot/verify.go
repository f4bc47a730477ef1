package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// The bot's part in caller verification (README, "Caller verification"):
// the requester's verify_* buttons start a method, the person asked answers
// with verify_yes or verify_no, and the service finds verifiers' Slack
// accounts, asks them and raises alerts through the Bot.

var _ actions.VerificationNotifier = (*Bot)(nil)

// Account finds the active Slack account of the directory user with email
// (users.lookupByEmail, from the directory's email, never from what a
// requester typed). An unknown or deactivated account is an error wrapping
// actions.ErrNoAccount.
func (b *Bot) Account(ctx context.Context, email string) (actions.Person, error) {
	u, err := b.notices.slack.lookupByEmail(ctx, email)
	if err != nil {
		return actions.Person{}, err
	}
	return actions.Person{SlackID: u.ID, Email: strings.TrimSpace(email)}, nil
}

// AskToVerify sends verifier a direct message asking them to confirm the
// caller of r for the targets listed, with verify_yes and verify_no.
func (b *Bot) AskToVerify(ctx context.Context, r actions.Request, m actions.VerifyMethod, verifier actions.Person, targets []int) error {
	if verifier.SlackID == "" {
		return fmt.Errorf("ask to verify %s: the verifier has no Slack ID", r.ID)
	}
	_, _, err := b.notices.slack.dm(ctx, verifier.SlackID, blocks.VerifyQuestionText(r, m), blocks.VerifyQuestion(r, m, targets))
	if err != nil {
		return fmt.Errorf("ask %s to verify %s: %w", verifier.SlackID, r.ID, err)
	}
	b.log.InfoContext(ctx, "asked to verify the caller", "request_id", r.ID, "method", m, "verifier", verifier.SlackID)
	return nil
}

// startVerify starts the method of a verify_* button for the requester and
// tells them privately what it did: who was asked, or the number to read
// to the caller.
func (dc *decisions) startVerify(ctx context.Context, c click, m actions.VerifyMethod) {
	p, err := dc.slack.person(ctx, c.user)
	var r actions.Request
	var notes []actions.VerifyNote
	if err == nil {
		r, notes, err = dc.svc.StartVerification(ctx, c.requestID, p, m)
	}
	if err != nil {
		dc.slack.replyText(ctx, "", c.channel, c.user, dc.explain(ctx, err, c.requestID))
		return
	}
	content := blocks.VerifyStarted(r, m, notes)
	dc.slack.reply(ctx, "", c.channel, c.user, "Caller verification for "+r.ID, content)
}

// answerVerify records a verify_yes or verify_no and replaces the question
// with the answer.
func (dc *decisions) answerVerify(ctx context.Context, c click, yes bool) {
	p, err := dc.slack.person(ctx, c.user)
	var r actions.Request
	if err == nil {
		r, err = dc.svc.AnswerVerification(ctx, c.requestID, p, yes)
	}
	if err != nil {
		dc.slack.replyText(ctx, "", c.channel, c.user, dc.explain(ctx, err, c.requestID))
		return
	}
	if c.channel != "" && c.ts != "" {
		if err := dc.slack.update(ctx, c.channel, c.ts, "Answer recorded for "+r.ID, blocks.VerifyAnswered(r, yes)); err != nil {
			dc.log.WarnContext(ctx, "verification question not redrawn", "request_id", r.ID, "error", err)
		}
	}
}
