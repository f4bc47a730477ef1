package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

func TestCreateAndRead(t *testing.T) {
	t.Parallel()
	full := actions.Request{
		ID: "RFULL000001", Requester: requester, Action: actions.ResetPassword,
		Targets: []actions.Target{
			{SlackID: "UTGT000", Email: "a@example.com", DirectoryID: "dir-a",
				Result: &actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "done; request-id 123", At: t0.Add(time.Minute)}},
			{SlackID: "UTGT001", Email: "b@example.com", DirectoryID: "dir-b", Privileged: true},
			{Email: "c@example.com", DirectoryID: "dir-c",
				Result: &actions.TargetResult{Outcome: actions.OutcomeSkipped}},
		},
		Reason: "lost phone", Ticket: "INC-7", State: actions.StateRunning,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0.Add(2 * time.Minute), ApprovalsNeeded: 2,
		Approvals: []actions.Approval{
			{By: approver(1), At: t0.Add(time.Second)},
			{By: approver(0), At: t0.Add(time.Second)}, // same time: order kept anyway
		},
		DecidedBy: approver(3), DecisionNote: "note", Message: "C123/1700000000.000100",
		SubmissionKey: "V123:abc", LeaseOwner: "host-1/42", LeaseUntil: t0.Add(30 * time.Second), Version: 7,
	}
	pending, _, _ := newRequest(t, reqOpts{})
	tests := []struct {
		name string
		r    actions.Request
	}{
		{"every field set", full},
		{"new pending request", pending},
		{"no targets, no key, zero times", actions.Request{ID: "RZERO000001", Action: actions.BlockSignIn, State: actions.StatePending}},
	}
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		for _, tc := range tests {
			if err := s.CreateRequest(ctx, tc.r, nil); err != nil {
				t.Fatalf("%s: create: %v", tc.name, err)
			}
			got, err := s.Request(ctx, tc.r.ID)
			if err != nil {
				t.Fatalf("%s: read: %v", tc.name, err)
			}
			if diff := cmp.Diff(stored(tc.r), got); diff != "" {
				t.Errorf("%s: read back (-want +got):\n%s", tc.name, diff)
			}
			if !got.CreatedAt.IsZero() && got.CreatedAt.Location() != time.UTC {
				t.Errorf("%s: CreatedAt in %v, want UTC", tc.name, got.CreatedAt.Location())
			}
			if tc.r.SubmissionKey != "" {
				byKey, err := s.RequestBySubmissionKey(ctx, tc.r.SubmissionKey)
				if err != nil {
					t.Fatalf("%s: read by submission key: %v", tc.name, err)
				}
				if diff := cmp.Diff(got, byKey); diff != "" {
					t.Errorf("%s: by submission key (-by id +by key):\n%s", tc.name, diff)
				}
			}
		}
	})
}

func TestCreateDuplicate(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		first, events, _ := newRequest(t, reqOpts{key: "V1:submit"})
		if err := s.CreateRequest(ctx, first, events); err != nil {
			t.Fatalf("create: %v", err)
		}
		sameKey, events2, _ := newRequest(t, reqOpts{key: "V1:submit", targets: 3})
		sameID, events3, _ := newRequest(t, reqOpts{key: "V2:other"})
		sameID.ID = first.ID
		for name, tc := range map[string]struct {
			r      actions.Request
			events []actions.Event
		}{"same submission key": {sameKey, events2}, "same ID": {sameID, events3}} {
			wantErr(t, name, s.CreateRequest(ctx, tc.r, tc.events), actions.ErrDuplicate)
		}
		// Nothing of the duplicates was stored: no request, no event.
		if _, err := s.Request(ctx, sameKey.ID); !errors.Is(err, actions.ErrNotFound) {
			t.Errorf("duplicate by key stored anyway: %v", err)
		}
		if _, err := s.RequestBySubmissionKey(ctx, "V2:other"); !errors.Is(err, actions.ErrNotFound) {
			t.Errorf("duplicate by ID stored anyway: %v", err)
		}
		if got, err := s.RequestBySubmissionKey(ctx, "V1:submit"); err != nil || got.ID != first.ID || len(got.Targets) != 2 {
			t.Errorf("by key: %s with %d targets, %v; want %s with 2", got.ID, len(got.Targets), err, first.ID)
		}
		if got := kinds(allEvents(t, s), ""); got[actions.EventCreated] != 1 {
			t.Errorf("created events: %d, want 1", got[actions.EventCreated])
		}
		// Requests without a key do not collide.
		for range 2 {
			create(t, s, reqOpts{})
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		called := false
		tests := []struct {
			name string
			call func() error
		}{
			{"Request", func() error { _, err := s.Request(ctx, "RNOSUCH0000"); return err }},
			{"RequestBySubmissionKey", func() error { _, err := s.RequestBySubmissionKey(ctx, "nope"); return err }},
			{"RequestBySubmissionKey empty", func() error { _, err := s.RequestBySubmissionKey(ctx, ""); return err }},
			{"Update", func() error {
				_, err := s.Update(ctx, "RNOSUCH0000", func(r actions.Request) (actions.Request, []actions.Event, error) {
					called = true
					return r, nil, nil
				})
				return err
			}},
			{"ClaimNext", func() error {
				_, err := s.ClaimNext(ctx, t0, true, actions.Lease("exec", t0, t0.Add(time.Minute)))
				return err
			}},
		}
		for _, tc := range tests {
			wantErr(t, tc.name, tc.call(), actions.ErrNotFound)
		}
		if called {
			t.Error("Update called fn for a missing request")
		}
	})
}

func TestListRequests(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		// Made in this order, a minute apart: created_at orders them.
		specs := []struct {
			name  string
			by    actions.Person
			state actions.State
		}{
			{"a", requester, actions.StatePending},
			{"b", requester2, actions.StatePending},
			{"c", requester, actions.StateApproved},
			{"d", requester2, actions.StateDenied},
			{"e", requester, actions.StatePending},
		}
		ids := map[string]string{}
		for i, sp := range specs {
			r, events, _ := newRequest(t, reqOpts{requester: sp.by, now: t0.Add(time.Duration(len(specs)-i) * -time.Minute), targets: i%3 + 1})
			r.State = sp.state
			if sp.state == actions.StateApproved {
				r.Approvals = []actions.Approval{{By: approver(i), At: r.CreatedAt}}
			}
			if err := s.CreateRequest(ctx, r, events); err != nil {
				t.Fatal(err)
			}
			ids[sp.name] = r.ID
		}
		counts, err := s.CountOpen(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[actions.State]int{actions.StatePending: 3, actions.StateApproved: 1}, counts); diff != "" {
			t.Errorf("CountOpen (-want +got):\n%s", diff)
		}
		// ExpiresAt = created + 1h: a at t0+55m, …, e at t0+59m.
		tests := []struct {
			name string
			f    actions.RequestFilter
			want []string
		}{
			{"all", actions.RequestFilter{}, []string{"a", "b", "c", "d", "e"}},
			{"pending", actions.RequestFilter{States: []actions.State{actions.StatePending}}, []string{"a", "b", "e"}},
			{"pending or denied", actions.RequestFilter{States: []actions.State{actions.StateDenied, actions.StatePending}}, []string{"a", "b", "d", "e"}},
			{"requester", actions.RequestFilter{Requester: requester2.SlackID}, []string{"b", "d"}},
			{"expires before", actions.RequestFilter{ExpiresBefore: t0.Add(57 * time.Minute).Truncate(time.Microsecond)}, []string{"a", "b"}},
			// c was made to expire at t0+57m, nanoseconds included; it is
			// stored (and read) cut to the microsecond, so before t0+57m.
			{"expires before, sub-microsecond", actions.RequestFilter{ExpiresBefore: t0.Add(57 * time.Minute)}, []string{"a", "b", "c"}},
			{"pending, expires before", actions.RequestFilter{States: []actions.State{actions.StatePending}, ExpiresBefore: t0.Add(time.Hour)}, []string{"a", "b", "e"}},
			{"limit", actions.RequestFilter{Limit: 2}, []string{"a", "b"}},
			{"requester and state", actions.RequestFilter{Requester: requester.SlackID, States: []actions.State{actions.StateApproved}}, []string{"c"}},
			{"none", actions.RequestFilter{States: []actions.State{actions.StateRunning}}, nil},
		}
		for _, tc := range tests {
			got, err := s.ListRequests(ctx, tc.f)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			var names []string
			for _, r := range got {
				for name, id := range ids {
					if id == r.ID {
						names = append(names, name)
					}
				}
				// Fully loaded, the same as Request gives.
				one, err := s.Request(ctx, r.ID)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(one, r); diff != "" {
					t.Errorf("%s: listed %s differs from Request (-Request +List):\n%s", tc.name, r.ID, diff)
				}
			}
			if diff := cmp.Diff(tc.want, names); diff != "" {
				t.Errorf("%s: (-want +got):\n%s", tc.name, diff)
			}
		}
	})
}

// idem returns fn's input unchanged, with no events.
func idem(r actions.Request) (actions.Request, []actions.Event, error) { return r, nil, nil }

func TestEventKindRequired(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		err := s.AppendEvents(context.Background(), actions.Event{Time: t0, Actor: "U1"})
		if err == nil {
			t.Fatal("appended an event without a kind")
		}
		if n := len(allEvents(t, s)); n != 0 {
			t.Errorf("%d events stored, want 0", n)
		}
	})
}
