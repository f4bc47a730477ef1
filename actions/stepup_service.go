package actions

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// StepUpNotifier is implemented by a Notifier that shows step-up progress:
// the Slack bot. The service finds it on its Notifier.
type StepUpNotifier interface {
	// SigningIn says that by is signing in to approve r: the approval
	// message shows it until the approval is recorded.
	SigningIn(ctx context.Context, r Request, by Person)
	// SecurityAlert raises text about r in the security channel.
	SecurityAlert(ctx context.Context, r Request, text string)
}

// StepUpEnabled reports whether the service can run step-ups: it has a
// StepUpStore.
func (s *Service) StepUpEnabled() bool { return s.stepups != nil }

// NeedsStepUp reports whether approving a needs a step-up sign-in.
func (s *Service) NeedsStepUp(a Action) bool { return s.Policy().StepUp(a) }

// BeginStepUp runs the checks of an Approve click by by on request id (roles,
// not the requester, not a target, not decided, not approved by them
// already) and, when they pass, issues a single-use step-up link token bound
// to the request, by, and the request's action and targets. Nothing is
// approved yet. Errors: a *DecisionError as Approve's (a refusal by the
// policy is audited as `refused`, and so is a directory look-up that
// fails), ErrNotFound, or a store failure.
func (s *Service) BeginStepUp(ctx context.Context, id string, by Person) (Request, string, error) {
	if s.stepups == nil {
		return Request{}, "", errors.New("step-up is not configured: no step-up store")
	}
	id = NormalizeRequestID(id)
	r, err := s.store.Request(ctx, id)
	if err != nil {
		return Request{}, "", err
	}
	if !s.Policy().StepUp(r.Action) {
		return r, "", decisionErr(ErrConflict, "approving %s needs no step-up: click Approve", r.Action)
	}
	// The approver's directory identity: the ID token must name it, and
	// the same-person checks use it. Not in the directory: the verified
	// email is compared instead. A look-up that fails refuses (fails closed).
	by, _, err = s.identify(ctx, by, "approver")
	if err != nil {
		// Approve makes no directory call on a step_up action: the
		// refusal is audited here.
		return r, "", s.uncheckable(ctx, r, by, err)
	}
	now := s.now()
	if err := r.checkApprover(s.Policy(), by, now); err != nil {
		s.refused(ctx, r, by, err)
		return r, "", err
	}
	dirID := by.DirectoryID
	att, token := NewStepUp(r, by, dirID, now)
	if err := s.stepups.CreateStepUp(ctx, att); err != nil {
		return r, "", fmt.Errorf("store step-up: %w", err)
	}
	s.log.InfoContext(ctx, "step-up link issued", "request_id", r.ID, "approver", by.SlackID, "directory_identity", dirID != "")
	if n, ok := s.notify.(StepUpNotifier); ok {
		n.SigningIn(ctx, r, by)
	}
	return r, token, nil
}

// refused records why by may not act on r: a policy refusal (ErrForbidden)
// as a `refused` audit event, a request past its deadline (ErrExpired) by
// expiring it. Other errors leave no trace.
func (s *Service) refused(ctx context.Context, r Request, by Person, err error) {
	switch {
	case errors.Is(err, ErrForbidden):
		ev := r.event(EventRefused, by.SlackID, s.now())
		ev.Detail = err.Error()
		if aerr := s.store.AppendEvents(ctx, ev); aerr != nil {
			s.log.ErrorContext(ctx, "audit refused click", "request_id", r.ID, "error", aerr)
		}
		s.log.WarnContext(ctx, "refused", "request_id", r.ID, "actor", by.SlackID, "reason", err.Error())
	case errors.Is(err, ErrExpired):
		if _, xerr := s.expire(ctx, r.ID); xerr != nil && !errors.Is(xerr, ErrConflict) {
			s.log.ErrorContext(ctx, "expire", "request_id", r.ID, "error", xerr)
		}
	}
}

// StartStepUp takes a step-up link token when its link is opened, binding
// the attempt to the browser whose cookie hashes to browserHash; the token
// works once. It returns the attempt (its ID is the OpenID Connect state)
// or a *StepUpError: an unknown, used or expired link, or a request the
// approver can no longer approve.
func (s *Service) StartStepUp(ctx context.Context, token, browserHash string) (StepUp, error) {
	if s.stepups == nil {
		return StepUp{}, errors.New("step-up is not configured: no step-up store")
	}
	now := s.now()
	att, err := s.stepups.StartStepUp(ctx, HashSecret(token), browserHash, now)
	if err != nil {
		var se *StepUpError
		switch {
		case errors.Is(err, ErrNotFound):
			se = stepUpErr(StepUpBadLink, ErrNotFound, "this sign-in link is not valid")
		case errors.Is(err, ErrConflict):
			se = stepUpErr(StepUpBadLink, ErrConflict, "this sign-in link was used already: a link works once; click Approve again for a new one")
		case errors.Is(err, ErrExpired):
			se = stepUpErr(StepUpBadLink, ErrExpired, "this sign-in link expired (links last %s): click Approve again for a new one", StepUpLinkTTL)
		default:
			return StepUp{}, fmt.Errorf("open step-up link: %w", err)
		}
		s.refuseStepUp(ctx, att, se)
		return att, se
	}
	r, err := s.store.Request(ctx, att.RequestID)
	if err != nil {
		return att, fmt.Errorf("step-up: %w", err)
	}
	if err := r.checkApprover(s.Policy(), att.Approver, now); err != nil {
		s.refused(ctx, r, att.Approver, err)
		return att, &StepUpError{Problem: StepUpDecision, Reason: err.Error(), Err: err}
	}
	return att, nil
}

// CompleteStepUp finishes attempt state (the OpenID Connect state) with the
// verified sign-in in, from the browser whose cookie hashes to browserHash.
// When in proves a fresh MFA sign-in by the approver, the approval is
// recorded like any other (Approve's checks, exactly once, in the audit with
// the evidence) and the request is returned. Otherwise it returns a
// *StepUpError, audits `refused`, and alerts the security channel when
// someone other than the approver signed in. An attempt completes once.
func (s *Service) CompleteStepUp(ctx context.Context, state, browserHash string, in SignIn) (Request, error) {
	att, err := s.finishStepUp(ctx, state, browserHash)
	if err != nil {
		return Request{}, err
	}
	if err := att.Check(in, StepUpRule{MaxAge: s.Policy().StepUpMaxAge, ACR: s.acr}, s.now()); err != nil {
		var se *StepUpError
		errors.As(err, &se)
		s.refuseStepUp(ctx, att, se)
		return Request{}, err
	}
	chk, err := s.approvalChecks(ctx, att.RequestID, att.Approver, false)
	if err != nil {
		var de *DecisionError
		if errors.As(err, &de) {
			return Request{}, &StepUpError{Problem: StepUpDecision, Reason: de.Reason, Err: err}
		}
		return Request{}, err
	}
	att.Approver = chk.by
	r, err := s.transition(ctx, att.RequestID, att.Approver, func(r Request, now time.Time) (Request, []Event, error) {
		pol := s.Policy()
		return chk.apply(r, pol, now, func(r Request) (Request, []Event, error) { return r.ApproveStepUp(pol, att, in, now) })
	})
	if err != nil {
		var de *DecisionError
		if errors.As(err, &de) {
			return r, &StepUpError{Problem: StepUpDecision, Reason: de.Reason, Err: err}
		}
		return r, fmt.Errorf("record step-up approval: %w", err)
	}
	s.afterApproval(ctx, r)
	return r, nil
}

// FailStepUp finishes attempt state without a usable sign-in: the provider
// answered with an error, the code could not be exchanged, or the ID token
// did not verify. It audits `refused` with reason and returns the
// *StepUpError to show; an attempt from another browser or one finished
// already is refused as CompleteStepUp would.
func (s *Service) FailStepUp(ctx context.Context, state, browserHash, reason string) error {
	att, err := s.finishStepUp(ctx, state, browserHash)
	if err != nil {
		return err
	}
	se := stepUpErr(StepUpProvider, ErrForbidden, "the sign-in did not complete: %s", reason)
	s.refuseStepUp(ctx, att, se)
	return se
}

func (s *Service) finishStepUp(ctx context.Context, state, browserHash string) (StepUp, error) {
	if s.stepups == nil {
		return StepUp{}, errors.New("step-up is not configured: no step-up store")
	}
	att, err := s.stepups.FinishStepUp(ctx, state, browserHash, s.now())
	if err == nil {
		return att, nil
	}
	var se *StepUpError
	switch {
	case errors.Is(err, ErrNotFound):
		se = stepUpErr(StepUpBadLink, ErrNotFound, "this sign-in is not known: start again from the link in Slack")
	case errors.Is(err, ErrForbidden):
		se = stepUpErr(StepUpNoCookie, ErrForbidden, "this sign-in was started in another browser: open the link from Slack and sign in in the same browser")
	case errors.Is(err, ErrConflict):
		se = stepUpErr(StepUpBadLink, ErrConflict, "this sign-in was completed already: a sign-in counts once")
	case errors.Is(err, ErrExpired):
		se = stepUpErr(StepUpBadLink, ErrExpired, "this sign-in took longer than %s: click Approve again", StepUpSignInTTL)
	default:
		return StepUp{}, fmt.Errorf("finish step-up: %w", err)
	}
	s.refuseStepUp(ctx, att, se)
	return att, se
}

// refuseStepUp audits a refused step-up of attempt att (when it is known)
// and alerts the security channel when someone else signed in.
func (s *Service) refuseStepUp(ctx context.Context, att StepUp, se *StepUpError) {
	s.log.WarnContext(ctx, "step-up refused", "request_id", att.RequestID, "approver", att.Approver.SlackID, "problem", string(se.Problem), "reason", se.Reason)
	if att.RequestID == "" {
		return
	}
	ev := Event{Time: s.now(), RequestID: att.RequestID, Kind: EventRefused, Actor: att.Approver.SlackID,
		Action: att.Action, Detail: "step-up refused: " + se.Reason}
	if err := s.store.AppendEvents(ctx, ev); err != nil {
		s.log.ErrorContext(ctx, "audit refused step-up", "request_id", att.RequestID, "error", err)
	}
	if se.Problem != StepUpWrongPerson {
		return
	}
	n, ok := s.notify.(StepUpNotifier)
	if !ok {
		return
	}
	r, err := s.store.Request(ctx, att.RequestID)
	if err != nil {
		s.log.ErrorContext(ctx, "load request for alert", "request_id", att.RequestID, "error", err)
		r = Request{ID: att.RequestID, Action: att.Action}
	}
	n.SecurityAlert(ctx, r, fmt.Sprintf("Step-up refused on request %s (%s): %s. The approver's Slack account may be in someone else's hands.",
		att.RequestID, att.Action, se.Reason))
}
