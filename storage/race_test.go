package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// TestRaceApproveAndClaim is the race the store exists to win: many
// replicas (each its own Store, so its own connections) approve one pending
// request at the same moment, then try to claim it at the same moment. The
// approvers are distinct people who all hold the approving role.
//
// Exactly the approvals needed are stored, every other approver gets an
// error wrapping actions.ErrConflict (the request is no longer pending),
// exactly one claimer gets the request, and the audit log has one approved
// event per stored approval, one started event, and a valid chain.
//
// Not parallel with other tests: PostgreSQL has 60 connections to spare.
func TestRaceApproveAndClaim(t *testing.T) {
	replicas := map[string]int{storage.DialectPostgres: approverCount, storage.DialectSQLite: 16}
	for _, dialect := range storagetest.Dialects {
		for _, needed := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/approvals=%d", dialect, needed), func(t *testing.T) {
				db := storagetest.New(t, dialect)
				raceApproveAndClaim(t, db, replicas[dialect], needed)
			})
		}
	}
}

func raceApproveAndClaim(t *testing.T, db storagetest.DB, n, needed int) {
	r, pol := create(t, db.Store, reqOpts{approvals: needed})
	stores := make([]*storage.Store, n)
	for i := range stores {
		stores[i] = db.Open(t)
	}
	now := t0.Add(time.Minute)

	// All at once: approve.
	approveErrs := race(stores, func(i int, s *storage.Store) error {
		_, err := s.Update(context.Background(), r.ID, func(cur actions.Request) (actions.Request, []actions.Event, error) {
			return cur.Approve(pol, approver(i), now)
		})
		return err
	})
	if ok := winners(t, "approver", approveErrs, actions.ErrConflict); ok != needed {
		t.Errorf("%d approvals succeeded, want %d", ok, needed)
	}
	got, err := db.Store.Request(context.Background(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != actions.StateApproved || len(got.Approvals) != needed || got.Version != int64(needed) {
		t.Fatalf("after the approvals: %s with %d approvals, version %d; want approved with %d, version %d",
			got.State, len(got.Approvals), got.Version, needed, needed)
	}

	// All at once: claim.
	claimed := make([]actions.Request, n)
	claimErrs := race(stores, func(i int, s *storage.Store) error {
		var err error
		claimed[i], err = s.ClaimNext(context.Background(), now, true, actions.Lease("exec-"+approver(i).SlackID, now, now.Add(time.Minute)))
		return err
	})
	if n := winners(t, "claimer", claimErrs, actions.ErrNotFound); n != 1 {
		t.Errorf("%d claimers got the request, want 1", n)
	}
	for i, err := range claimErrs {
		if err == nil && (claimed[i].ID != r.ID || claimed[i].State != actions.StateRunning || claimed[i].LeaseOwner != "exec-"+approver(i).SlackID) {
			t.Errorf("claimer %d got %s (%s) leased to %q", i, claimed[i].ID, claimed[i].State, claimed[i].LeaseOwner)
		}
	}

	counts := kinds(allEvents(t, db.Store), r.ID) // verifies the chain
	if counts[actions.EventApproved] != needed || counts[actions.EventStarted] != 1 || counts[actions.EventCreated] != 1 || len(counts) != 3 {
		t.Errorf("events %v; want 1 created, %d approved, 1 started", counts, needed)
	}
}

// race calls fn for every store in its own goroutine, releasing them
// together, and returns their errors by index.
func race(stores []*storage.Store, fn func(i int, s *storage.Store) error) []error {
	errs := make([]error, len(stores))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			<-start
			errs[i] = fn(i, s)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// winners counts the racers that succeeded (a nil error) and reports, as
// "what i", every other whose error does not wrap lost.
func winners(t testing.TB, what string, errs []error, lost error) int {
	t.Helper()
	n := 0
	for i, err := range errs {
		switch {
		case err == nil:
			n++
		case !errors.Is(err, lost):
			t.Errorf("%s %d: %v, want success or an error wrapping %v", what, i, err, lost)
		}
	}
	return n
}

// TestRaceDuplicateSubmission submits one form from many replicas at once,
// as a redelivered Slack view submission would: one request is stored, every
// other submission gets an error wrapping actions.ErrDuplicate.
func TestRaceDuplicateSubmission(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		t.Parallel()
		stores := make([]*storage.Store, 8)
		requests := make([]actions.Request, len(stores))
		events := make([][]actions.Event, len(stores))
		for i := range stores {
			stores[i] = db.Open(t)
			requests[i], events[i], _ = newRequest(t, reqOpts{key: "V42:submission"})
		}
		errs := race(stores, func(i int, s *storage.Store) error {
			return s.CreateRequest(context.Background(), requests[i], events[i])
		})
		if ok := winners(t, "submission", errs, actions.ErrDuplicate); ok != 1 {
			t.Errorf("%d submissions stored, want 1", ok)
		}
		all, err := db.Store.ListRequests(t.Context(), actions.RequestFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if n := kinds(allEvents(t, db.Store), "")[actions.EventCreated]; len(all) != 1 || n != 1 {
			t.Errorf("%d requests and %d created events stored, want 1 and 1", len(all), n)
		}
	})
}
