package bot

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// The request modal's submission: intake checks it in Slack and hands it to
// the service, answering within Slack's 3 seconds through forms (forms.go).

// submitRequest handles the request modal's submission.
func (in *intake) submitRequest(ctx context.Context, ic slack.InteractionCallback, d *delivery) any {
	return in.forms.run(ctx, ic, d, blocks.CheckingView(), func(ctx context.Context) submitResult {
		return in.checkRequest(ctx, ic)
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
	s.targets = v[blocks.BlockTargets][blocks.BlockTargets].SelectedUsers
	s.action = v[blocks.BlockAction][blocks.BlockAction].SelectedOption.Value
	s.reason = v[blocks.BlockReason][blocks.BlockReason].Value
	s.ticket = v[blocks.BlockTicket][blocks.BlockTicket].Value
	return s
}

// checkRequest checks a submission in Slack, then hands it to the service.
func (in *intake) checkRequest(ctx context.Context, ic slack.InteractionCallback) submitResult {
	s := readSubmission(ic)
	var err error
	if s.requester, err = in.slack.person(ctx, ic.User.ID); err != nil {
		return in.formResult(ctx, s, in.problem(ctx, err))
	}
	targets, slackProblems, err := in.lookUpTargets(ctx, &s)
	if err != nil {
		return in.formResult(ctx, s, in.problem(ctx, err))
	}
	d := actions.Draft{
		Requester: s.requester, Action: actions.Action(strings.TrimSpace(s.action)), Targets: targets,
		Reason: s.reason, Ticket: s.ticket, SubmissionKey: "slack-view:" + ic.View.ID,
	}
	if slackProblems.Err() != nil && in.svc.CheckDraft(d) == nil {
		// The draft is fine but some targets are not: submitting would
		// store it without them.
		return in.formResult(ctx, s, slackProblems)
	}
	// Submit validates again (and audits a requester the policy refuses)
	// before it resolves anything in the directory.
	r, err := in.svc.Submit(ctx, d)
	var v *actions.ValidationError
	switch {
	case err == nil:
		in.log.InfoContext(ctx, "request submitted", "request_id", r.ID, "slack_user", ic.User.ID)
		in.notices.confirm(r)
		return in.submitted(r)
	case errors.Is(err, actions.ErrDuplicate):
		in.log.InfoContext(ctx, "submission already stored", "request_id", r.ID, "view_id", ic.View.ID)
		return in.submitted(r)
	case errors.As(err, &v):
		all := &actions.ValidationError{Problems: append(slices.Clone(slackProblems.Problems), v.Problems...)}
		return in.formResult(ctx, s, all)
	}
	return in.formResult(ctx, s, in.problem(ctx, err))
}

// problem turns an unexpected error into a validation problem at the top
// of the form, so that the person can submit again without retyping.
func (in *intake) problem(ctx context.Context, err error) *actions.ValidationError {
	v := &actions.ValidationError{}
	v.Add(actions.FieldTargets, "%s", in.explain(ctx, err, ""))
	return v
}

// lookUpTargets fetches every target's Slack profile (a few at a time) and
// returns them as people, with what Slack alone rules out: bots, deactivated
// users, users without an email.
func (in *intake) lookUpTargets(ctx context.Context, s *submission) ([]actions.Person, *actions.ValidationError, error) {
	found := make([]*slack.User, len(s.targets))
	errs := make([]error, len(s.targets))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range s.targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			found[i], errs[i] = in.slack.user(ctx, id)
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
func (in *intake) submitted(r actions.Request) submitResult {
	v := blocks.SubmittedView(r, in.channel)
	return submitResult{resp: slack.NewUpdateViewSubmissionResponse(&v), late: v}
}

// formResult is the result for a submission with problems: errors on the
// blocks in time, or the form again with the problems listed when late.
func (in *intake) formResult(ctx context.Context, s submission, v *actions.ValidationError) submitResult {
	errs := blocks.FieldErrors(v, s.names)
	list := make([]string, len(v.Problems))
	for i, p := range v.Problems {
		list[i] = blocks.Sentence(blocks.Readable(p.Message, s.names))
	}
	note := "Your request was not submitted:\n• " + strings.Join(list, "\n• ")
	res := submitResult{resp: slack.NewErrorsViewSubmissionResponse(errs), note: note}
	offered := in.svc.Requestable(s.requester)
	if len(offered) == 0 {
		res.late = blocks.FailedView(blocks.Esc(strings.Join(list, " ")))
		return res
	}
	res.late = blocks.RequestModal(blocks.RequestForm{
		Actions: offered, Action: actions.Action(s.action), Targets: s.targets, Reason: s.reason, Ticket: s.ticket,
		MaxTargets: in.svc.MaxTargets(), Channel: in.channel, Problems: list,
	})
	return res
}
