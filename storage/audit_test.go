package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// TestAuditRoundTrip appends events with every field in use, times with
// nanoseconds in several zones, and reads them back: they must equal the
// events sealed locally, and the chain must verify.
func TestAuditRoundTrip(t *testing.T) {
	t.Parallel()
	ref := actions.TargetRef{SlackID: "UTGT000", Email: "a@example.com", DirectoryID: "dir-a"}
	in := []actions.Event{
		{Time: t0, RequestID: "R1", Kind: actions.EventCreated, Actor: "U0HELP1", Action: actions.ResetPassword,
			Targets: []actions.TargetRef{ref, {Email: "b@example.com"}}, Detail: "reason: lost phone; ticket: INC-1"},
		{Time: t0.Add(999 * time.Nanosecond).In(time.FixedZone("PST", -8*3600)), RequestID: "R1", Kind: actions.EventTargetResult,
			Actor: actions.BotActor, Action: actions.ResetPassword, Target: &ref, Outcome: "ok", Detail: "request-id abc"},
		{Time: time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC), Kind: actions.EventRefused, Actor: "U9",
			Detail: "unicode ✓ and \"quotes\"\nnewline"},
		{Time: time.Unix(0, 1).UTC(), RequestID: "R2", Kind: actions.EventCompleted, Actor: actions.BotActor, Outcome: "succeeded", Targets: []actions.TargetRef{}},
	}
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		if err := s.AppendEvents(ctx, in[:2]...); err != nil {
			t.Fatal(err)
		}
		for _, e := range in[2:] {
			if err := s.AppendEvents(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		var want []actions.Event
		prevSeq, prevHash := int64(0), ""
		for _, e := range in {
			e.Seal(prevSeq, prevHash)
			if len(e.Targets) == 0 {
				e.Targets = nil
			}
			want = append(want, e)
			prevSeq, prevHash = e.Seq, e.Hash
		}
		got := allEvents(t, s)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events read back (-want +got):\n%s", diff)
		}
		for _, e := range got {
			if e.Time.Location() != time.UTC || e.Time.Nanosecond()%1000 != 0 {
				t.Errorf("event %d time %v: want UTC whole microseconds", e.Seq, e.Time)
			}
		}
		if seq, hash, _ := s.AuditHead(ctx); seq != 4 || hash != want[3].Hash {
			t.Errorf("head (%d, %s), want (4, %s)", seq, hash, want[3].Hash)
		}
	})
}

func TestEventsFilters(t *testing.T) {
	t.Parallel()
	const n = 2345 // more than one batch
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		var batch []actions.Event
		for i := range n {
			batch = append(batch, actions.Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: actions.EventRefused, Actor: "U1", Detail: fmt.Sprint(i)})
			if len(batch) == 500 || i == n-1 {
				if err := s.AppendEvents(ctx, batch...); err != nil {
					t.Fatal(err)
				}
				batch = nil
			}
		}
		tests := []struct {
			name      string
			after     int64
			since     time.Time
			wantFirst int64
			wantCount int
		}{
			{"all", 0, time.Time{}, 1, n},
			{"after", 1000, time.Time{}, 1001, n - 1000},
			{"since", 0, t0.Add(100 * time.Second).Truncate(time.Microsecond), 101, n - 100},
			// Event 101 was given t0+100s, nanoseconds included, and is stored
			// (and read) cut to the microsecond: before t0+100s, so excluded.
			{"since, sub-microsecond", 0, t0.Add(100 * time.Second), 102, n - 101},
			{"after and since", 2000, t0.Add(100 * time.Second), 2001, n - 2000},
			{"none", n, time.Time{}, 0, 0},
		}
		for _, tc := range tests {
			var first, last int64
			count := 0
			err := s.Events(ctx, tc.after, tc.since, func(e actions.Event) error {
				if count == 0 {
					first = e.Seq
				} else if e.Seq != last+1 {
					return fmt.Errorf("event %d after %d", e.Seq, last)
				}
				last = e.Seq
				count++
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if first != tc.wantFirst || count != tc.wantCount {
				t.Errorf("%s: %d events from %d, want %d from %d", tc.name, count, first, tc.wantCount, tc.wantFirst)
			}
		}
		// fn's error stops the walk and comes back unchanged; fn may use
		// the store meanwhile (SQLite has one connection).
		stop := errors.New("stop")
		calls := 0
		err := s.Events(ctx, 0, time.Time{}, func(e actions.Event) error {
			calls++
			if _, _, err := s.AuditHead(ctx); err != nil {
				return err
			}
			if calls == 3 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 3 {
			t.Errorf("Events returned %v after %d calls, want fn's error after 3", err, calls)
		}
		allEvents(t, s)
	})
}

// TestConcurrentAppends appends from many Stores at once, as replicas
// would: the chain must have no gaps and no forks.
func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		t.Parallel()
		stores, perStore := 12, 15
		var wg sync.WaitGroup
		errs := make(chan error, stores*perStore)
		start := make(chan struct{})
		for i := range stores {
			s := db.Open(t)
			wg.Go(func() {
				<-start
				for j := range perStore {
					ev := actions.Event{Time: time.Now(), Kind: actions.EventRefused, Actor: fmt.Sprintf("U%02d", i), Detail: fmt.Sprint(j)}
					evs := []actions.Event{ev}
					if j%5 == 0 {
						evs = append(evs, ev) // a multi-event append, kept together
					}
					if err := s.AppendEvents(context.Background(), evs...); err != nil {
						errs <- err
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("append: %v", err)
		}
		events := allEvents(t, db.Store)
		if want := stores * (perStore + 3); len(events) != want {
			t.Fatalf("%d events, want %d", len(events), want)
		}
		seen := map[string]bool{}
		for _, e := range events {
			if seen[e.PrevHash] {
				t.Fatalf("fork: two events follow %q", e.PrevHash)
			}
			seen[e.PrevHash] = true
		}
		// The two events of one append are adjacent: three pairs a store.
		pairs := map[string]int{}
		for i := 1; i < len(events); i++ {
			if events[i].Actor == events[i-1].Actor && events[i].Detail == events[i-1].Detail {
				pairs[events[i].Actor]++
			}
		}
		for i := range stores {
			if got := pairs[fmt.Sprintf("U%02d", i)]; got != 3 {
				t.Errorf("store %d: %d adjacent pairs, want 3", i, got)
			}
		}
	})
}
