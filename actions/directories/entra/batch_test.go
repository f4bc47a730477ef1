package entra

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
)

func TestMaxBatch(t *testing.T) {
	d, _, _ := setup(t)
	for a, want := range map[actions.Action]int{
		actions.RevokeMFASessions: 20, actions.BlockSignIn: 20, actions.UnblockSignIn: 20,
		actions.ResetPassword: 1, actions.IssueTemporaryAccessPass: 1, actions.RequireReregisterMFA: 1,
		actions.DeleteAppPasswords: 1,
	} {
		if got := d.MaxBatch(a); got != want {
			t.Errorf("MaxBatch(%s) = %d, want %d", a, got, want)
		}
	}
}

// targets adds n enabled users to the fake.
func targets(g *fakegraph.Server, n int) []actions.Target {
	ts := make([]actions.Target, n)
	for i := range ts {
		u := g.AddUser(fakegraph.User{UPN: fmt.Sprintf("user%03d@contoso.com", i), AccountEnabled: true})
		ts[i] = actions.Target{DirectoryID: u.ID, Email: u.UPN}
	}
	return ts
}

func countCalls(g *fakegraph.Server, prefix string) int {
	n := 0
	for _, c := range g.Calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestPerformBatchRevoke(t *testing.T) {
	d, g, _ := setup(t)
	ts := targets(g, 25)
	res := d.PerformBatch(context.Background(), actions.RevokeMFASessions, ts)
	if len(res) != len(ts) {
		t.Fatalf("%d results for %d targets", len(res), len(ts))
	}
	for i, r := range res {
		if r.Err != nil || r.Performed.Outcome != actions.OutcomeOK || !strings.Contains(r.Performed.Detail, "request-id req-") {
			t.Errorf("target %d: %+v", i, r)
		}
		if n := g.User(ts[i].DirectoryID).Revoked; n != 1 {
			t.Errorf("target %d revoked %d times", i, n)
		}
	}
	if n := countCalls(g, "POST /$batch"); n != 2 {
		t.Errorf("%d batches for 25 targets, want 2", n)
	}
	if n := countCalls(g, "POST /users/"); n != 0 {
		t.Errorf("%d single requests, want none", n)
	}
}

func TestPerformBatchPartialFailures(t *testing.T) {
	d, g, s := setup(t)
	ts := targets(g, 6)
	ts[2] = actions.Target{DirectoryID: "gone-user", Email: "gone@contoso.com"}
	g.Inject("batch: PATCH /users/"+ts[1].DirectoryID, 429, "2", 1)
	g.Inject("batch: PATCH /users/"+ts[3].DirectoryID, 403, "", 1)
	g.Inject("batch: PATCH /users/"+ts[4].DirectoryID, 503, "", 1)
	ts[5].DirectoryID = "  " + ts[5].DirectoryID + " "

	res := d.PerformBatch(context.Background(), actions.BlockSignIn, ts)

	for i, want := range []int{0, 0, 404, 403, 0, 0} {
		r := res[i]
		if want == 0 {
			if r.Err != nil || r.Performed.Outcome != actions.OutcomeOK {
				t.Errorf("target %d: %+v", i, r)
			}
			if g.User(strings.TrimSpace(ts[i].DirectoryID)).AccountEnabled {
				t.Errorf("target %d still enabled", i)
			}
			continue
		}
		var de *actions.DirectoryError
		if !errors.As(r.Err, &de) || de.Status != want || !strings.HasPrefix(de.RequestID, "req-") || de.Op != "block sign-in" {
			t.Errorf("target %d: %+v, want status %d", i, r, want)
		}
	}
	// The 429 waited for its Retry-After, the 503 for a backoff; both were
	// then sent on their own.
	var sawRetryAfter bool
	for _, d := range s.All() {
		sawRetryAfter = sawRetryAfter || d == 2*time.Second
	}
	if !sawRetryAfter {
		t.Errorf("sleeps %v lack the 2s Retry-After", s.All())
	}
	for _, i := range []int{1, 4} {
		if n := countCalls(g, "PATCH /users/"+ts[i].DirectoryID); n != 1 {
			t.Errorf("target %d retried on its own %d times, want 1", i, n)
		}
	}
	if n := countCalls(g, "PATCH /users/"+ts[3].DirectoryID); n != 0 {
		t.Error("a 403 inside the batch was retried")
	}
}

func TestPerformBatchFallsBackWhenTheBatchFails(t *testing.T) {
	d, g, _ := setup(t)
	ts := targets(g, 3)
	g.Inject("$batch", 503, "1", 4) // every attempt of the batch
	res := d.PerformBatch(context.Background(), actions.RevokeMFASessions, ts)
	for i, r := range res {
		if r.Err != nil || g.User(ts[i].DirectoryID).Revoked != 1 {
			t.Errorf("target %d: %+v", i, r)
		}
	}
	if n := countCalls(g, "POST /users/"); n != 3 {
		t.Errorf("%d single requests after the failed batch, want 3", n)
	}
}

func TestPerformBatchUnbatchable(t *testing.T) {
	d, g, _ := setup(t)
	ts := targets(g, 2)
	res := d.PerformBatch(context.Background(), actions.ResetPassword, ts)
	for i, r := range res {
		if r.Err != nil || r.Performed.Secret == nil || r.Performed.Secret.Reveal() != g.User(ts[i].DirectoryID).Password {
			t.Errorf("target %d: %+v", i, r)
		}
	}
	if countCalls(g, "POST /$batch") != 0 {
		t.Error("a secret-producing action went through $batch")
	}
}

func TestPerformBatchCancelled(t *testing.T) {
	d, g, _ := setup(t)
	ts := targets(g, 2)
	g.Inject("batch: POST /users/"+ts[0].DirectoryID, 429, "30", 1)
	ctx, cancel := context.WithCancel(context.Background())
	d.cfg.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	res := d.PerformBatch(ctx, actions.RevokeMFASessions, ts)
	var de *actions.DirectoryError
	if !errors.As(res[0].Err, &de) || de.Status != 429 || de.RetryAfter != 30*time.Second {
		t.Errorf("throttled target after cancel: %+v", res[0])
	}
	if res[1].Err != nil {
		t.Errorf("other target: %+v", res[1])
	}
}
