package storage_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

func TestRenewLease(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		r := approved(t, s, reqOpts{}, t0)
		claimed, err := s.ClaimNext(ctx, t0, true, actions.Lease("exec-1", t0, t0.Add(time.Second)))
		if err != nil || claimed.ID != r.ID {
			t.Fatalf("claim: %v", err)
		}
		before := len(allEvents(t, s))
		later := t0.Add(time.Hour)
		if err := s.RenewLease(ctx, r.ID, "exec-1", later); err != nil {
			t.Fatalf("renew by the owner: %v", err)
		}
		got, _ := s.Request(ctx, r.ID)
		if !got.LeaseUntil.Equal(later.Truncate(time.Microsecond)) || got.Version != claimed.Version || got.LeaseOwner != "exec-1" {
			t.Errorf("after renewal: lease %q until %v, version %d; want exec-1 until %v, version %d",
				got.LeaseOwner, got.LeaseUntil, got.Version, later, claimed.Version)
		}
		if n := len(allEvents(t, s)); n != before {
			t.Errorf("renewal appended %d audit events", n-before)
		}
		tests := []struct {
			name, id, owner string
		}{
			{"another owner", r.ID, "exec-2"},
			{"no such request", "RNOSUCH0000", "exec-1"},
		}
		for _, tc := range tests {
			wantErr(t, tc.name, s.RenewLease(ctx, tc.id, tc.owner, later), actions.ErrLeaseLost)
		}
		if _, err := s.ReleaseAllLeases(ctx); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "after release", s.RenewLease(ctx, r.ID, "exec-1", later), actions.ErrLeaseLost)
	})
}

func TestReleaseAllLeases(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		manual := approved(t, s, reqOpts{manual: true}, t0)
		var ids []string
		for i := range 2 {
			approved(t, s, reqOpts{}, t0.Add(time.Duration(i)*time.Second))
			r, err := s.ClaimNext(ctx, t0, true, actions.Lease(fmt.Sprintf("dead-%d", i), t0, t0.Add(time.Hour)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		if _, err := s.ClaimNext(ctx, t0, true, actions.Lease("new", t0, t0.Add(time.Hour))); !errors.Is(err, actions.ErrNotFound) {
			t.Fatalf("live leases claimed: %v", err)
		}
		n, err := s.ReleaseAllLeases(ctx)
		if err != nil || n != 2 {
			t.Fatalf("released %d, %v; want 2", n, err)
		}
		for range ids {
			// Released leases are taken at once, without takeOver.
			if _, err := s.ClaimNext(ctx, t0, false, actions.Lease("new", t0, t0.Add(time.Hour))); err != nil {
				t.Fatalf("claim a released request: %v", err)
			}
		}
		if got, _ := s.Request(ctx, manual.ID); got.LeaseOwner != "" || got.Version != manual.Version {
			t.Errorf("the manual step was touched: lease %q version %d", got.LeaseOwner, got.Version)
		}
	})
}

// TestLockServe: a second serve process on one SQLite database is refused
// with a message naming the first; once the first is gone it may start.
// PostgreSQL takes any number.
func TestLockServe(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		first, second := db.Store, db.Open(t)
		unlock, err := first.LockServe()
		if err != nil {
			t.Fatalf("first serve: %v", err)
		}
		_, err = second.LockServe()
		if db.Dialect == storage.DialectPostgres {
			if err != nil {
				t.Errorf("second serve on PostgreSQL: %v", err)
			}
			unlock()
			return
		}
		for _, want := range []string{fmt.Sprintf("pid %d on ", os.Getpid()), "in use by another mfadesk serve", db.URL, "PostgreSQL"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("second serve: error %v, want one containing %q", err, want)
			}
		}
		unlock()
		unlock2, err := second.LockServe()
		if err != nil {
			t.Fatalf("serve after the first stopped: %v", err)
		}
		unlock2()
	})
}

// TestTransientAndPermanentErrors: an error the database gives for bad data
// is permanent; it never wraps actions.ErrUnavailable.
func TestTransientAndPermanentErrors(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		if db.Dialect != storage.DialectPostgres {
			t.Skip("SQLite stores any bytes")
		}
		s := db.Store
		r := approved(t, s, reqOpts{}, t0)
		_, err := s.Update(t.Context(), r.ID, func(cur actions.Request) (actions.Request, []actions.Event, error) {
			return cur.RecordResult(0, actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "nul \x00 byte"}, t0)
		})
		if err == nil || errors.Is(err, actions.ErrUnavailable) {
			t.Errorf("storing a NUL byte: %v; want a permanent error", err)
		}
	})
}

// TestLivenessKeepsLapsedLease: on PostgreSQL a lapsed lease whose owner's
// process holds its liveness lock is not taken over; once that process is
// gone (its session ends), it is.
func TestLivenessKeepsLapsedLease(t *testing.T) {
	t.Parallel()
	db := storagetest.New(t, storage.DialectPostgres)
	s := db.Store
	ctx := t.Context()
	r := approved(t, s, reqOpts{}, t0)
	if _, err := s.ClaimNext(ctx, t0, true, actions.Lease("owner-1", t0, t0.Add(time.Second))); err != nil {
		t.Fatal(err)
	}
	ownerStore := db.Open(t)
	alive, die := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { defer close(stopped); ownerStore.HoldLiveness(alive, "owner-1") }()
	later := t0.Add(time.Minute) // the lease lapsed long ago
	raw := storagetest.Raw(t, db)
	held := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int
			err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
				AND classid = 1835428196 AND objid = hashtext('owner-1')::oid AND objsubid = 2`).Scan(&n)
			if err != nil {
				t.Fatal(err)
			}
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d liveness locks held, want %d", n, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	held(1)
	if _, err := s.ClaimNext(ctx, later, true, actions.Lease("other", later, later.Add(time.Second))); !errors.Is(err, actions.ErrNotFound) {
		t.Fatalf("a lapsed lease whose owner lives: %v, want ErrNotFound", err)
	}
	die()
	<-stopped
	held(0) // the server ends the session once its connection closes
	got, err := s.ClaimNext(ctx, later, true, actions.Lease("other", later, later.Add(time.Second)))
	if err != nil || got.ID != r.ID {
		t.Fatalf("after the owner's process ended: claimed %q, %v; want %s", got.ID, err, r.ID)
	}
}
