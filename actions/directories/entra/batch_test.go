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
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
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

// A $batch that fails as a whole is retried as any call; when its tries run
// out, its targets fail with its error (each has had as many tries as the
// policy allows); when Graph refuses the batch itself, they are done one by
// one.
func TestPerformBatchWhenTheBatchFails(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		times       int
		wantBatches int
		wantSingles int
		wantErr     int // status of every target's error; 0: all done
	}{
		{"throttled twice, then answered", 503, 2, 3, 0, 0},
		{"throttled on every try", 429, 4, 4, 0, 429},
		{"refused as a whole", 403, 1, 1, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, g, _ := setup(t) // 4 tries
			ts := targets(g, 3)
			g.Inject("$batch", tt.status, "1", tt.times)
			res := d.PerformBatch(context.Background(), actions.RevokeMFASessions, ts)
			for i, r := range res {
				revoked := g.User(ts[i].DirectoryID).Revoked
				if tt.wantErr == 0 {
					if r.Err != nil || revoked != 1 {
						t.Errorf("target %d: %+v, revoked %d times", i, r, revoked)
					}
					continue
				}
				if de := asDirErr(t, r.Err); de.Status != tt.wantErr || !de.Retryable() || revoked != 0 {
					t.Errorf("target %d: %+v, revoked %d times; want a %d", i, r, revoked, tt.wantErr)
				}
			}
			if n := countCalls(g, "POST /$batch"); n != tt.wantBatches {
				t.Errorf("%d batches, want %d", n, tt.wantBatches)
			}
			if n := countCalls(g, "POST /users/"); n != tt.wantSingles {
				t.Errorf("%d single requests, want %d", n, tt.wantSingles)
			}
		})
	}
}

// TestPerformBatchTriesWithinThePolicy: a target whose request Graph
// throttles on every try is sent at most as often as the retry policy allows
// (4 here), counting the $batch requests that carried it and the requests
// that carried it alone, however the tries fall.
func TestPerformBatchTriesWithinThePolicy(t *testing.T) {
	for _, batchThrottled := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("batch throttled %d times first", batchThrottled), func(t *testing.T) {
			d, g, s := setup(t)
			ts := targets(g, 5)
			stuck := "/users/" + ts[2].DirectoryID + "/revokeSignInSessions"
			g.Inject(stuck, 429, "2", 100)
			g.Inject("$batch", 429, "1", batchThrottled)
			res := d.PerformBatch(context.Background(), actions.RevokeMFASessions, ts)
			if de := asDirErr(t, res[2].Err); de.Status != 429 || de.RetryAfter != 2*time.Second {
				t.Errorf("throttled target: %+v", res[2])
			}
			for i, r := range res {
				if i != 2 && (r.Err != nil || g.User(ts[i].DirectoryID).Revoked != 1) {
					t.Errorf("target %d: %+v", i, r)
				}
			}
			batches, alone := countCalls(g, "POST /$batch"), countCalls(g, "POST "+stuck)
			if batches+alone != 4 || batches != batchThrottled+1 {
				t.Errorf("the throttled target went in %d batches and %d times alone, want 4 in all (%d batches)", batches, alone, batchThrottled+1)
			}
			if w := s.All(); len(w) != 3 {
				t.Errorf("waits %v, want one before each of the 3 tries after the first", w)
			}
		})
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
	d.api.Sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	res := d.PerformBatch(ctx, actions.RevokeMFASessions, ts)
	var de *actions.DirectoryError
	if !errors.As(res[0].Err, &de) || de.Status != 429 || de.RetryAfter != 30*time.Second {
		t.Errorf("throttled target after cancel: %+v", res[0])
	}
	if res[1].Err != nil {
		t.Errorf("other target: %+v", res[1])
	}
}

// TestPerformBatchCredentialRefused: a $batch that fails because the
// credential is refused (the authority gives no token, or Graph answers 401)
// fails every target with that error; it is not done target by target,
// which would ask for a token once per target.
func TestPerformBatchCredentialRefused(t *testing.T) {
	const attempts = 4
	tests := []struct {
		name      string
		refuse    bool // the authority refuses the client
		inject    int  // status Graph answers the $batch with, 0: none
		wantMsg   string
		wantCalls int // requests Graph receives
	}{
		{"authority refuses the client", true, 0, "Invalid client secret provided.", 0},
		{"Graph answers 401", false, 401, "401", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := fakegraph.New(t)
			auth := fakegraph.NewAuthority(t, testTenant, g.Token())
			if tt.refuse {
				auth.Refuse("AADSTS7000215: Invalid client secret provided.")
			}
			if tt.inject != 0 {
				g.Inject("$batch", tt.inject, "", 1)
			}
			cred, err := CredentialFromEnv(envOf(map[string]string{EnvTenantID: testTenant, EnvClientID: testClient,
				EnvClientSecret: testSecret, EnvAuthorityHost: auth.URL()}), auth.Client())
			if err != nil {
				t.Fatal(err)
			}
			s := &sleeps{}
			d, err := New(Config{GraphURL: g.URL(), Credential: cred, Sleep: s.Sleep,
				Retry: httpapi.RetryPolicy{Attempts: attempts, Base: 100 * time.Millisecond, Max: 5 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			ts := targets(g, maxGraphBatch)
			res := d.PerformBatch(context.Background(), actions.RevokeMFASessions, ts)
			for i, r := range res {
				if r.Err == nil || !strings.Contains(r.Err.Error(), tt.wantMsg) || g.User(ts[i].DirectoryID).Revoked != 0 {
					t.Errorf("target %d: %+v, want it failed with %q", i, r, tt.wantMsg)
				}
			}
			if n := len(auth.Forms()); n < 1 || n > attempts {
				t.Errorf("%d token requests, want at most the %d tries of one call", n, attempts)
			}
			if n := len(g.Calls()); n != tt.wantCalls {
				t.Errorf("Graph calls %q, want %d", g.Calls(), tt.wantCalls)
			}
		})
	}
}
