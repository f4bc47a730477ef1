package actions

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Caller verification (README, "Caller verification"): for actions whose
// policy rule lists `verify`, a request runs only when it has its approvals
// and every target is verified by one of the listed methods, in either order.

// The audit events of caller verification; each carries the target and the
// method.
const (
	EventVerificationStarted EventKind = "verification_started"
	EventVerified            EventKind = "verified"
	EventVerificationFailed  EventKind = "verification_failed"
)

// VerifyMethod is a way to prove that the caller is the target. Its names are
// stable: they appear in the policy file and in the audit log's `method`.
type VerifyMethod string

// The verification methods.
const (
	// VerifyTarget: the target confirms in a direct message.
	VerifyTarget VerifyMethod = "target"
	// VerifyManager: the target's manager in the directory confirms.
	VerifyManager VerifyMethod = "manager"
	// VerifyPush: the target approves a push to a factor they already have.
	VerifyPush VerifyMethod = "push"
)

var verifyMethods = []VerifyMethod{VerifyTarget, VerifyManager, VerifyPush}

// ParseVerifyMethod returns the method named s, or an error listing the
// known names.
func ParseVerifyMethod(s string) (VerifyMethod, error) {
	m := VerifyMethod(strings.TrimSpace(s))
	if slices.Contains(verifyMethods, m) {
		return m, nil
	}
	return "", fmt.Errorf("unknown verification method %q: want one of target, manager, push", s)
}

// Title names the method for people.
func (m VerifyMethod) Title() string {
	switch m {
	case VerifyTarget:
		return "the user confirms in Slack"
	case VerifyManager:
		return "their manager confirms"
	case VerifyPush:
		return "push to their authenticator"
	}
	return string(m)
}

// VerificationState is where one verification is.
type VerificationState string

// Verification states.
const (
	VerificationWaiting  VerificationState = "waiting"
	VerificationVerified VerificationState = "verified"
	VerificationFailed   VerificationState = "failed"
)

// Verification is one method started for one target of a request.
type Verification struct {
	// Target is the index of the target in Request.Targets.
	Target int
	Method VerifyMethod
	State  VerificationState
	// Verifier is who must answer: the target themself or their manager,
	// found through the directory; zero for push.
	Verifier Person
	// StartedAt is when it was started; Deadline when it fails unanswered
	// (verification.ttl later); DecidedAt when it was verified or failed.
	StartedAt time.Time
	Deadline  time.Time
	DecidedAt time.Time
	// Detail says who confirmed and how, or why it failed. Never a secret.
	Detail string
	// Challenge is the directory's handle of a push in flight, to poll it.
	Challenge string
}

// VerifierCandidate is what the service found, before the change, to verify
// one target by one method: the person to ask (or the push sent), or why the
// method cannot be used for that target.
type VerifierCandidate struct {
	Target int
	// Verifier is the person to ask (target and manager methods).
	Verifier Person
	// Challenge is a push's handle at the directory (push method).
	Challenge string
	// Unavailable, when not empty, says why the method cannot be used.
	Unavailable string
	// Detail goes in the verification_started event (e.g. the transaction).
	Detail string
}

// NeedsVerification reports whether r runs only once its targets are
// verified.
func (r Request) NeedsVerification() bool { return len(r.Verify) > 0 }

// TargetVerified reports whether target i is verified by some method.
func (r Request) TargetVerified(i int) bool {
	for _, v := range r.Verifications {
		if v.Target == i && v.State == VerificationVerified {
			return true
		}
	}
	return false
}

// AllVerified reports whether every target is verified (true when r needs
// no verification).
func (r Request) AllVerified() bool {
	if !r.NeedsVerification() {
		return true
	}
	for i := range r.Targets {
		if !r.TargetVerified(i) {
			return false
		}
	}
	return true
}

// Tried reports whether method m was started for target i, whatever came of
// it. A method is tried once per target: a failed one is not asked again.
func (r Request) Tried(i int, m VerifyMethod) bool {
	for _, v := range r.Verifications {
		if v.Target == i && v.Method == m {
			return true
		}
	}
	return false
}

// Unverified returns the targets that method m could still be started for:
// not verified yet and m not tried on them.
func (r Request) Unverified(m VerifyMethod) []int {
	var out []int
	for i := range r.Targets {
		if !r.TargetVerified(i) && !r.Tried(i, m) {
			out = append(out, i)
		}
	}
	return out
}

// TargetVerifications returns target i's verifications, oldest first.
func (r Request) TargetVerifications(i int) []Verification {
	var out []Verification
	for _, v := range r.Verifications {
		if v.Target == i {
			out = append(out, v)
		}
	}
	return out
}

// IsVerifier reports whether p was asked to verify a target of r as their
// manager; such a person may not also approve it.
func (r Request) IsVerifier(p Person) bool {
	for _, v := range r.Verifications {
		if v.Method == VerifyManager && v.State != VerificationFailed && v.Verifier.SlackID != "" && v.Verifier.Is(p) {
			return true
		}
	}
	return false
}

// approvalsComplete reports whether r has the approvals it needs.
func (r Request) approvalsComplete() bool { return len(r.Approvals) >= max(r.ApprovalsNeeded, 1) }

// becomeReady moves a pending request that has its approvals and every
// verification to approved (or, for a tracked manual step, to running) and
// returns the events that writes.
func (r *Request) becomeReady(now time.Time) []Event {
	if r.State != StatePending || !r.approvalsComplete() || !r.AllVerified() {
		return nil
	}
	r.State = StateApproved
	if r.Manual {
		r.State = StateRunning
		st := r.event(EventStarted, BotActor, now)
		st.Detail = "tracked manual step: waiting for an approver to mark it done or failed"
		return []Event{st}
	}
	return nil
}

func (r Request) verificationEvent(kind EventKind, actor string, v Verification, now time.Time) Event {
	ev := r.event(kind, actor, now)
	ref := r.Targets[v.Target].Ref()
	ev.Target, ev.Method, ev.Detail = &ref, string(v.Method), v.Detail
	return ev
}

// checkOpen returns why r takes no verification step now, or nil.
func (r Request) checkOpen(now time.Time) error {
	switch {
	case r.State != StatePending:
		return decisionErr(ErrConflict, "request %s %s already", r.ID, r.State.Already())
	case !now.Before(r.ExpiresAt):
		return decisionErr(ErrExpired, "request %s expired at %s", r.ID, r.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkStart returns why by may not start method m on r now, or nil.
func (r Request) checkStart(by Person, m VerifyMethod, now time.Time) error {
	if err := r.checkOpen(now); err != nil {
		return err
	}
	switch {
	case !by.Is(r.Requester):
		return decisionErr(ErrForbidden, "only the requester of %s starts caller verification", r.ID)
	case !slices.Contains(r.Verify, m):
		return decisionErr(ErrForbidden, "the policy does not allow verifying the caller of %s by %s", r.Action, m)
	}
	return nil
}

// StartVerification starts method m, on by's word (the requester), for the
// targets of cands that still need it. A candidate that is unavailable, or
// whose verifier is the requester, an approver or a target of r (for the
// manager method), fails the method for that target at once. Targets that
// are verified already, or that m was tried on, are left alone; when that
// leaves nothing to do it returns ErrConflict.
func (r Request) StartVerification(pol *Policy, by Person, m VerifyMethod, cands []VerifierCandidate, now time.Time) (Request, []Event, error) {
	if err := r.checkStart(by, m, now); err != nil {
		return r, nil, err
	}
	n := r.Clone()
	var events []Event
	for _, c := range cands {
		if c.Target < 0 || c.Target >= len(n.Targets) {
			return r, nil, fmt.Errorf("start verification: request %s has no target %d", r.ID, c.Target)
		}
		if n.TargetVerified(c.Target) || n.Tried(c.Target, m) {
			continue
		}
		v := Verification{Target: c.Target, Method: m, State: VerificationWaiting, Verifier: c.Verifier,
			StartedAt: now, Deadline: now.Add(pol.VerificationTTL), Challenge: c.Challenge, Detail: c.Detail}
		unavailable := c.Unavailable
		if unavailable == "" && m == VerifyManager {
			switch {
			case c.Verifier.Is(r.Requester):
				unavailable = "the manager " + who(c.Verifier) + " is the requester"
			case r.ApprovedBy(c.Verifier):
				unavailable = "the manager " + who(c.Verifier) + " approved the request"
			case r.IsTarget(c.Verifier):
				unavailable = "the manager " + who(c.Verifier) + " is a target of the request"
			}
		}
		if unavailable == "" && m != VerifyPush && c.Verifier.SlackID == "" {
			unavailable = "no Slack account to ask"
		}
		if unavailable != "" {
			v.State, v.DecidedAt, v.Detail, v.Challenge = VerificationFailed, now, "unavailable: "+unavailable, ""
			n.Verifications = append(n.Verifications, v)
			events = append(events, n.verificationEvent(EventVerificationFailed, BotActor, v, now))
			continue
		}
		if v.Detail == "" {
			switch m {
			case VerifyTarget:
				v.Detail = "asked the user " + who(c.Verifier) + " in Slack"
			case VerifyManager:
				v.Detail = "asked the manager " + who(c.Verifier) + " in Slack"
			default:
				v.Detail = "push sent"
			}
		}
		n.Verifications = append(n.Verifications, v)
		events = append(events, n.verificationEvent(EventVerificationStarted, by.SlackID, v, now))
	}
	if len(events) == 0 {
		return r, nil, decisionErr(ErrConflict, "request %s: every target is verified already or was tried by %s", r.ID, m)
	}
	n.UpdatedAt = now
	return n, events, nil
}

// AnswerVerification records by's answer to every verification of r that
// waits for them. Yes verifies; a manager's No fails the method for that
// target only; the target's No fails it and denies the request at once
// (actor: the target). Anyone not asked is refused with ErrForbidden.
func (r Request) AnswerVerification(by Person, yes bool, now time.Time) (Request, []Event, error) {
	if err := r.checkOpen(now); err != nil {
		return r, nil, err
	}
	var mine []int
	answered := false
	for k, v := range r.Verifications {
		if v.Method == VerifyPush || v.Verifier.SlackID == "" || v.Verifier.SlackID != by.SlackID {
			continue
		}
		if v.State == VerificationWaiting {
			mine = append(mine, k)
		} else {
			answered = true
		}
	}
	if len(mine) == 0 {
		if answered {
			return r, nil, decisionErr(ErrConflict, "your part in verifying the caller of request %s is over: answered already, or timed out", r.ID)
		}
		return r, nil, decisionErr(ErrForbidden, "you were not asked to verify the caller of request %s", r.ID)
	}
	n := r.Clone()
	var events []Event
	denied := false
	for _, k := range mine {
		v := &n.Verifications[k]
		if !now.Before(v.Deadline) {
			return r, nil, decisionErr(ErrConflict, "the verification of request %s timed out at %s", r.ID, v.Deadline.UTC().Format(time.RFC3339))
		}
		t := n.Targets[v.Target]
		v.DecidedAt = now
		switch {
		case yes && v.Method == VerifyTarget:
			v.State, v.Detail = VerificationVerified, "confirmed by the user "+who(v.Verifier)+" in Slack"
		case yes:
			v.State, v.Detail = VerificationVerified, "confirmed by "+who(v.Verifier)+", manager of "+t.Email
		case v.Method == VerifyTarget:
			v.State, v.Detail = VerificationFailed, "the user "+who(v.Verifier)+" says they did not ask for this"
			denied = true
		default:
			v.State, v.Detail = VerificationFailed, "the manager "+who(v.Verifier)+" did not confirm that the caller is "+t.Email
		}
		kind := EventVerified
		if !yes {
			kind = EventVerificationFailed
		}
		events = append(events, n.verificationEvent(kind, by.SlackID, *v, now))
	}
	n.UpdatedAt = now
	if denied {
		n.State, n.DecidedBy, n.DecisionNote = StateDenied, by, "the user says they did not ask for this"
		ev := n.event(EventDenied, by.SlackID, now)
		ev.Detail = "the target says they did not ask for this: possible social engineering"
		return n, append(events, ev), nil
	}
	return n, append(events, n.becomeReady(now)...), nil
}

// RecordPush records the end of target i's push: verified (with the
// directory's transaction ID in detail) or failed (rejected, timed out).
func (r Request) RecordPush(i int, verified bool, detail string, now time.Time) (Request, []Event, error) {
	if r.State != StatePending {
		return r, nil, decisionErr(ErrConflict, "request %s %s already", r.ID, r.State.Already())
	}
	for k, v := range r.Verifications {
		if v.Target != i || v.Method != VerifyPush || v.State != VerificationWaiting {
			continue
		}
		n := r.Clone()
		w := &n.Verifications[k]
		w.DecidedAt, w.Detail, w.State = now, detail, VerificationVerified
		kind := EventVerified
		if !verified {
			w.State, kind = VerificationFailed, EventVerificationFailed
		}
		n.UpdatedAt = now
		events := []Event{n.verificationEvent(kind, BotActor, *w, now)}
		return n, append(events, n.becomeReady(now)...), nil
	}
	return r, nil, decisionErr(ErrConflict, "request %s: no push waits for target %d", r.ID, i)
}

// ExpireVerifications fails every verification of r that is still waiting
// at its deadline. It returns ErrConflict when there is none.
func (r Request) ExpireVerifications(now time.Time) (Request, []Event, error) {
	if r.State != StatePending {
		return r, nil, decisionErr(ErrConflict, "request %s %s already", r.ID, r.State.Already())
	}
	n := r.Clone()
	var events []Event
	for k := range n.Verifications {
		v := &n.Verifications[k]
		if v.State != VerificationWaiting || now.Before(v.Deadline) {
			continue
		}
		v.State, v.DecidedAt = VerificationFailed, now
		v.Detail = fmt.Sprintf("no answer within %s", v.Deadline.Sub(v.StartedAt))
		events = append(events, n.verificationEvent(EventVerificationFailed, BotActor, *v, now))
	}
	if len(events) == 0 {
		return r, nil, decisionErr(ErrConflict, "request %s has no verification past its deadline", r.ID)
	}
	n.UpdatedAt = now
	return n, events, nil
}

// Overdue reports whether a verification of r waits past its deadline.
func (r Request) Overdue(now time.Time) bool {
	for _, v := range r.Verifications {
		if v.State == VerificationWaiting && !now.Before(v.Deadline) {
			return true
		}
	}
	return false
}

// who names p in a verification's detail, which the audit log keeps and
// the approval message shows as text: their email, else their Slack ID.
func who(p Person) string {
	if p.Email != "" {
		return p.Email
	}
	return p.SlackID
}
