package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

func TestStepUpLifecycle(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		r, _ := create(t, s, reqOpts{})
		att, token := actions.NewStepUp(r, approver(0), "dir-appr", t0)
		if err := s.CreateStepUp(ctx, att); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "create twice", s.CreateStepUp(ctx, att), actions.ErrDuplicate)
		browser := actions.HashSecret("cookie")
		tokenHash := actions.HashSecret(token)

		wantStart := func(what, hash string, now time.Time, want error) actions.StepUp {
			t.Helper()
			got, err := s.StartStepUp(ctx, hash, browser, now)
			wantErr(t, what, err, want)
			return got
		}
		wantStart("unknown link", actions.HashSecret("nope"), t0, actions.ErrNotFound)
		wantStart("expired link", tokenHash, t0.Add(actions.StepUpLinkTTL), actions.ErrExpired)
		started := wantStart("open", tokenHash, t0.Add(time.Minute), nil)
		want := att
		want.State, want.BrowserHash, want.StartedAt = actions.StepUpStarted, browser, t0.Add(time.Minute).UTC().Truncate(time.Microsecond)
		want.CreatedAt, want.ExpiresAt = want.CreatedAt.UTC().Truncate(time.Microsecond), want.ExpiresAt.UTC().Truncate(time.Microsecond)
		if diff := cmp.Diff(want, started); diff != "" {
			t.Errorf("started attempt (-want +got):\n%s", diff)
		}
		if got := wantStart("open again", tokenHash, t0.Add(2*time.Minute), actions.ErrConflict); got.RequestID != r.ID {
			t.Errorf("a used link does not name its request: %+v", got)
		}

		wantFinish := func(what, id, browser string, now time.Time, want error) actions.StepUp {
			t.Helper()
			got, err := s.FinishStepUp(ctx, id, browser, now)
			wantErr(t, what, err, want)
			return got
		}
		wantFinish("unknown state", "nope", browser, t0, actions.ErrNotFound)
		wantFinish("another browser", att.ID, actions.HashSecret("other"), t0.Add(2*time.Minute), actions.ErrForbidden)
		wantFinish("no cookie", att.ID, "", t0.Add(2*time.Minute), actions.ErrForbidden)
		if got := wantFinish("callback", att.ID, browser, t0.Add(2*time.Minute), nil); got.State != actions.StepUpFinished || got.Approver != approver(0) {
			t.Errorf("finished attempt %+v", got)
		}
		wantFinish("replayed callback", att.ID, browser, t0.Add(3*time.Minute), actions.ErrConflict)

		// A sign-in that takes too long is finished and refused.
		late, lateToken := actions.NewStepUp(r, approver(1), "", t0)
		if err := s.CreateStepUp(ctx, late); err != nil {
			t.Fatal(err)
		}
		wantStart("open late one", actions.HashSecret(lateToken), t0, nil)
		wantFinish("too slow", late.ID, browser, t0.Add(actions.StepUpSignInTTL+time.Second), actions.ErrExpired)
		wantFinish("too slow, again", late.ID, browser, t0.Add(actions.StepUpSignInTTL+time.Second), actions.ErrConflict)
		// A callback for a link never opened.
		unopened, _ := actions.NewStepUp(r, approver(2), "", t0)
		if err := s.CreateStepUp(ctx, unopened); err != nil {
			t.Fatal(err)
		}
		wantFinish("never opened", unopened.ID, browser, t0, actions.ErrConflict)
	})
}

// TestStepUpOnce races openings of one link and callbacks of one sign-in,
// from several Stores on one database as several replicas would: exactly one
// of each succeeds.
func TestStepUpOnce(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		ctx := context.Background()
		r, _ := create(t, db.Store, reqOpts{})
		att, token := actions.NewStepUp(r, approver(0), "", t0)
		if err := db.Store.CreateStepUp(ctx, att); err != nil {
			t.Fatal(err)
		}
		// Six racers over three Stores, as replicas and their goroutines.
		stores := []*storage.Store{db.Store, db.Open(t), db.Open(t)}
		stores = append(stores, stores...)
		browser := actions.HashSecret("cookie")
		errs := race(stores, func(_ int, s *storage.Store) error {
			_, err := s.StartStepUp(ctx, actions.HashSecret(token), browser, t0)
			return err
		})
		if ok := winners(t, "opening", errs, actions.ErrConflict); ok != 1 {
			t.Fatalf("%d openings succeeded, want 1 (errors %v)", ok, errs)
		}
		errs = race(stores, func(_ int, s *storage.Store) error {
			_, err := s.FinishStepUp(ctx, att.ID, browser, t0)
			return err
		})
		if ok := winners(t, "callback", errs, actions.ErrConflict); ok != 1 {
			t.Fatalf("%d callbacks succeeded, want 1 (errors %v)", ok, errs)
		}
	})
}
