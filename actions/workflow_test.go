package actions_test

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

func TestWorkflowRunsApprovedRequest(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		req := r.submit(t, actions.RevokeMFASessions, people(5))
		if req.State != actions.StatePending || len(req.Targets) != 5 || req.Targets[0].DirectoryID != "id-user000@example.com" {
			t.Fatalf("submitted = %+v", req)
		}
		r.approve(t, req.ID)
		got := r.runOnce(t, req.ID)
		if got.State != actions.StateSucceeded {
			t.Errorf("state = %s", got.State)
		}
		k := countKinds(events(t, st, req.ID))
		want := map[actions.EventKind]int{actions.EventCreated: 1, actions.EventApproved: 1, actions.EventStarted: 1,
			actions.EventTargetResult: 5, actions.EventCompleted: 1}
		if fmt.Sprint(k) != fmt.Sprint(want) {
			t.Errorf("events = %v, want %v", k, want)
		}
		last := r.notify.changed[len(r.notify.changed)-1]
		if last.State != actions.StateSucceeded {
			t.Errorf("last notification state = %s", last.State)
		}
		if ran, _ := r.exec.ExecuteOnce(t.Context()); ran {
			t.Error("a finished request was claimed again")
		}
	})
}

// batchingDir is fakeDir as a BatchPerformer: each batch performs its
// targets one by one, so each result is what Perform returned.
type batchingDir struct{ *fakeDir }

func (d batchingDir) MaxBatch(actions.Action) int { return 20 }
func (d batchingDir) PerformBatch(ctx context.Context, a actions.Action, ts []actions.Target) []actions.BatchResult {
	out := make([]actions.BatchResult, len(ts))
	for i, t := range ts {
		out[i].Performed, out[i].Err = d.Perform(ctx, a, t)
	}
	return out
}

// The executor hands each target to the directory once: the directory
// retries throttling and transient failures itself (README, "Retries"), so a
// retryable error it returns is the target's failure, recorded once with the
// directory's message, in a batch as alone.
func TestWorkflowTakesTheDirectorysAnswerOnce(t *testing.T) {
	t.Parallel()
	for _, batched := range []bool{false, true} {
		t.Run(map[bool]string{false: "one by one", true: "batched"}[batched], func(t *testing.T) {
			storagetest.Each(t, func(t *testing.T, st *storage.Store) {
				r := newRig(t, st)
				if batched {
					r.exec = actions.NewExecutor(r.store, batchingDir{r.dir}, actions.ExecutorOptions{
						Owner: "exec-batch", Notifier: r.notify, Now: r.now.Now, Lease: time.Minute, Parallel: 4, Policy: r.svc.Policy,
					})
				}
				throttled := &actions.DirectoryError{Op: "revoke", Status: 429, RetryAfter: time.Second}
				unavailable := &actions.DirectoryError{Op: "revoke", Status: 503}
				forbidden := &actions.DirectoryError{Op: "revoke", Status: 403, Code: "Authorization_RequestDenied", RequestID: "req-42"}
				ts := people(4)
				script := []error{throttled, unavailable, forbidden, nil}
				for i, err := range script {
					if err != nil {
						r.dir.script["id-"+ts[i].Email] = []error{err, err}
					}
				}
				req := r.submit(t, actions.RevokeMFASessions, ts)
				r.approve(t, req.ID)
				r.exec.ExecuteOnce(t.Context())
				got, _ := r.svc.Get(t.Context(), req.ID)
				if got.State != actions.StatePartiallyFailed {
					t.Errorf("state = %s", got.State)
				}
				for i, tg := range got.Targets {
					if c := r.dir.callsTo(tg.DirectoryID); c != 1 {
						t.Errorf("target %d: %d calls, want 1", i, c)
					}
					want := actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "done"}
					if script[i] != nil {
						want = actions.TargetResult{Outcome: actions.OutcomeFailed, Detail: script[i].Error()}
					}
					if tg.Result == nil || tg.Result.Outcome != want.Outcome || tg.Result.Detail != want.Detail {
						t.Errorf("target %d: result %+v, want %+v", i, tg.Result, want)
					}
				}
				wantKinds(t, st, req.ID, map[actions.EventKind]int{actions.EventTargetResult: 4})
			})
		})
	}
}

func TestWorkflowDuplicateSubmission(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		d := actions.Draft{Requester: requester, Action: actions.RevokeMFASessions, Targets: people(1), Reason: "r", SubmissionKey: "V123"}
		first, err := r.svc.Submit(t.Context(), d)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				again, err := r.svc.Submit(t.Context(), d)
				if !errors.Is(err, actions.ErrDuplicate) || again.ID != first.ID {
					t.Errorf("resubmit = %s, %v; want %s and ErrDuplicate", again.ID, err, first.ID)
				}
			}()
		}
		wg.Wait()
		if rs, _ := st.ListRequests(t.Context(), actions.RequestFilter{}); len(rs) != 1 {
			t.Errorf("%d requests stored, want 1", len(rs))
		}
	})
}

func TestWorkflowDenyCancelExpire(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		denied := r.submit(t, actions.ResetPassword, people(1))
		if got, err := r.svc.Deny(t.Context(), denied.ID, approver, "call the user first"); err != nil || got.State != actions.StateDenied {
			t.Fatalf("deny = %s, %v", got.State, err)
		}
		if _, err := r.svc.Approve(t.Context(), denied.ID, approver); !errors.Is(err, actions.ErrConflict) {
			t.Errorf("approve after deny: %v", err)
		}
		cancelled := r.submit(t, actions.ResetPassword, people(2)[1:])
		if _, err := r.svc.Cancel(t.Context(), cancelled.ID, approver); !errors.Is(err, actions.ErrForbidden) {
			t.Errorf("cancel by approver: %v", err)
		}
		if got, err := r.svc.Cancel(t.Context(), cancelled.ID, requester); err != nil || got.State != actions.StateCancelled {
			t.Fatalf("cancel = %s, %v", got.State, err)
		}
		expiring := r.submit(t, actions.ResetPassword, people(3)[2:])
		r.now.Advance(time.Hour)
		if _, err := r.svc.Approve(t.Context(), expiring.ID, approver); !errors.Is(err, actions.ErrExpired) {
			t.Errorf("approve after ttl: %v", err)
		}
		if got, _ := r.svc.Get(t.Context(), expiring.ID); got.State != actions.StateExpired {
			t.Errorf("a click after the ttl left the request %s, want expired", got.State)
		}
		// The sweeper expires what nobody clicked.
		swept := r.submit(t, actions.ResetPassword, people(4)[3:])
		r.now.Advance(2 * time.Hour)
		if n, err := r.svc.SweepExpired(t.Context()); err != nil || n != 1 {
			t.Errorf("sweep = %d, %v; want 1", n, err)
		}
		if got, _ := r.svc.Get(t.Context(), swept.ID); got.State != actions.StateExpired {
			t.Errorf("swept state = %s", got.State)
		}
		wantKinds(t, st, swept.ID, map[actions.EventKind]int{actions.EventExpired: 1})
		if ran, _ := r.exec.ExecuteOnce(t.Context()); ran {
			t.Error("executor ran a request that was never approved")
		}
	})
}

func TestWorkflowManualStep(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		req := r.submit(t, actions.DeleteAppPasswords, people(2))
		if !req.Manual {
			t.Fatal("delete-app-passwords on a manual directory is not a manual step")
		}
		got, err := r.svc.Approve(t.Context(), req.ID, globalAdm)
		if err != nil || got.State != actions.StateRunning {
			t.Fatalf("approve = %s, %v", got.State, err)
		}
		if len(r.notify.manual) != 1 {
			t.Errorf("manual steps sent %d times", len(r.notify.manual))
		}
		if ran, _ := r.exec.ExecuteOnce(t.Context()); ran {
			t.Error("the executor claimed a manual step")
		}
		if _, err := r.svc.MarkManual(t.Context(), req.ID, requester, true, ""); !errors.Is(err, actions.ErrForbidden) {
			t.Errorf("requester marked own manual step: %v", err)
		}
		done, err := r.svc.MarkManual(t.Context(), req.ID, globalAdm, true, "deleted in the portal")
		if err != nil || done.State != actions.StateSucceeded {
			t.Fatalf("mark done = %s, %v", done.State, err)
		}
		if _, err := r.svc.MarkManual(t.Context(), req.ID, globalAdm, false, ""); !errors.Is(err, actions.ErrConflict) {
			t.Errorf("second mark: %v", err)
		}
		wantKinds(t, st, req.ID, map[actions.EventKind]int{actions.EventManualDone: 1, actions.EventTargetResult: 2, actions.EventCompleted: 1})
	})
}

func TestWorkflowSecretsDeliveredNeverStored(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		r.dir.secret = true
		ts := people(2)
		req := r.submit(t, actions.ResetPassword, ts)
		r.svc.Approve(t.Context(), req.ID, approver)
		r.exec.ExecuteOnce(t.Context())
		for _, p := range ts {
			if s := r.notify.secrets[p.Email]; s != "S3cret!-id-"+p.Email {
				t.Errorf("secret for %s = %q", p.Email, s)
			}
		}
		got, _ := r.svc.Get(t.Context(), req.ID)
		for _, tg := range got.Targets {
			if contains(tg.Result.Detail, "S3cret") {
				t.Errorf("secret in result detail: %q", tg.Result.Detail)
			}
		}
		st.Events(t.Context(), 0, time.Time{}, func(e actions.Event) error {
			if contains(fmt.Sprintf("%+v", e), "S3cret") {
				t.Errorf("secret in audit event %d", e.Seq)
			}
			return nil
		})
		// When the private message cannot be delivered, the target fails and says so.
		r.notify.failDM = true
		req2 := r.submit(t, actions.ResetPassword, people(3)[2:])
		r.svc.Approve(t.Context(), req2.ID, approver)
		r.exec.ExecuteOnce(t.Context())
		got2, _ := r.svc.Get(t.Context(), req2.ID)
		if res := got2.Targets[0].Result; res == nil || res.Outcome != actions.OutcomeFailed || !contains(res.Detail, "could not be delivered") {
			t.Errorf("undelivered secret result = %+v", res)
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
