package actions

import (
	"fmt"
	"strings"
	"time"
)

// Transitions are pure: each takes the request, who acts and when, and
// returns the changed copy with the audit events the change writes, or an
// error and no change. The service and the store make them durable.

// Limits on free-text fields.
const (
	MaxReasonLen = 500
	MaxTicketLen = 100
)

func (r Request) event(kind EventKind, actor string, now time.Time) Event {
	return Event{Time: now, RequestID: r.ID, Kind: kind, Actor: actor, Action: r.Action}
}

// Draft is a submission before it is checked: who asks for what on whom.
type Draft struct {
	Requester Person
	Action    Action
	// Targets are Slack users with the email of their profile; their
	// directory identity is filled in by the service.
	Targets []Person
	Reason  string
	Ticket  string
	// SubmissionKey identifies one form submission, so that a redelivered or
	// double-clicked submit stores one request.
	SubmissionKey string
}

// Validate checks what can be checked without the directory: the action, the
// number and uniqueness of targets, the requester not among them, the reason
// and ticket. It returns a *ValidationError naming every problem.
func (d Draft) Validate(pol *Policy) error {
	v := &ValidationError{}
	if !d.Action.Valid() {
		_, err := ParseAction(string(d.Action))
		v.Add(FieldAction, "%v", err)
	} else if _, ok := pol.Actions[d.Action]; !ok {
		v.Add(FieldAction, "%s is not enabled by the policy", d.Action)
	} else if !pol.CanRequest(d.Requester, d.Action, false) && !pol.CanRequest(d.Requester, d.Action, true) {
		req, _ := pol.Rule(d.Action, false)
		v.AddPolicy(FieldAction, "you may not request %s: it needs one of the roles %s", d.Action, strings.Join(req, ", "))
	}
	switch n := len(d.Targets); {
	case n == 0:
		v.Add(FieldTargets, "choose at least one user")
	case n > pol.MaxTargets:
		v.Add(FieldTargets, "%d users chosen; at most %d per request", n, pol.MaxTargets)
	}
	for i, t := range d.Targets {
		if t.SlackID == "" && t.Email == "" {
			v.Add(FieldTargets, "target %d has neither a Slack ID nor an email", i+1)
			continue
		}
		if t.Is(d.Requester) {
			v.Add(FieldTargets, "you cannot request an action on yourself")
		}
		for _, u := range d.Targets[:i] {
			if u.Is(t) {
				v.Add(FieldTargets, "%s is chosen twice", display(t))
				break
			}
		}
	}
	reason := strings.TrimSpace(d.Reason)
	switch {
	case reason == "":
		v.Add(FieldReason, "say why: the reason is required")
	case len([]rune(reason)) > MaxReasonLen:
		v.Add(FieldReason, "the reason is %d characters; at most %d", len([]rune(reason)), MaxReasonLen)
	}
	if n := len([]rune(strings.TrimSpace(d.Ticket))); n > MaxTicketLen {
		v.Add(FieldTicket, "the ticket is %d characters; at most %d", n, MaxTicketLen)
	}
	return v.Err()
}

func display(p Person) string {
	if p.SlackID != "" {
		return "<@" + p.SlackID + ">"
	}
	return p.Email
}

// NewRequest makes the pending request for a validated draft whose targets
// the directory resolved. It refuses privileged targets the requester may
// not act on, and actions the directory cannot do.
func NewRequest(d Draft, targets []Target, support Support, pol *Policy, id string, now time.Time) (Request, []Event, error) {
	if err := d.Validate(pol); err != nil {
		return Request{}, nil, err
	}
	v := &ValidationError{}
	if support == Unsupported {
		v.Add(FieldAction, "%s is not supported by this directory", d.Action)
	}
	if len(targets) != len(d.Targets) {
		return Request{}, nil, fmt.Errorf("new request: %d targets resolved for %d chosen", len(targets), len(d.Targets))
	}
	privileged := false
	for _, t := range targets {
		privileged = privileged || t.Privileged
		if SamePerson(t.Person(), d.Requester) {
			v.AddPolicy(FieldTargets, "you cannot request an action on yourself: %s is your own directory account", display(t.Person()))
		}
	}
	if !pol.CanRequest(d.Requester, d.Action, privileged) {
		req, _ := pol.Rule(d.Action, privileged)
		if privileged {
			var names []string
			for _, t := range targets {
				if t.Privileged {
					names = append(names, display(t.Person()))
				}
			}
			v.AddPolicy(FieldTargets, "%s hold an admin role: acting on them needs one of the roles %s", strings.Join(names, ", "), strings.Join(req, ", "))
		} else {
			v.AddPolicy(FieldTargets, "you may act on admins only: %s on ordinary users needs one of the roles %s", d.Action, strings.Join(req, ", "))
		}
	}
	if err := v.Err(); err != nil {
		return Request{}, nil, err
	}
	r := Request{
		ID: id, Requester: d.Requester, Action: d.Action, Targets: append([]Target(nil), targets...),
		Reason: strings.TrimSpace(d.Reason), Ticket: strings.TrimSpace(d.Ticket),
		State: StatePending, CreatedAt: now, ExpiresAt: now.Add(pol.TTL), UpdatedAt: now,
		ApprovalsNeeded: pol.Approvals, Manual: support == Manual, SubmissionKey: d.SubmissionKey,
		NotifyTarget: pol.NotifyTarget, NotifyManager: pol.NotifyManager,
		Verify: pol.VerifyMethods(d.Action),
	}
	ev := r.event(EventCreated, d.Requester.SlackID, now)
	ev.Targets = r.Refs()
	ev.Detail = "reason: " + r.Reason
	if r.Ticket != "" {
		ev.Detail += "; ticket: " + r.Ticket
	}
	return r, []Event{ev}, nil
}

// checkDecider returns why by may not approve or deny r now, or nil.
func (r Request) checkDecider(pol *Policy, by Person, verb string, now time.Time) error {
	switch {
	case r.State != StatePending:
		return decisionErr(ErrConflict, "request %s %s already", r.ID, r.State.Already())
	case !now.Before(r.ExpiresAt):
		return decisionErr(ErrExpired, "request %s expired at %s", r.ID, r.ExpiresAt.UTC().Format(time.RFC3339))
	case by.Is(r.Requester):
		return decisionErr(ErrForbidden, "you made request %s: a different person must %s it", r.ID, verb)
	case r.IsTarget(by):
		return decisionErr(ErrForbidden, "you are a target of request %s and cannot %s it", r.ID, verb)
	case r.IsVerifier(by):
		return decisionErr(ErrForbidden, "you were asked to verify the caller of request %s and cannot also %s it", r.ID, verb)
	case !pol.CanApprove(by, r.Action, r.Privileged()):
		_, roles := pol.Rule(r.Action, r.Privileged())
		return decisionErr(ErrForbidden, "to %s %s you need one of the roles %s", verb, r.Action, strings.Join(roles, ", "))
	}
	return nil
}

// Approve records by's approval. With the last approval needed, and every
// target verified when the action needs caller verification, the request
// becomes approved; a tracked manual step goes straight to running, since a
// person, not the executor, carries it out. A request with its approvals
// but not yet verified stays pending and takes no more approvals.
// An action whose rule has step_up is approved only by ApproveStepUp: here
// it is refused with ErrStepUpRequired once every other check passed.
func (r Request) Approve(pol *Policy, by Person, now time.Time) (Request, []Event, error) {
	if err := r.checkApprover(pol, by, now); err != nil {
		return r, nil, err
	}
	if pol.StepUp(r.Action) {
		return r, nil, decisionErr(ErrStepUpRequired, "approving %s needs a fresh MFA sign-in: use the sign-in link", r.Action)
	}
	return r.approve(pol, by, now)
}

// checkApprover returns why by may not approve r now, or nil.
func (r Request) checkApprover(pol *Policy, by Person, now time.Time) error {
	if err := r.checkDecider(pol, by, "approve", now); err != nil {
		return err
	}
	if r.ApprovedBy(by) {
		return decisionErr(ErrDuplicate, "you approved request %s already; it needs %d more approver(s)", r.ID, r.ApprovalsNeeded-len(r.Approvals))
	}
	if r.approvalsComplete() {
		return decisionErr(ErrConflict, "request %s has its approvals and waits for caller verification", r.ID)
	}
	return nil
}

// approve records by's approval after checkApprover.
func (r Request) approve(pol *Policy, by Person, now time.Time) (Request, []Event, error) {
	if err := r.checkApprover(pol, by, now); err != nil {
		return r, nil, err
	}
	n := r.Clone()
	n.Approvals = append(n.Approvals, Approval{By: by, At: now})
	n.UpdatedAt = now
	ev := n.event(EventApproved, by.SlackID, now)
	ev.Detail = fmt.Sprintf("approval %d of %d", len(n.Approvals), max(n.ApprovalsNeeded, 1))
	if n.approvalsComplete() && !n.AllVerified() {
		ev.Detail += "; waiting for caller verification"
	}
	return n, append([]Event{ev}, n.becomeReady(now)...), nil
}

// Deny ends a pending request on by's word, with an optional reason.
func (r Request) Deny(pol *Policy, by Person, reason string, now time.Time) (Request, []Event, error) {
	if err := r.checkDecider(pol, by, "deny", now); err != nil {
		return r, nil, err
	}
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > MaxReasonLen {
		return r, nil, &ValidationError{Problems: []FieldError{{Field: FieldReason, Message: fmt.Sprintf("at most %d characters", MaxReasonLen)}}}
	}
	n := r.Clone()
	n.State, n.DecidedBy, n.DecisionNote, n.UpdatedAt = StateDenied, by, reason, now
	ev := n.event(EventDenied, by.SlackID, now)
	ev.Detail = reason
	return n, []Event{ev}, nil
}

// Cancel withdraws a pending request; only its requester may.
func (r Request) Cancel(by Person, now time.Time) (Request, []Event, error) {
	switch {
	case !by.Is(r.Requester):
		return r, nil, decisionErr(ErrForbidden, "only the requester can cancel request %s", r.ID)
	case r.State != StatePending:
		return r, nil, decisionErr(ErrConflict, "request %s is %s and can no longer be cancelled", r.ID, r.State)
	}
	n := r.Clone()
	n.State, n.DecidedBy, n.UpdatedAt = StateCancelled, by, now
	return n, []Event{n.event(EventCancelled, by.SlackID, now)}, nil
}

// Expire ends a pending request whose approval deadline has passed.
func (r Request) Expire(now time.Time) (Request, []Event, error) {
	switch {
	case r.State != StatePending:
		return r, nil, decisionErr(ErrConflict, "request %s is %s, not pending", r.ID, r.State)
	case now.Before(r.ExpiresAt):
		return r, nil, decisionErr(ErrConflict, "request %s expires only at %s", r.ID, r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	n := r.Clone()
	n.State, n.UpdatedAt = StateExpired, now
	ev := n.event(EventExpired, BotActor, now)
	ev.Detail = fmt.Sprintf("%d of %d approvals after %s", len(r.Approvals), max(r.ApprovalsNeeded, 1), r.ExpiresAt.Sub(r.CreatedAt))
	return n, []Event{ev}, nil
}

// Start moves an approved request to running, when an executor takes it up.
func (r Request) Start(now time.Time) (Request, []Event, error) {
	if r.State != StateApproved || r.Manual {
		return r, nil, decisionErr(ErrConflict, "request %s is %s, not approved for execution", r.ID, r.State)
	}
	n := r.Clone()
	n.State, n.UpdatedAt = StateRunning, now
	ev := n.event(EventStarted, BotActor, now)
	ev.Detail = fmt.Sprintf("%d target(s)", len(n.Targets))
	return n, []Event{ev}, nil
}

// RecordResult records the one result of target i of a running request.
func (r Request) RecordResult(i int, res TargetResult, now time.Time) (Request, []Event, error) {
	switch {
	case r.State != StateRunning:
		return r, nil, decisionErr(ErrConflict, "request %s is %s, not running", r.ID, r.State)
	case i < 0 || i >= len(r.Targets):
		return r, nil, fmt.Errorf("record result: request %s has no target %d", r.ID, i)
	case r.Targets[i].Result != nil:
		return r, nil, decisionErr(ErrDuplicate, "request %s: target %s has a result already", r.ID, r.Targets[i].Email)
	}
	switch res.Outcome {
	case OutcomeOK, OutcomeFailed, OutcomeSkipped:
	default:
		return r, nil, fmt.Errorf("record result: unknown outcome %q", res.Outcome)
	}
	n := r.Clone()
	res.At = now
	n.Targets[i].Result = &res
	n.UpdatedAt = now
	ref := n.Targets[i].Ref()
	ev := n.event(EventTargetResult, BotActor, now)
	ev.Target, ev.Outcome, ev.Detail = &ref, string(res.Outcome), res.Detail
	if res.Outcome == OutcomeOK {
		n.Notices = append(n.Notices, n.actionNotices(i, now)...)
	}
	return n, []Event{ev}, nil
}

// NoteDuplicateCall records that the directory was called once more for
// target i, with outcome res, by executor owner, when the target has its
// one result already or the request went on without this executor. It
// changes nothing but the audit log, in any state.
func (r Request) NoteDuplicateCall(i int, res TargetResult, owner string, now time.Time) (Request, []Event, error) {
	if i < 0 || i >= len(r.Targets) {
		return r, nil, fmt.Errorf("note duplicate call: request %s has no target %d", r.ID, i)
	}
	ref := r.Targets[i].Ref()
	ev := r.event(EventDuplicateCall, BotActor, now)
	ev.Target, ev.Outcome = &ref, string(res.Outcome)
	ev.Detail = "called again by executor " + owner + " around a lease takeover; the recorded result stands"
	if res.Detail != "" {
		ev.Detail += "; this call: " + res.Detail
	}
	return r.Clone(), []Event{ev}, nil
}

// finalState is the state a request ends in given its targets' results: no
// failure is success, no success with failures is failure, else partial.
func (r Request) finalState() State {
	ok, failed, _, _ := r.Counts()
	switch {
	case failed == 0:
		return StateSucceeded
	case ok == 0:
		return StateFailed
	}
	return StatePartiallyFailed
}

// Complete ends a running request once every target has its result.
func (r Request) Complete(now time.Time) (Request, []Event, error) {
	ok, failed, skipped, pending := r.Counts()
	switch {
	case r.State != StateRunning:
		return r, nil, decisionErr(ErrConflict, "request %s is %s, not running", r.ID, r.State)
	case pending > 0:
		return r, nil, decisionErr(ErrConflict, "request %s has %d target(s) without a result", r.ID, pending)
	}
	n := r.Clone()
	n.State, n.UpdatedAt = n.finalState(), now
	n.LeaseOwner, n.LeaseUntil = "", time.Time{}
	ev := n.event(EventCompleted, BotActor, now)
	ev.Outcome = string(n.State)
	ev.Detail = fmt.Sprintf("%d ok, %d failed, %d skipped", ok, failed, skipped)
	return n, []Event{ev}, nil
}

// MarkManual records that by did the tracked manual step (done) or could not
// (failed), with an optional note; it gives every target its result and
// completes the request. by must be allowed to approve the action and be
// neither the requester nor a target.
func (r Request) MarkManual(pol *Policy, by Person, done bool, note string, now time.Time) (Request, []Event, error) {
	switch {
	case !r.Manual:
		return r, nil, decisionErr(ErrConflict, "request %s is not a manual step", r.ID)
	case r.State != StateRunning:
		return r, nil, decisionErr(ErrConflict, "request %s %s already", r.ID, r.State.Already())
	case by.Is(r.Requester):
		return r, nil, decisionErr(ErrForbidden, "you made request %s: an approver marks its manual step", r.ID)
	case r.IsTarget(by):
		return r, nil, decisionErr(ErrForbidden, "you are a target of request %s", r.ID)
	case !pol.CanApprove(by, r.Action, r.Privileged()):
		_, roles := pol.Rule(r.Action, r.Privileged())
		return r, nil, decisionErr(ErrForbidden, "marking %s needs one of the roles %s", r.Action, strings.Join(roles, ", "))
	}
	note = strings.TrimSpace(note)
	n := r.Clone()
	n.DecidedBy, n.DecisionNote = by, note
	kind, outcome, verb := EventManualDone, OutcomeOK, "done"
	if !done {
		kind, outcome, verb = EventManualFailed, OutcomeFailed, "failed"
	}
	ev := n.event(kind, by.SlackID, now)
	ev.Detail = note
	events := []Event{ev}
	for i := range n.Targets {
		if n.Targets[i].Result != nil {
			continue
		}
		detail := "manual step marked " + verb + " by " + display(by)
		if note != "" {
			detail += ": " + note
		}
		var evs []Event
		var err error
		n, evs, err = n.RecordResult(i, TargetResult{Outcome: outcome, Detail: detail}, now)
		if err != nil {
			return r, nil, err
		}
		events = append(events, evs...)
	}
	n, evs, err := n.Complete(now)
	if err != nil {
		return r, nil, err
	}
	return n, append(events, evs...), nil
}
