package storage_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// approved stores a new request and approves it at at.
func approved(t *testing.T, s *storage.Store, o reqOpts, at time.Time) actions.Request {
	t.Helper()
	o.now = at
	r, pol := create(t, s, o)
	return update(t, s, r.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
		return r.Approve(pol, approver(0), at)
	})
}

func TestClaimNext(t *testing.T) {
	t.Parallel()
	const lease = 30 * time.Second
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		// A manual step, approved first: running without a lease, never claimed.
		manual := approved(t, s, reqOpts{manual: true}, t0)
		if manual.State != actions.StateRunning || manual.LeaseOwner != "" {
			t.Fatalf("manual step is %s leased by %q, want running without a lease", manual.State, manual.LeaseOwner)
		}
		pending, _ := create(t, s, reqOpts{})
		first := approved(t, s, reqOpts{}, t0.Add(time.Second))
		second := approved(t, s, reqOpts{}, t0.Add(2*time.Second))

		now := t0.Add(time.Minute)
		steps := []struct {
			name    string
			owner   string
			now     time.Time
			want    string // request ID; "" for ErrNotFound
			started bool   // a started event is appended
			keep    bool   // takeOver false: lapsed leases stay their owners'
		}{
			{"oldest approved first", "exec-1", now, first.ID, true, true},
			{"then the next", "exec-2", now, second.ID, true, true},
			{"live leases are not taken", "exec-3", now.Add(lease - time.Microsecond), "", false, false},
			{"lapsed leases are not taken without takeOver", "exec-3", now.Add(lease + time.Second), "", false, true},
			{"a lapsed lease is taken over", "exec-3", now.Add(lease + time.Microsecond), first.ID, false, false},
			{"the other lapsed lease", "exec-4", now.Add(lease + time.Microsecond), second.ID, false, false},
			{"nothing left", "exec-5", now.Add(lease + time.Second), "", false, false},
		}
		for _, st := range steps {
			before := allEvents(t, s)
			got, err := s.ClaimNext(ctx, st.now, !st.keep, actions.Lease(st.owner, st.now, st.now.Add(lease)))
			if st.want == "" {
				wantErr(t, st.name, err, actions.ErrNotFound)
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got.ID != st.want || got.State != actions.StateRunning || got.LeaseOwner != st.owner ||
				!got.LeaseUntil.Equal(st.now.Add(lease).Truncate(time.Microsecond)) {
				t.Fatalf("%s: claimed %s (%s) leased to %q until %v; want %s running leased to %q until %v",
					st.name, got.ID, got.State, got.LeaseOwner, got.LeaseUntil, st.want, st.owner, st.now.Add(lease))
			}
			after := allEvents(t, s)
			added := kinds(after[len(before):], "")
			wantAdded := map[actions.EventKind]int{}
			if st.started {
				wantAdded[actions.EventStarted] = 1
			}
			if diff := cmp.Diff(wantAdded, added); diff != "" {
				t.Errorf("%s: events appended (-want +got):\n%s", st.name, diff)
			}
			stored, err := s.Request(ctx, got.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.LeaseOwner != st.owner || stored.Version != got.Version {
				t.Errorf("%s: stored lease owner %q version %d, want %q version %d", st.name, stored.LeaseOwner, stored.Version, st.owner, got.Version)
			}
		}
		for _, r := range []actions.Request{manual, pending} {
			got, err := s.Request(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != r.Version || got.LeaseOwner != "" {
				t.Errorf("%s (%s) was touched: version %d lease owner %q", r.ID, r.State, got.Version, got.LeaseOwner)
			}
		}
		// A released lease (the executor stopping) is taken at once, even
		// without takeOver.
		update(t, s, first.ID, func(r actions.Request) (actions.Request, []actions.Event, error) {
			n := r.Clone()
			n.LeaseOwner, n.LeaseUntil = "", time.Time{}
			return n, nil, nil
		})
		got, err := s.ClaimNext(ctx, now, false, actions.Lease("exec-6", now, now.Add(lease)))
		if err != nil || got.ID != first.ID {
			t.Errorf("after release: claimed %s, %v; want %s", got.ID, err, first.ID)
		}
		if n := kinds(allEvents(t, s), first.ID)[actions.EventStarted]; n != 1 {
			t.Errorf("%d started events for %s, want 1", n, first.ID)
		}
	})
}
