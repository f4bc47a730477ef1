package actions

import (
	"context"
	"time"
)

// Abandon ends a pending request that cannot be put before its approvers,
// such as when its approval message cannot be posted (the bot is not in the
// approval channel): cancelled by mfadesk with reason, instead of left to
// expire unseen. Nothing was done to any target.
func (r Request) Abandon(reason string, now time.Time) (Request, []Event, error) {
	if r.State != StatePending {
		return r, nil, decisionErr(ErrConflict, "request %s is %s, not pending", r.ID, r.State)
	}
	n := r.Clone()
	n.State, n.DecidedBy, n.DecisionNote, n.UpdatedAt = StateCancelled, Person{SlackID: BotActor}, reason, now
	ev := n.event(EventCancelled, BotActor, now)
	ev.Detail = reason
	return n, []Event{ev}, nil
}

// Abandoned reports whether r was cancelled by mfadesk (Abandon), not by its
// requester.
func (r Request) Abandoned() bool {
	return r.State == StateCancelled && r.DecidedBy.SlackID == BotActor
}

// Abandon cancels pending request id on mfadesk's behalf with reason; see
// Request.Abandon. Errors as Cancel.
func (s *Service) Abandon(ctx context.Context, id, reason string) (Request, error) {
	return s.transition(ctx, id, Person{SlackID: BotActor}, func(r Request, now time.Time) (Request, []Event, error) {
		return r.Abandon(reason, now)
	})
}
