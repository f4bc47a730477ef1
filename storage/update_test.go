package storage_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// TestUpdateLifecycle walks a request through every kind of write Update
// makes and checks after each that what is stored is what Update returned,
// with the events appended alongside.
func TestUpdateLifecycle(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		r, pol := create(t, s, reqOpts{approvals: 2})
		at := func(d time.Duration) time.Time { return t0.Add(d) }
		steps := []struct {
			name   string
			fn     func(actions.Request) (actions.Request, []actions.Event, error)
			state  actions.State
			events []actions.EventKind // appended by this step
		}{
			{"first approval", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.Approve(pol, approver(0), at(time.Minute))
			}, actions.StatePending, []actions.EventKind{actions.EventApproved}},
			{"message reference", func(r actions.Request) (actions.Request, []actions.Event, error) {
				n := r.Clone()
				n.Message = "C1/1700000000.000200"
				return n, nil, nil
			}, actions.StatePending, nil},
			{"second approval", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.Approve(pol, approver(1), at(2*time.Minute))
			}, actions.StateApproved, []actions.EventKind{actions.EventApproved}},
			{"start", func(r actions.Request) (actions.Request, []actions.Event, error) {
				n, ev, err := r.Start(at(3 * time.Minute))
				n.LeaseOwner, n.LeaseUntil = "exec-1", at(4*time.Minute)
				return n, ev, err
			}, actions.StateRunning, []actions.EventKind{actions.EventStarted}},
			{"first result", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.RecordResult(1, actions.TargetResult{Outcome: actions.OutcomeFailed, Detail: "HTTP 500"}, at(5*time.Minute+7))
			}, actions.StateRunning, []actions.EventKind{actions.EventTargetResult}},
			{"second result and completion", func(r actions.Request) (actions.Request, []actions.Event, error) {
				n, ev, err := r.RecordResult(0, actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "ok"}, at(6*time.Minute))
				if err != nil {
					return r, nil, err
				}
				n, ev2, err := n.Complete(at(6 * time.Minute))
				return n, append(ev, ev2...), err
			}, actions.StatePartiallyFailed, []actions.EventKind{actions.EventTargetResult, actions.EventCompleted}},
		}
		want := []actions.EventKind{actions.EventCreated}
		for i, st := range steps {
			got := updateStored(t, s, r.ID, st.name, st.fn)
			if got.State != st.state || got.Version != int64(i+1) {
				t.Fatalf("%s: state %s version %d, want %s version %d", st.name, got.State, got.Version, st.state, i+1)
			}
			want = append(want, st.events...)
			var kindsGot []actions.EventKind
			for _, e := range allEvents(t, s) {
				kindsGot = append(kindsGot, e.Kind)
			}
			if diff := cmp.Diff(want, kindsGot); diff != "" {
				t.Fatalf("%s: events (-want +got):\n%s", st.name, diff)
			}
		}
		final, _ := s.Request(ctx, r.ID)
		if len(final.Approvals) != 2 || final.Approvals[0].By != approver(0) || final.Approvals[1].By != approver(1) {
			t.Errorf("approvals %+v, want approver 0 then 1", final.Approvals)
		}
		if res := final.Targets[1].Result; res == nil || res.Outcome != actions.OutcomeFailed || !res.At.Equal(at(5*time.Minute).Truncate(time.Microsecond)) {
			t.Errorf("target 1 result %+v, want failed at %v (cut to microseconds)", res, at(5*time.Minute))
		}
		if final.LeaseOwner != "" || !final.LeaseUntil.IsZero() {
			t.Errorf("lease (%q, %v) after completion, want none", final.LeaseOwner, final.LeaseUntil)
		}
	})
}

// TestUpdateWritesNothing checks the updates that must fail leave the
// request and the audit log exactly as they were.
func TestUpdateWritesNothing(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		// A running request with approvals needed 2, one given so far…
		r, pol := create(t, s, reqOpts{approvals: 2})
		r = update(t, s, r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
			return r.Approve(pol, approver(0), t0)
		})
		// …and one that ran and has a result for target 0.
		ran, pol1 := create(t, s, reqOpts{})
		ran = update(t, s, ran.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
			n, ev, err := r.Approve(pol1, approver(0), t0)
			if err != nil {
				return r, nil, err
			}
			n, ev2, err := n.Start(t0)
			if err != nil {
				return r, nil, err
			}
			n, ev3, err := n.RecordResult(0, actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "first"}, t0)
			return n, append(append(ev, ev2...), ev3...), err
		})

		tests := []struct {
			name string
			id   string
			fn   func(actions.Request) (actions.Request, []actions.Event, error)
			is   error // errors.Is
			same bool  // the error is fn's, unchanged
		}{
			{"fn fails", r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
				n, ev, _ := r.Approve(pol, approver(1), t0)
				return n, ev, boom
			}, boom, true},
			{"transition refused", r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.Cancel(approver(5), t0) // not the requester
			}, actions.ErrForbidden, true},
			{"same approver twice", r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
				// What a stale read or a bug would do: the domain check bypassed.
				n := r.Clone()
				n.Approvals = append(n.Approvals, actions.Approval{By: approver(0), At: t0.Add(time.Second)})
				n.State = actions.StateApproved
				ev := actions.Event{Time: t0, RequestID: r.ID, Kind: actions.EventApproved, Actor: approver(0).SlackID}
				return n, []actions.Event{ev}, nil
			}, actions.ErrDuplicate, false},
			{"second result for a target", ran.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
				n := r.Clone()
				n.Targets[0].Result = &actions.TargetResult{Outcome: actions.OutcomeFailed, Detail: "second", At: t0.Add(time.Hour)}
				n.Targets[1].Result = &actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "new", At: t0.Add(time.Hour)}
				ev := actions.Event{Time: t0, RequestID: r.ID, Kind: actions.EventTargetResult, Actor: actions.BotActor}
				return n, []actions.Event{ev, ev}, nil
			}, actions.ErrDuplicate, false},
			{"result removed", ran.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
				n := r.Clone()
				n.Targets[0].Result = nil
				return n, nil, nil
			}, actions.ErrDuplicate, false},
			{"fixed field changed", r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
				n := r.Clone()
				n.Reason = "rewritten"
				n.State = actions.StateDenied
				return n, nil, nil
			}, nil, false},
			{"approval dropped", r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
				n := r.Clone()
				n.Approvals = nil
				return n, nil, nil
			}, nil, false},
		}
		before := map[string]actions.Request{r.ID: r, ran.ID: ran}
		eventsBefore := allEvents(t, s)
		for _, tc := range tests {
			_, err := s.Update(ctx, tc.id, tc.fn)
			switch {
			case err == nil:
				t.Fatalf("%s: Update succeeded", tc.name)
			case tc.same && err != tc.is && !errors.As(err, new(*actions.DecisionError)):
				t.Errorf("%s: error %v is not fn's own", tc.name, err)
			case tc.is != nil && !errors.Is(err, tc.is):
				t.Errorf("%s: error %v, want one wrapping %v", tc.name, err, tc.is)
			}
			got, err := s.Request(ctx, tc.id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before[tc.id], got); diff != "" {
				t.Errorf("%s: request changed (-before +after):\n%s", tc.name, diff)
			}
			if diff := cmp.Diff(eventsBefore, allEvents(t, s)); diff != "" {
				t.Errorf("%s: audit log changed (-before +after):\n%s", tc.name, diff)
			}
		}
		// fn's own error comes back as is, for errors.Is and errors.As.
		_, err := s.Update(ctx, r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) { return r, nil, boom })
		if err != boom {
			t.Errorf("Update returned %v, want fn's error itself", err)
		}
		_, err = s.Update(ctx, r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
			return r.Approve(pol, approver(0), t0)
		})
		var de *actions.DecisionError
		if !errors.As(err, &de) || !errors.Is(err, actions.ErrDuplicate) {
			t.Errorf("approving twice: %v, want the domain's DecisionError wrapping ErrDuplicate", err)
		}
		// An update that changes nothing still counts as a change.
		if got := update(t, s, r.ID, idem); got.Version != r.Version+1 {
			t.Errorf("version %d after a no-op update, want %d", got.Version, r.Version+1)
		}
	})
}
