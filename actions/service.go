package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
)

// Observer is told of every stored transition and directory call, for
// metrics. Implementations must be fast and safe for concurrent use.
type Observer interface {
	// Transitioned: r moved from state from to r.State at now.
	Transitioned(r Request, from State, now time.Time)
	// DirectoryCall: one Perform (after the directory's own retries)
	// ended with outcome in d.
	DirectoryCall(a Action, outcome Outcome, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Transitioned(Request, State, time.Time)       {}
func (nopObserver) DirectoryCall(Action, Outcome, time.Duration) {}

type nopNotifier struct{}

func (nopNotifier) Changed(context.Context, Request) {}
func (nopNotifier) DeliverSecret(context.Context, Request, Target, *Secret) error {
	return errors.New("no notifier to deliver the secret")
}
func (nopNotifier) ManualSteps(context.Context, Request, string) error { return nil }

// ServiceOptions are the optional dependencies of a Service.
type ServiceOptions struct {
	Notifier Notifier
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time
	// Kick is called after a request becomes approved, so that an executor
	// in this process starts at once instead of at its next poll.
	Kick func()
	// Resolvers is how many targets are looked up in the directory at once.
	Resolvers int
	// StepUps keeps step-up attempts; when nil, the Store is used if it
	// implements StepUpStore.
	StepUps StepUpStore
	// StepUpACR is MFADESK_OIDC_ACR: the acr a step-up sign-in must show
	// instead of mfa in amr.
	StepUpACR string
	// ReportTTL is how long after an action the "This wasn't me" button
	// works (default DefaultReportTTL, 7 days).
	ReportTTL time.Duration
}

// Service runs the request workflow: submission, approval, denial,
// cancellation, expiry and tracked manual steps. It is safe for concurrent
// use; the Store makes each change atomic across processes.
type Service struct {
	store     Store
	dir       Directory
	pol       atomic.Pointer[Policy]
	notify    Notifier
	observer  Observer
	log       *slog.Logger
	now       func() time.Time
	kick      func()
	resolvers int // directory look-ups at once
	ttl       time.Duration

	stepups StepUpStore
	acr     string
}

// NewService returns a Service over store and dir, governed by pol.
func NewService(store Store, dir Directory, pol *Policy, o ServiceOptions) *Service {
	s := &Service{store: store, dir: dir, notify: o.Notifier, observer: o.Observer,
		log: o.Logger, now: o.Now, kick: o.Kick, resolvers: o.Resolvers, ttl: o.ReportTTL,
		stepups: o.StepUps, acr: o.StepUpACR}
	if s.stepups == nil {
		s.stepups, _ = store.(StepUpStore)
	}
	s.pol.Store(pol)
	if s.notify == nil {
		s.notify = nopNotifier{}
	}
	if s.observer == nil {
		s.observer = nopObserver{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.kick == nil {
		s.kick = func() {}
	}
	if s.resolvers <= 0 {
		s.resolvers = 8
	}
	if s.ttl <= 0 {
		s.ttl = DefaultReportTTL
	}
	return s
}

// SetNotifier replaces the notifier; for wiring, before the service is used.
func (s *Service) SetNotifier(n Notifier) {
	if n != nil {
		s.notify = n
	}
}

// MaxTargets is how many users one request may name (the policy's
// max_targets).
func (s *Service) MaxTargets() int { return s.Policy().MaxTargets }

// Policy returns the policy the service enforces now.
func (s *Service) Policy() *Policy { return s.pol.Load() }

// SureHoldsNoRole reports, without I/O, that the policy in force gives the
// Slack user slackID no role whatever their email is (Policy.SureHoldsNoRole).
func (s *Service) SureHoldsNoRole(slackID string) bool { return s.Policy().SureHoldsNoRole(slackID) }

// SetPolicy makes pol the policy from now on (SIGHUP re-reads the policy
// file). Requests made under the old policy are checked against the new one
// at their next approval and before they run. A nil pol is ignored.
func (s *Service) SetPolicy(pol *Policy) {
	if pol != nil {
		s.pol.Store(pol)
	}
}

// ManualSteps is what an approver does by hand for a, in the directory's
// words; "" when the directory does a itself.
func (s *Service) ManualSteps(a Action) string { return s.dir.ManualSteps(a) }

// CheckDraft checks d against the policy as Submit does first, without
// storing, auditing or asking the directory anything. Problems come back as
// a *ValidationError naming the field.
func (s *Service) CheckDraft(d Draft) error { return d.Validate(s.Policy()) }

// Requestable returns the actions p may request that the directory can do.
func (s *Service) Requestable(p Person) []Action {
	var out []Action
	for _, a := range s.Policy().Requestable(p) {
		if s.dir.Supports(a) != Unsupported {
			out = append(out, a)
		}
	}
	return out
}

// Submit checks a draft, resolves its targets in the directory and stores
// the pending request. Problems with the draft come back as a
// *ValidationError naming the field, and nothing is stored; a requester the
// policy does not allow also leaves a `refused` audit event. A submission
// whose SubmissionKey was stored already returns that request and an error
// wrapping ErrDuplicate.
func (s *Service) Submit(ctx context.Context, d Draft) (Request, error) {
	if d.SubmissionKey != "" {
		if r, err := s.store.RequestBySubmissionKey(ctx, d.SubmissionKey); err == nil {
			return r, fmt.Errorf("submission %s: request %s: %w", d.SubmissionKey, r.ID, ErrDuplicate)
		} else if !errors.Is(err, ErrNotFound) {
			return Request{}, fmt.Errorf("look up submission: %w", err)
		}
	}
	pol := s.Policy()
	if err := d.Validate(pol); err != nil {
		s.refuseSubmission(ctx, d, err)
		return Request{}, err
	}
	var err error
	support := s.dir.Supports(d.Action)
	if support == Unsupported {
		v := &ValidationError{}
		v.Add(FieldAction, "%s is not supported by the %s directory", d.Action, s.dir.Name())
		return Request{}, v
	}
	var note string
	if d.Requester, note, err = s.identify(ctx, d.Requester, "requester"); err != nil {
		return Request{}, err
	}
	targets, err := s.resolve(ctx, d.Targets)
	if err != nil {
		return Request{}, err
	}
	now := s.now()
	if err := s.checkPerTarget(d, targets, now, s.listFn(ctx)); err != nil {
		s.refuseSubmission(ctx, d, err)
		return Request{}, err
	}
	r, events, err := NewRequest(d, targets, support, pol, NewRequestID(), now)
	if err != nil {
		s.refuseSubmission(ctx, d, err)
		return Request{}, err
	}
	if note != "" {
		events[0].Detail += "; " + note
	}
	if err := s.create(ctx, d, r, events, now); err != nil {
		var v *ValidationError
		if errors.As(err, &v) { // the per-target limit, checked again as it is stored
			s.refuseSubmission(ctx, d, err)
			return Request{}, err
		}
		if errors.Is(err, ErrDuplicate) && d.SubmissionKey != "" {
			if prev, gerr := s.store.RequestBySubmissionKey(ctx, d.SubmissionKey); gerr == nil {
				return prev, fmt.Errorf("submission %s: request %s: %w", d.SubmissionKey, prev.ID, ErrDuplicate)
			}
		}
		return Request{}, fmt.Errorf("store request: %w", err)
	}
	s.log.InfoContext(ctx, "request created", "request_id", r.ID, "action", r.Action,
		"requester", r.Requester.SlackID, "targets", len(r.Targets), "privileged", r.Privileged())
	s.observer.Transitioned(r, "", now)
	s.notify.Changed(ctx, r)
	return r, nil
}

// refuseSubmission audits a submission refused because the requester's roles
// do not allow it; other validation problems are typing mistakes and leave
// no trace.
func (s *Service) refuseSubmission(ctx context.Context, d Draft, err error) {
	var v *ValidationError
	if !errors.As(err, &v) {
		return
	}
	var roleProblems []string
	for _, p := range v.Problems {
		if p.Policy {
			roleProblems = append(roleProblems, p.Message)
		}
	}
	if len(roleProblems) == 0 {
		return
	}
	ev := Event{Time: s.now(), Kind: EventRefused, Actor: d.Requester.SlackID, Action: d.Action,
		Detail: "request refused: " + strings.Join(roleProblems, "; ")}
	if aerr := s.store.AppendEvents(ctx, ev); aerr != nil {
		s.log.ErrorContext(ctx, "audit refused request", "error", aerr)
	}
}

// resolve looks every chosen person up in the directory, a few at a time.
// Unknown users come back as a *ValidationError on the targets field.
func (s *Service) resolve(ctx context.Context, people []Person) ([]Target, error) {
	targets := make([]Target, len(people))
	errs := make([]error, len(people))
	forEachLimited(len(people), s.resolvers, func(i int) { targets[i], errs[i] = s.resolveOne(ctx, people[i]) })
	v := &ValidationError{}
	for i, err := range errs {
		switch {
		case err == nil:
		case errors.Is(err, ErrUnknownUser):
			v.Add(FieldTargets, "%s (%s) is not a user of the %s directory", display(people[i]), people[i].Email, s.dir.Name())
		default:
			return nil, fmt.Errorf("look up %s in the directory: %w", people[i].Email, err)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return targets, nil
}

func (s *Service) resolveOne(ctx context.Context, p Person) (Target, error) {
	if p.Email == "" {
		return Target{}, fmt.Errorf("%s has no email: %w", display(p), ErrUnknownUser)
	}
	u, err := s.dir.ResolveUser(ctx, p.Email)
	if err != nil {
		return Target{}, err
	}
	priv, err := s.dir.IsPrivileged(ctx, u.ID)
	if err != nil {
		return Target{}, fmt.Errorf("check admin roles: %w", err)
	}
	return Target{SlackID: p.SlackID, Email: p.Email, DirectoryID: u.ID, Privileged: priv}, nil
}

// transition stores fn's change to request id and tells the notifier. A
// click the policy refuses is audited as `refused`; a click on a request past
// its deadline expires it.
func (s *Service) transition(ctx context.Context, id string, by Person, fn func(Request, time.Time) (Request, []Event, error)) (Request, error) {
	id = NormalizeRequestID(id)
	var before Request
	now := s.now()
	r, err := s.store.Update(ctx, id, func(r Request) (Request, []Event, error) {
		before = r
		return fn(r, now)
	})
	if err != nil {
		s.refused(ctx, before, by, err)
		return Request{}, err
	}
	from := before.State
	s.observer.Transitioned(r, from, now)
	s.log.InfoContext(ctx, "request "+string(r.State), "request_id", r.ID, "actor", by.SlackID, "from", from)
	s.notify.Changed(ctx, r)
	return r, nil
}

// Approve records by's approval of request id. Before it does, it looks by
// up in the directory and checks again whether each target holds an admin
// role (README, "Checked when it matters"). It returns a *DecisionError
// (wrapping ErrForbidden, ErrConflict, ErrExpired or ErrDuplicate) when by may
// not approve it now, also when a directory check cannot be made (audited as
// refused); ErrNotFound for an unknown ID.
func (s *Service) Approve(ctx context.Context, id string, by Person) (Request, error) {
	chk, err := s.approvalChecks(ctx, NormalizeRequestID(id), by, true)
	if err != nil {
		return Request{}, err
	}
	by = chk.by
	r, err := s.transition(ctx, id, by, func(r Request, now time.Time) (Request, []Event, error) {
		return chk.approve(r, s.Policy(), now)
	})
	if err != nil {
		return r, err
	}
	s.afterApproval(ctx, r)
	return r, nil
}

// afterApproval starts what an approval set off: the executor for an
// approved request, the steps of a tracked manual step.
func (s *Service) afterApproval(ctx context.Context, r Request) {
	switch {
	case r.State == StateApproved:
		s.kick()
	case r.State == StateRunning && r.Manual:
		if err := s.notify.ManualSteps(ctx, r, s.dir.ManualSteps(r.Action)); err != nil {
			s.log.ErrorContext(ctx, "send manual steps", "request_id", r.ID, "error", err)
		}
	}
}

// Deny ends request id on by's word; errors as Approve. by is looked up in
// the directory first, as an approver is, so that "never a target" holds
// across Slack accounts and aliases.
func (s *Service) Deny(ctx context.Context, id string, by Person, reason string) (Request, error) {
	by, lookErr := s.identifyDecider(ctx, by)
	return s.transition(ctx, id, by, func(r Request, now time.Time) (Request, []Event, error) {
		if lookErr != nil {
			return r, nil, lookupRefusal(r.ID, "denied", lookErr)
		}
		return r.Deny(s.Policy(), by, reason, now)
	})
}

// identifyDecider looks by up in the directory before a decision other than
// an approval (deny, a manual step). A look-up that fails comes back as the
// error, for the caller to refuse and audit: never decide unchecked.
func (s *Service) identifyDecider(ctx context.Context, by Person) (Person, error) {
	p, _, err := s.identify(ctx, by, "decider")
	if err != nil {
		s.log.ErrorContext(ctx, "decider check failed", "actor", by.SlackID, "error", err)
	}
	return p, err
}

// lookupRefusal is the refusal of a decision whose decider could not be
// looked up in the directory.
func lookupRefusal(id, verb string, err error) error {
	return decisionErr(ErrForbidden, "request %s cannot be %s now: the directory could not be checked (%v); try again", id, verb, err)
}

// Cancel withdraws request id; only its requester may, while it is pending.
func (s *Service) Cancel(ctx context.Context, id string, by Person) (Request, error) {
	return s.transition(ctx, id, by, func(r Request, now time.Time) (Request, []Event, error) {
		return r.Cancel(by, now)
	})
}

// MarkManual records that by did (done) or could not do the tracked manual
// step of request id, and completes it.
func (s *Service) MarkManual(ctx context.Context, id string, by Person, done bool, note string) (Request, error) {
	by, lookErr := s.identifyDecider(ctx, by)
	return s.transition(ctx, id, by, func(r Request, now time.Time) (Request, []Event, error) {
		if lookErr != nil {
			return r, nil, lookupRefusal(r.ID, "marked", lookErr)
		}
		return r.MarkManual(s.Policy(), by, done, note, now)
	})
}

func (s *Service) expire(ctx context.Context, id string) (Request, error) {
	return s.transition(ctx, id, Person{SlackID: BotActor}, func(r Request, now time.Time) (Request, []Event, error) {
		return r.Expire(now)
	})
}

// Get returns request id; ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, id string) (Request, error) {
	return s.store.Request(ctx, NormalizeRequestID(id))
}

// Status returns request id for by to see: by is its requester or holds a
// role in the policy. To anyone else the request does not exist: ErrNotFound,
// as for an unknown ID.
func (s *Service) Status(ctx context.Context, id string, by Person) (Request, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if !r.Requester.Is(by) && len(s.Policy().RolesOf(by)) == 0 {
		return Request{}, ErrNotFound
	}
	return r, nil
}

// AuthorizeDeny returns request id when by may deny it now, before a form
// asks by for a reason. When by may not, the refusal is recorded as a
// refused Deny is (a `refused` audit event when the policy forbids it, expiry
// when the request is past its deadline) and the *DecisionError comes back;
// ErrNotFound for an unknown ID.
func (s *Service) AuthorizeDeny(ctx context.Context, id string, by Person) (Request, error) {
	r, err := s.Get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	by, lookErr := s.identifyDecider(ctx, by)
	if lookErr != nil {
		err := lookupRefusal(r.ID, "denied", lookErr)
		s.refused(ctx, r, by, err)
		return Request{}, err
	}
	now := s.now()
	if err := r.checkDecider(s.Policy(), by, "deny", now); err != nil {
		s.refused(ctx, r, by, err)
		return Request{}, err
	}
	return r, nil
}

// AttachMessage remembers where request id is shown (an opaque reference
// owned by the chat adapter). It writes no audit event.
func (s *Service) AttachMessage(ctx context.Context, id, ref string) error {
	_, err := s.store.Update(ctx, NormalizeRequestID(id), func(r Request) (Request, []Event, error) {
		n := r.Clone()
		n.Message = ref
		return n, nil, nil
	})
	return err
}

// MayDecide returns nil when by may approve or deny r now, else the reason.
func (s *Service) MayDecide(r Request, by Person) error {
	if err := r.checkDecider(s.Policy(), by, "approve or deny", s.now()); err != nil {
		return err
	}
	if r.ApprovedBy(by) {
		return decisionErr(ErrDuplicate, "you approved request %s already", r.ID)
	}
	return nil
}

// Actionable returns the open requests p can act on: pending ones p may
// approve or deny, p's own pending ones (to cancel), and running manual steps
// p may mark done or failed.
func (s *Service) Actionable(ctx context.Context, p Person) ([]Request, error) {
	rs, err := s.store.ListRequests(ctx, RequestFilter{States: []State{StatePending, StateRunning}})
	if err != nil {
		return nil, fmt.Errorf("list open requests: %w", err)
	}
	var out []Request
	for _, r := range rs {
		switch {
		case r.State == StatePending && (r.Requester.Is(p) || s.MayDecide(r, p) == nil):
			out = append(out, r)
		case r.State == StateRunning && r.Manual && !r.Requester.Is(p) && !r.IsTarget(p) &&
			s.Policy().CanApprove(p, r.Action, r.Privileged()):
			out = append(out, r)
		}
	}
	return out, nil
}

// SweepExpired expires every pending request past its deadline and returns
// how many it expired.
func (s *Service) SweepExpired(ctx context.Context) (int, error) {
	rs, err := s.store.ListRequests(ctx, RequestFilter{States: []State{StatePending}, ExpiresBefore: s.now()})
	if err != nil {
		return 0, fmt.Errorf("list expired requests: %w", err)
	}
	n := 0
	for _, r := range rs {
		if _, err := s.expire(ctx, r.ID); err != nil {
			if errors.Is(err, ErrConflict) { // decided meanwhile
				continue
			}
			return n, fmt.Errorf("expire %s: %w", r.ID, err)
		}
		n++
	}
	return n, nil
}

// RunSweeper expires overdue requests every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := s.SweepExpired(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "sweep expired requests", "error", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "expired requests", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
