package bot

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
)

// Submitting the request modal, and the 3-second rule.
//
// Slack shows a submission's problems under the inputs only when they come
// back in the HTTP response (response_action: errors), and that response
// must leave within 3 seconds. Checking a submission takes Slack look-ups
// (users.info for the requester and every target: bots, deactivated users,
// missing emails) and directory look-ups (Service.Submit resolves every
// target and its admin roles), which are usually quick but have no bound.
//
// So the check runs as one job in the worker pool while the handler waits
// for it up to SubmitBudget (2s by default):
//   - finished in time: the answer is errors on the offending blocks, or the
//     "submitted" view (response_action: update);
//   - not finished: the answer is a "Checking…" view (response_action:
//     update) and the job goes on. When it ends it puts up the result with
//     views.update on the same view ID: the "submitted" view, or the form
//     again, filled in as submitted, with the problems listed at the top. It
//     waits until the "Checking…" answer has been written (plus a short
//     pause) so that Slack applies the two in order. If the person closed the
//     modal meanwhile, views.update fails and the outcome goes to them as a
//     direct message instead.
//
// Redelivery: the view ID is the domain's SubmissionKey, so a submission
// stored once returns the stored request (ErrDuplicate) whichever replica
// sees it again, and the answer is the same "submitted" view. Within one
// process, a redelivery of the same view state (view ID and hash) joins the
// job already under way instead of starting another.

// submitResult is the outcome of checking a submission.
type submitResult struct {
	// resp is the answer when it is ready within the budget.
	resp *slack.ViewSubmissionResponse
	// late replaces the "Checking…" view when the answer came too late.
	late slack.ModalViewRequest
	// note goes to the submitter as a DM when late cannot be shown (the
	// modal was closed); empty when there is nothing they would miss.
	note string
}

// runFlight runs work for a view submission once per view state and answers
// within the budget: with work's answer, or with waiting and a views.update
// later.
func (b *Bot) runFlight(ctx context.Context, ic slack.InteractionCallback, d *delivery, waiting slack.ModalViewRequest,
	work func(ctx context.Context) submitResult) any {
	start := time.Now()
	key := "view:" + ic.View.ID + ":" + ic.View.Hash
	f, created := b.flights.get(key)
	if created {
		viewID, user := ic.View.ID, ic.User.ID
		ok := b.enqueue("view submission", true, func(ctx context.Context) {
			res := work(ctx)
			f.mu.Lock()
			f.resp, f.finished = res.resp, true
			late, acked := f.answeredLate, f.acked
			f.mu.Unlock()
			close(f.done)
			if late {
				b.showLate(ctx, viewID, user, acked, res)
			}
		})
		if !ok {
			b.flights.drop(key)
			return slack.NewErrorsViewSubmissionResponse(map[string]string{firstInput(ic.View): busyText})
		}
	} else {
		b.log.InfoContext(ctx, "view submission redelivered", "view_id", ic.View.ID, "retry", d.retry)
	}
	t := time.NewTimer(max(b.cfg.SubmitBudget-time.Since(start), 0))
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		return f.resp
	}
	f.answeredLate, f.acked = true, d.acked
	return slack.NewUpdateViewSubmissionResponse(&waiting)
}

// showLate puts up a result that missed the budget, once Slack has had the
// "Checking…" answer.
func (b *Bot) showLate(ctx context.Context, viewID, user string, acked <-chan struct{}, res submitResult) {
	select {
	case <-acked:
	case <-ctx.Done():
	}
	_ = actions.SleepContext(ctx, b.lateUpdateDelay)
	err := b.call(ctx, "views.update", func(ctx context.Context) error {
		_, err := b.api.UpdateViewContext(ctx, res.late, "", "", viewID)
		return err
	})
	if err == nil {
		return
	}
	b.log.WarnContext(ctx, "late result not shown in the modal", "view_id", viewID, "error", err)
	if res.note != "" {
		if _, _, err := b.dm(ctx, user, clip(res.note, maxFallbackText), []slack.Block{section(res.note)}); err != nil {
			b.log.ErrorContext(ctx, "late result not sent", "slack_user", user, "error", err)
		}
	}
}

// firstInput is the block ID of a view's first input block, where an error
// about the whole submission is shown.
func firstInput(v slack.View) string {
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok {
			return in.BlockID
		}
	}
	return BlockTargets
}

// submitRequest handles the request modal's submission.
func (b *Bot) submitRequest(ctx context.Context, ic slack.InteractionCallback, d *delivery) any {
	return b.runFlight(ctx, ic, d, checkingView(), func(ctx context.Context) submitResult {
		return b.checkRequest(ctx, ic)
	})
}

// submission is what the request modal held when submitted.
type submission struct {
	requester actions.Person
	targets   []string
	action    string
	reason    string
	ticket    string
	names     map[string]string // Slack ID -> display name, for messages
}

func readSubmission(ic slack.InteractionCallback) submission {
	var s submission
	if ic.View.State == nil {
		return s
	}
	v := ic.View.State.Values
	s.targets = v[BlockTargets][BlockTargets].SelectedUsers
	s.action = v[BlockAction][BlockAction].SelectedOption.Value
	s.reason = v[BlockReason][BlockReason].Value
	s.ticket = v[BlockTicket][BlockTicket].Value
	return s
}

// checkRequest checks a submission in Slack, then hands it to the service.
func (b *Bot) checkRequest(ctx context.Context, ic slack.InteractionCallback) submitResult {
	s := readSubmission(ic)
	var err error
	if s.requester, err = b.person(ctx, ic.User.ID); err != nil {
		return b.formResult(ctx, s, b.problem(ctx, err))
	}
	targets, slackProblems, err := b.lookUpTargets(ctx, &s)
	if err != nil {
		return b.formResult(ctx, s, b.problem(ctx, err))
	}
	d := actions.Draft{
		Requester: s.requester, Action: actions.Action(strings.TrimSpace(s.action)), Targets: targets,
		Reason: s.reason, Ticket: s.ticket, SubmissionKey: "slack-view:" + ic.View.ID,
	}
	if slackProblems.Err() != nil && d.Validate(b.svc.Policy()) == nil {
		// The draft is fine but some targets are not: submitting would
		// store it without them.
		return b.formResult(ctx, s, slackProblems)
	}
	// Submit validates again (and audits a requester the policy refuses)
	// before it resolves anything in the directory.
	r, err := b.svc.Submit(ctx, d)
	var v *actions.ValidationError
	switch {
	case err == nil:
		b.log.InfoContext(ctx, "request submitted", "request_id", r.ID, "slack_user", ic.User.ID)
		b.confirm(r)
		return b.submitted(r)
	case errors.Is(err, actions.ErrDuplicate):
		b.log.InfoContext(ctx, "submission already stored", "request_id", r.ID, "view_id", ic.View.ID)
		return b.submitted(r)
	case errors.As(err, &v):
		all := &actions.ValidationError{Problems: append(slices.Clone(slackProblems.Problems), v.Problems...)}
		return b.formResult(ctx, s, all)
	}
	return b.formResult(ctx, s, b.problem(ctx, err))
}

// problem turns an unexpected error into a validation problem at the top
// of the form, so that the person can submit again without retyping.
func (b *Bot) problem(ctx context.Context, err error) *actions.ValidationError {
	v := &actions.ValidationError{}
	v.Add(actions.FieldTargets, "%s", b.explain(ctx, err, ""))
	return v
}

// lookUpTargets fetches every target's Slack profile (a few at a time) and
// returns them as people, with what Slack alone rules out: bots, deactivated
// users, users without an email.
func (b *Bot) lookUpTargets(ctx context.Context, s *submission) ([]actions.Person, *actions.ValidationError, error) {
	found := make([]*slack.User, len(s.targets))
	errs := make([]error, len(s.targets))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range s.targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			found[i], errs[i] = b.user(ctx, id)
		}()
	}
	wg.Wait()
	s.names = map[string]string{}
	problems := &actions.ValidationError{}
	people := make([]actions.Person, 0, len(s.targets))
	for i, id := range s.targets {
		u := found[i]
		switch {
		case errs[i] != nil && slackErr(errs[i], "user_not_found"):
			problems.Add(actions.FieldTargets, "%s is not a user of this Slack workspace", id)
			continue
		case errs[i] != nil:
			return nil, nil, errs[i]
		}
		s.names[id] = displayName(u)
		email := strings.TrimSpace(u.Profile.Email)
		switch {
		case u.IsBot || u.ID == "USLACKBOT":
			problems.Add(actions.FieldTargets, "<@%s> is a bot or app, not a person", id)
		case u.Deleted:
			problems.Add(actions.FieldTargets, "<@%s> is deactivated in Slack", id)
		case email == "":
			problems.Add(actions.FieldTargets, "<@%s> has no email on their Slack profile, so the directory user cannot be found", id)
		}
		people = append(people, actions.Person{SlackID: id, Email: email})
	}
	return people, problems, nil
}

func displayName(u *slack.User) string {
	for _, n := range []string{u.Profile.DisplayName, u.RealName, u.Name} {
		if n = strings.TrimSpace(n); n != "" {
			return n
		}
	}
	return u.ID
}

// submitted is the result for a stored request.
func (b *Bot) submitted(r actions.Request) submitResult {
	v := submittedView(r, b.cfg.ApprovalChannel)
	return submitResult{resp: slack.NewUpdateViewSubmissionResponse(&v), late: v}
}

// formResult is the result for a submission with problems: errors on the
// blocks in time, or the form again with the problems listed when late.
func (b *Bot) formResult(ctx context.Context, s submission, v *actions.ValidationError) submitResult {
	errs := fieldErrors(v, s.names)
	list := make([]string, len(v.Problems))
	for i, p := range v.Problems {
		list[i] = sentence(readable(p.Message, s.names))
	}
	note := "Your request was not submitted:\n• " + strings.Join(list, "\n• ")
	res := submitResult{resp: slack.NewErrorsViewSubmissionResponse(errs), note: note}
	offered := b.svc.Requestable(s.requester)
	if len(offered) == 0 {
		res.late = failedView(esc(strings.Join(list, " ")))
		return res
	}
	res.late = requestModal(requestForm{
		Actions: offered, Action: actions.Action(s.action), Targets: s.targets, Reason: s.reason, Ticket: s.ticket,
		MaxTargets: b.svc.Policy().MaxTargets, Channel: b.cfg.ApprovalChannel, Problems: list,
	})
	return res
}

// confirm tells the requester privately that their request is stored, once.
func (b *Bot) confirm(r actions.Request) {
	if !b.seen.first("confirm:" + r.ID) {
		return
	}
	b.mustEnqueue("confirmation", func(ctx context.Context) {
		if _, _, err := b.dm(ctx, r.Requester.SlackID, "Your request "+r.ID+" is waiting for approval.",
			confirmationBlocks(r, b.cfg.ApprovalChannel)); err != nil {
			b.log.ErrorContext(ctx, "confirmation not sent", "request_id", r.ID, "error", err)
		}
	}, nil)
}

// submitDeny handles the deny modal: the denial with its optional reason.
func (b *Bot) submitDeny(ctx context.Context, ic slack.InteractionCallback, d *delivery) any {
	var meta denyMeta
	if err := json.Unmarshal([]byte(ic.View.PrivateMetadata), &meta); err != nil || meta.RequestID == "" {
		b.log.WarnContext(ctx, "deny modal without a request ID", "view_id", ic.View.ID)
		return slack.NewClearViewSubmissionResponse()
	}
	reason := ""
	if ic.View.State != nil {
		reason = ic.View.State.Values[BlockDenyReason][BlockDenyReason].Value
	}
	return b.runFlight(ctx, ic, d, infoView(":hourglass_flowing_sand: Denying `"+meta.RequestID+"`…"), func(ctx context.Context) submitResult {
		p, err := b.person(ctx, ic.User.ID)
		var r actions.Request
		if err == nil {
			r, err = b.svc.Deny(ctx, meta.RequestID, p, reason)
		}
		if err != nil {
			text := b.explain(ctx, err, meta.RequestID)
			return submitResult{
				resp: slack.NewErrorsViewSubmissionResponse(map[string]string{BlockDenyReason: clip(readable(text, nil), maxFieldErrors)}),
				late: infoView(":x: " + text),
			}
		}
		b.log.InfoContext(ctx, "request denied", "request_id", r.ID, "slack_user", ic.User.ID)
		return submitResult{resp: slack.NewClearViewSubmissionResponse(), late: infoView(":no_entry: Denied `" + r.ID + "`.")}
	})
}
