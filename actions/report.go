package actions

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReportNotMe records by's "This wasn't me" on request id and starts the
// containment at once (see Request.ReportNotMe). A click the policy does not
// count — by is not the affected user, or the button expired — is audited
// as `refused` and returns a *DecisionError wrapping ErrForbidden or
// ErrExpired; a second report returns one wrapping ErrDuplicate and starts
// nothing; ErrNotFound for an unknown ID.
func (s *Service) ReportNotMe(ctx context.Context, id string, by Person) (Report, error) {
	id = NormalizeRequestID(id)
	now := s.now()
	var action Action
	pol := s.Policy()
	reported, steps, err := s.store.UpdateCreate(ctx, id, func(r Request) (Request, []Request, []Event, error) {
		action = r.Action
		return r.ReportNotMe(pol, by, s.ttl, NewRequestID, now)
	})
	if errors.Is(err, ErrForbidden) || errors.Is(err, ErrExpired) {
		ev := Event{Time: now, RequestID: id, Kind: EventRefused, Actor: by.SlackID, Action: action,
			Detail: "\"This wasn't me\" refused: " + err.Error()}
		if aerr := s.store.AppendEvents(ctx, ev); aerr != nil {
			s.log.ErrorContext(ctx, "audit refused report", "request_id", id, "error", aerr)
		}
		s.log.WarnContext(ctx, "report refused", "request_id", id, "actor", by.SlackID, "reason", err.Error())
		return Report{}, err
	}
	if err != nil {
		return Report{}, err
	}
	names := make([]string, len(steps))
	for i, c := range steps {
		names[i] = c.ID
		s.observer.Transitioned(c, "", now)
	}
	s.log.WarnContext(ctx, "reported as not them: containing", "request_id", id, "actor", by.SlackID,
		"containment", strings.Join(names, ","))
	if len(steps) > 0 {
		s.kick()
	}
	s.notify.Changed(ctx, reported)
	return Report{Reported: reported, Containment: steps}, nil
}

// NotMeTerms returns what "This wasn't me" runs (the policy's containment)
// and how long after an action its button works.
func (s *Service) NotMeTerms() ([]Action, time.Duration) {
	return append([]Action(nil), s.Policy().Containment...), s.ttl
}

// ContainmentOf returns the containment requests started by reports on
// request id, in the order they were made.
func (s *Service) ContainmentOf(ctx context.Context, id string) ([]Request, error) {
	rs, err := s.store.ListRequests(ctx, RequestFilter{Contains: NormalizeRequestID(id)})
	if err != nil {
		return nil, fmt.Errorf("list containment of %s: %w", id, err)
	}
	return rs, nil
}

// uncountedStates are the states the per-target limit does not count: a
// request that was never approved and never will be.
var uncountedStates = []State{StateDenied, StateExpired, StateCancelled}

// checkPerTarget refuses a draft that would act on a user more often than
// limits.per_target allows, naming the earlier request and when the window
// frees up; requesters holding a privileged role are not limited. The
// refusal is a policy problem on the targets field.
func (s *Service) checkPerTarget(d Draft, targets []Target, now time.Time, list func(RequestFilter) ([]Request, error)) error {
	lim := s.Policy().PerTarget
	if !lim.Applies(d.Action) || s.Policy().HoldsPrivileged(d.Requester) {
		return nil
	}
	v := &ValidationError{}
	for _, t := range targets {
		ref := t.Ref()
		rs, err := list(RequestFilter{
			Actions: lim.Actions, CreatedAfter: now.Add(-lim.Window), ExcludeStates: uncountedStates, Target: &ref,
		})
		if err != nil {
			return fmt.Errorf("check limits.per_target: %w", err)
		}
		rs = slices.DeleteFunc(rs, func(r Request) bool {
			return r.Containment != nil || !r.IsTarget(t.Person())
		})
		if len(rs) < lim.Max {
			continue
		}
		// The window frees up when the oldest of the last Max requests
		// leaves it; rs is oldest first.
		first := rs[len(rs)-lim.Max]
		v.AddPolicy(FieldTargets, "%s was the target of %s request %s at %s; at most %d such request(s) per user in %s, so another is possible from %s (or ask someone with one of the roles %s)",
			display(t.Person()), first.Action, first.ID, first.CreatedAt.UTC().Format("2006-01-02 15:04 MST"), lim.Max, lim.Window,
			first.CreatedAt.Add(lim.Window).UTC().Format("2006-01-02 15:04 MST"), strings.Join(s.Policy().PrivilegedRoles, ", "))
	}
	return v.Err()
}

// GuardedCreator is implemented by stores that can check and create a
// request in one transaction, serialised with other such calls sharing a
// key (storage.Store.CreateRequestIf): so that two submissions at once
// cannot both pass the per-target limit.
type GuardedCreator interface {
	CreateRequestIf(ctx context.Context, r Request, events []Event, keys []string,
		check func(list func(RequestFilter) ([]Request, error)) error) error
}

func (s *Service) listFn(ctx context.Context) func(RequestFilter) ([]Request, error) {
	return func(f RequestFilter) ([]Request, error) { return s.store.ListRequests(ctx, f) }
}

// create stores r. When the per-target limit applies to it and the store
// can, the limit is checked again in the transaction that stores it, under
// a lock per target (its directory ID and email).
func (s *Service) create(ctx context.Context, d Draft, r Request, events []Event, now time.Time) error {
	gc, ok := s.store.(GuardedCreator)
	if !ok || !s.Policy().PerTarget.Applies(d.Action) {
		return s.store.CreateRequest(ctx, r, events)
	}
	var keys []string
	for _, t := range r.Targets {
		keys = append(keys, "dir:"+t.DirectoryID, "email:"+strings.ToLower(t.Email))
	}
	return gc.CreateRequestIf(ctx, r, events, keys, func(list func(RequestFilter) ([]Request, error)) error {
		return s.checkPerTarget(d, r.Targets, now, list)
	})
}
