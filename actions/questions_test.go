package actions_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// TestServiceQuestions covers what the bot asks the service instead of
// reading the policy itself: who may see a request, and whether a deny form
// may open (a refusal being recorded).
func TestServiceQuestions(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		ts := people(1)
		req := r.submit(t, actions.RevokeMFASessions, ts)
		nobody := actions.Person{SlackID: "U0NOBODY", Email: "x@example.com"}

		for _, c := range []struct {
			name string
			by   actions.Person
			want error
		}{
			{"requester", requester, nil},
			{"approver", approver, nil},
			{"no role", nobody, actions.ErrNotFound},
			{"target without a role", ts[0], actions.ErrNotFound},
		} {
			if _, err := r.svc.Status(t.Context(), req.ID, c.by); !errors.Is(err, c.want) {
				t.Errorf("Status by %s: %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := r.svc.Status(t.Context(), "RNOSUCHID00", approver); !errors.Is(err, actions.ErrNotFound) {
			t.Errorf("Status of an unknown ID: %v", err)
		}

		for _, c := range []struct {
			name    string
			by      actions.Person
			want    error
			refused int // refused events recorded
		}{
			{"approver", approver, nil, 0},
			{"requester", requester, actions.ErrForbidden, 1},
			{"no role", nobody, actions.ErrForbidden, 1},
		} {
			before := countKinds(events(t, st, req.ID))[actions.EventRefused]
			got, err := r.svc.AuthorizeDeny(t.Context(), req.ID, c.by)
			if !errors.Is(err, c.want) || (err == nil && got.ID != req.ID) {
				t.Errorf("AuthorizeDeny by %s: %v %v, want %v", c.name, got.ID, err, c.want)
			}
			if n := countKinds(events(t, st, req.ID))[actions.EventRefused] - before; n != c.refused {
				t.Errorf("AuthorizeDeny by %s recorded %d refusals, want %d", c.name, n, c.refused)
			}
		}
		if cur, _ := r.svc.Get(t.Context(), req.ID); cur.State != actions.StatePending {
			t.Errorf("AuthorizeDeny changed the request to %s", cur.State)
		}

		r.now.Advance(2 * time.Hour)
		if _, err := r.svc.AuthorizeDeny(t.Context(), req.ID, approver); !errors.Is(err, actions.ErrExpired) {
			t.Errorf("AuthorizeDeny past the deadline: %v", err)
		}
		if cur, _ := r.svc.Get(t.Context(), req.ID); cur.State != actions.StateExpired {
			t.Errorf("past the deadline the request is %s, want expired", cur.State)
		}

		if got := r.svc.MaxTargets(); got != 50 {
			t.Errorf("MaxTargets = %d, want the policy's 50", got)
		}
		if r.svc.ManualSteps(actions.DeleteAppPasswords) == "" {
			t.Error("ManualSteps: the directory's steps are missing")
		}
		var v *actions.ValidationError
		if err := r.svc.CheckDraft(actions.Draft{Requester: requester, Action: actions.RevokeMFASessions}); !errors.As(err, &v) {
			t.Errorf("CheckDraft of a draft without targets or reason: %v", err)
		}
	})
}
