package actions

import (
	"errors"
	"testing"
)

func TestAbandon(t *testing.T) {
	const reason = "the approval request could not be posted in C0APPROVE (not_in_channel)"
	for _, s := range []State{StatePending, StateApproved, StateRunning, StateSucceeded, StateDenied, StateExpired, StateCancelled} {
		r := pending(withState(s))
		n, evs, err := r.Abandon(reason, t0.Add(1))
		if s != StatePending {
			var de *DecisionError
			if !errors.As(err, &de) || de.Kind != ErrConflict || len(evs) != 0 || n.State != s {
				t.Errorf("%s: %v, %d events, state %s; want a conflict and no change", s, err, len(evs), n.State)
			}
			continue
		}
		if err != nil || n.State != StateCancelled || !n.Abandoned() || n.DecisionNote != reason {
			t.Fatalf("pending: %v, %+v", err, n)
		}
		if len(evs) != 1 || evs[0].Kind != EventCancelled || evs[0].Actor != BotActor || evs[0].Detail != reason ||
			ClosingEvent(n.State) != EventCancelled {
			t.Errorf("events %+v", evs)
		}
		if r.State != StatePending {
			t.Error("Abandon changed its receiver")
		}
	}
	if c, _, _ := pending().Cancel(helpdesk, t0); c.Abandoned() {
		t.Error("a requester's cancellation counts as abandoned")
	}
}
