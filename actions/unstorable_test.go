package actions_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// A directory error with NUL and invalid UTF-8 (in its message and request
// ID) is stored, cleaned, as the target's one result: the target is not run
// again. PostgreSQL refuses such text as it is.
func TestExecutorStoresDirectoryErrorsWithBadBytes(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		ts := people(1)
		id := "id-" + ts[0].Email
		r.dir.script[id] = []error{&actions.DirectoryError{Op: "reset password", Status: 400, Code: "Bad\x00Code",
			Message: "caf\xe9 \x00 refused", RequestID: "req-\x00\xfe\xff-7"}}
		req := r.submit(t, actions.ResetPassword, ts)
		r.approve(t, req.ID)
		got := r.runOnce(t, req.ID)
		res := got.Targets[0].Result
		if got.State != actions.StateFailed || res == nil || res.Outcome != actions.OutcomeFailed {
			t.Fatalf("state %s, result %+v: want failed with the directory's error stored", got.State, res)
		}
		if !utf8.ValidString(res.Detail) || strings.Contains(res.Detail, "\x00") || !strings.Contains(res.Detail, "req-\uFFFD\uFFFD-7") {
			t.Errorf("stored detail = %q, want valid UTF-8 without NUL keeping the request ID's shape", res.Detail)
		}
		ev, _ := lastEvent(t, st, req.ID, actions.EventTargetResult)
		if ev.Detail != res.Detail {
			t.Errorf("audit detail %q differs from the stored result %q", ev.Detail, res.Detail)
		}
		// Even once the lease lapses, nothing runs again.
		r.now.Advance(2 * time.Minute)
		if ran, _ := r.exec.ExecuteOnce(t.Context()); ran {
			t.Error("a finished request was claimed again")
		}
		if c := r.dir.callsTo(id); c != 1 {
			t.Errorf("directory called %d times, want 1", c)
		}
	})
}

// refusingStore is a Store whose database refuses (as bad data) every target
// result but the fallback one.
type refusingStore struct {
	*storage.Store
}

func (s refusingStore) Update(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	return s.Store.Update(ctx, id, func(cur actions.Request) (actions.Request, []actions.Event, error) {
		next, evs, err := fn(cur)
		if err != nil {
			return next, evs, err
		}
		for i, tg := range next.Targets {
			if tg.Result != nil && cur.Targets[i].Result == nil && tg.Result.Detail != actions.UnstorableDetail {
				return cur, nil, fmt.Errorf("store result: ERROR: value too long (SQLSTATE 54000): %w", actions.ErrBadData)
			}
		}
		return next, evs, nil
	})
}

// A result the database refuses as bad data marks the target failed, and it
// is never run again.
func TestExecutorUnstorableResultFailsTargetOnce(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		r.dir.secret = true
		ts := people(2)
		req := r.submit(t, actions.ResetPassword, ts)
		r.approve(t, req.ID)
		exec := actions.NewExecutor(refusingStore{st}, r.dir, actions.ExecutorOptions{
			Owner: "exec-refused", Notifier: r.notify, Now: r.now.Now, Lease: time.Minute, Policy: r.svc.Policy,
		})
		if ran, err := exec.ExecuteOnce(t.Context()); !ran || err != nil {
			t.Fatalf("ExecuteOnce = %v, %v", ran, err)
		}
		got, _ := r.svc.Get(t.Context(), req.ID)
		if got.State != actions.StateFailed {
			t.Errorf("state = %s, want failed", got.State)
		}
		for i, tg := range got.Targets {
			if tg.Result == nil || tg.Result.Outcome != actions.OutcomeFailed || tg.Result.Detail != actions.UnstorableDetail {
				t.Errorf("target %d: result %+v, want failed as unstorable", i, tg.Result)
			}
		}
		r.now.Advance(2 * time.Minute)
		if ran, _ := r.exec.ExecuteOnce(t.Context()); ran {
			t.Error("the request was claimed again")
		}
		for _, p := range ts {
			if c := r.dir.callsTo("id-" + p.Email); c != 1 {
				t.Errorf("%s: directory called %d times, want 1", p.Email, c)
			}
		}
		wantKinds(t, st, req.ID, map[actions.EventKind]int{actions.EventTargetResult: 2})
	})
}

// Slack text with NUL or invalid UTF-8 is stored cleaned, on both databases.
func TestSubmitStoresSlackTextCleaned(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		req, err := r.svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: actions.RevokeMFASessions,
			Targets: people(1), Reason: "lost \x00phone \xff", Ticket: "INC\x00-1"})
		if err != nil {
			t.Fatalf("submit: %v", err)
		}
		if _, err := r.svc.Deny(t.Context(), req.ID, approver, "no \x00\xfe"); err != nil {
			t.Fatalf("deny: %v", err)
		}
		got, err := r.svc.Get(t.Context(), req.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Reason != "lost \uFFFDphone \uFFFD" || got.Ticket != "INC\uFFFD-1" || got.DecisionNote != "no \uFFFD\uFFFD" {
			t.Errorf("stored reason %q, ticket %q, note %q", got.Reason, got.Ticket, got.DecisionNote)
		}
	})
}
