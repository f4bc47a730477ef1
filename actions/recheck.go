package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Rules are checked when they matter (README, "Checked when it matters"): the
// requester's and approvers' roles and whether a target holds an admin role
// are checked at submission, again at each approval, and again just before
// each target runs. A check that cannot be made refuses.

// identify looks p up in the directory by the email on their Slack profile and
// returns p with DirectoryID set. A person the directory does not know may
// still act: DirectoryID stays empty and note says so, for the audit log.
// Any other failure is an error (the caller refuses: it fails closed).
func (s *Service) identify(ctx context.Context, p Person, who string) (Person, string, error) {
	p.DirectoryID = ""
	if p.Email == "" {
		return p, who + " has no email on their Slack profile: not found in the directory", nil
	}
	u, err := s.dir.ResolveUser(ctx, p.Email)
	switch {
	case errors.Is(err, ErrUnknownUser):
		return p, who + " " + p.Email + " not found in the directory", nil
	case err != nil:
		return p, "", fmt.Errorf("look up the %s %s in the directory: %w", who, p.Email, err)
	}
	p.DirectoryID = u.ID
	return p, "", nil
}

// adminNow asks the directory, a few at a time, whether each target holds an
// admin role now. Any failure is an error: the caller refuses.
func (s *Service) adminNow(ctx context.Context, ts []Target) ([]bool, error) {
	out := make([]bool, len(ts))
	errs := make([]error, len(ts))
	forEachLimited(len(ts), s.resolvers, func(i int) {
		out[i], errs[i] = s.dir.IsPrivileged(ctx, ts[i].DirectoryID)
	})
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("check whether %s holds an admin role: %w", display(ts[i].Person()), err)
		}
	}
	return out, nil
}

// approvalCheck is what Approve learnt from the directory before it locks
// the request: who the approver is, and which targets hold an admin role now.
type approvalCheck struct {
	by     Person
	note   string // for the audit: the approver was not found
	admins []bool // nil when the request was not pending
}

// approvalChecks makes the directory checks of an approval. A check that
// cannot be made is refused and audited like any refused click.
//
// For an Approve click (click true) on an action whose rule has step_up it
// makes none: the click does not approve there, BeginStepUp looks the
// approver up and CompleteStepUp (click false) makes every check at
// sign-in. The domain's checks still answer first (Request.Approve, audited
// like any refusal); when they pass, the answer is ErrStepUpRequired.
func (s *Service) approvalChecks(ctx context.Context, id string, by Person, click bool) (approvalCheck, error) {
	cur, err := s.store.Request(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound) || (err == nil && cur.State != StatePending):
		// Unknown, or not pending: the transition answers that.
		return approvalCheck{by: by}, nil
	case err != nil:
		// Never approve unchecked (fail closed).
		return approvalCheck{}, fmt.Errorf("approve %s: read the request: %w", id, err)
	}
	if pol := s.Policy(); click && pol.StepUp(cur.Action) {
		if _, _, err := (approvalCheck{by: by}).approve(cur, pol, s.now()); err != nil {
			if !errors.Is(err, ErrStepUpRequired) {
				s.refused(ctx, cur, by, err)
			}
			return approvalCheck{}, err
		}
	}
	chk := approvalCheck{}
	var ierr, aerr error
	chk.by, chk.note, ierr = s.identify(ctx, by, "approver")
	if ierr == nil {
		chk.admins, aerr = s.adminNow(ctx, cur.Targets)
	}
	if err := errors.Join(ierr, aerr); err != nil {
		return chk, s.uncheckable(ctx, cur, by, err)
	}
	return chk, nil
}

// uncheckable refuses by's approval of cur because a directory check could
// not be made (err), and audits the refusal like any refused click.
func (s *Service) uncheckable(ctx context.Context, cur Request, by Person, err error) error {
	s.log.ErrorContext(ctx, "approval check failed", "request_id", cur.ID, "error", err)
	refusal := lookupRefusal(cur.ID, "approved", err)
	ev := Event{Time: s.now(), RequestID: cur.ID, Kind: EventRefused, Actor: by.SlackID, Action: cur.Action, Detail: refusal.Error()}
	if err := s.store.AppendEvents(ctx, ev); err != nil {
		s.log.ErrorContext(ctx, "audit refused click", "request_id", cur.ID, "error", err)
	}
	return refusal
}

// approve is Request.Approve with what the checks found (apply).
func (c approvalCheck) approve(r Request, pol *Policy, now time.Time) (Request, []Event, error) {
	return c.apply(r, pol, now, func(r Request) (Request, []Event, error) { return r.Approve(pol, c.by, now) })
}

// apply runs approve, a transition that records c.by's approval, with what
// the checks found: targets that hold an admin role now count as privileged
// (and stay so), and the requester must still hold a role that may request
// the action.
func (c approvalCheck) apply(r Request, pol *Policy, now time.Time, approve func(Request) (Request, []Event, error)) (Request, []Event, error) {
	if c.admins != nil {
		r = r.MarkAdmins(c.admins)
	}
	if r.State == StatePending && !pol.CanRequest(r.Requester, r.Action, r.Privileged()) {
		if err := r.checkDecider(pol, c.by, "approve", now); err != nil {
			return r, nil, err
		}
		req, _ := pol.Rule(r.Action, r.Privileged())
		return r, nil, decisionErr(ErrForbidden, "request %s cannot be approved: its requester %s no longer holds a role that may request %s%s (%s); deny it",
			r.ID, display(r.Requester), r.Action, privilegedSuffix(r), strings.Join(req, ", "))
	}
	n, evs, err := approve(r)
	for i := range evs {
		if err == nil && c.note != "" && evs[i].Kind == EventApproved {
			evs[i].Detail += "; " + c.note
		}
	}
	return n, evs, err
}

func privilegedSuffix(r Request) string {
	if r.Privileged() {
		return " on a user who holds an admin role"
	}
	return ""
}

// MarkAdmins returns a copy of r in which target i is privileged when it was
// or when admins[i] says it holds an admin role now. A target once seen as an
// admin stays privileged: the rule only gets stricter.
func (r Request) MarkAdmins(admins []bool) Request {
	n := r.Clone()
	for i := range n.Targets {
		if i < len(admins) && admins[i] {
			n.Targets[i].Privileged = true
		}
	}
	return n
}

// mayRun checks, just before target i of r runs, the rules under the
// current policy: whether the target holds an admin role now, whether the
// requester still may request the action on them, and whether every approver
// still may approve it. It returns why not, or "" when it may run. A check
// that cannot be made refuses. With no Policy in the options nothing is
// checked, nor for a containment request.
func (e *Executor) mayRun(ctx context.Context, r Request, i int) string {
	// A containment request needs no role: the user who said "This wasn't
	// me" starts it, and its actions only protect (README, "Notice, "This
	// wasn't me" and containment").
	if e.opts.Policy == nil || r.Containment != nil {
		return ""
	}
	pol := e.opts.Policy()
	t := r.Targets[i]
	admin := t.Privileged
	if !admin {
		var err error
		if admin, err = e.dir.IsPrivileged(ctx, t.DirectoryID); err != nil {
			return "refused before running: could not check whether the user holds an admin role: " + err.Error()
		}
	}
	priv := r.Privileged() || admin
	if pol == nil || !pol.CanRequest(r.Requester, r.Action, priv) {
		return fmt.Sprintf("refused before running: the requester %s no longer holds a role that may request %s%s",
			display(r.Requester), r.Action, map[bool]string{true: " on a user who holds an admin role"}[priv])
	}
	for _, a := range r.Approvals {
		if !pol.CanApprove(a.By, r.Action, priv) {
			return fmt.Sprintf("refused before running: the approver %s no longer holds a role that may approve %s%s",
				display(a.By), r.Action, map[bool]string{true: " on a user who holds an admin role"}[priv])
		}
	}
	return ""
}

// mayReceive reports whether the requester of r still holds a role that may
// request its action, just before a secret is handed to them.
func (e *Executor) mayReceive(r Request) bool {
	if e.opts.Policy == nil {
		return true
	}
	pol := e.opts.Policy()
	return pol != nil && pol.CanRequest(r.Requester, r.Action, r.Privileged())
}

// refuseUnfit records a failed result, with the reason, for each target of
// unit that may not run now (mayRun), and returns the ones that may.
// The checks of a batch's targets run a few at a time.
func (e *Executor) refuseUnfit(ctx context.Context, r Request, unit []int, l *lease, log *slog.Logger) []int {
	reasons := make([]string, len(unit))
	forEachLimited(len(unit), 8, func(k int) { reasons[k] = e.mayRun(ctx, r, unit[k]) })
	if ctx.Err() != nil {
		return nil // interrupted: resumed later
	}
	fit := make([]int, 0, len(unit))
	for k, i := range unit {
		reason := reasons[k]
		if reason == "" {
			fit = append(fit, i)
			continue
		}
		log.WarnContext(ctx, "target refused before running", "directory_id", r.Targets[i].DirectoryID, "reason", reason)
		e.finish(ctx, r, i, Performed{}, errors.New(reason), 0, l, log)
	}
	return fit
}
