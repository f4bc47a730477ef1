package entra

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

const oneLayerPolicy = `
roles:
  helpdesk: [U0HELP]
  authentication-admin: [U0AUTH]
actions:
  revoke-mfa-sessions: {request: [helpdesk], approve: [authentication-admin]}
`

var (
	oneLayerRequester = actions.Person{SlackID: "U0HELP", Email: "help@contoso.com"}
	oneLayerApprover  = actions.Person{SlackID: "U0AUTH", Email: "auth@contoso.com"}
)

// countContaining counts the fake's log lines (requests, and requests inside
// a $batch) from the from-th on that contain s.
func countContaining(g *fakegraph.Server, from int, s string) int {
	n := 0
	for _, c := range g.Calls()[from:] {
		if strings.Contains(c, s) {
			n++
		}
	}
	return n
}

// TestOneRetryLayer runs the workflow (actions.Service and actions.Executor
// on a real store) against the fake Graph with the production retry policy,
// and has Graph throttle one call for good: a look-up at submission, the
// admin re-check at approval, the one just before a target runs, a target's
// action alone and inside a $batch. Each is sent exactly as often as the
// policy allows (6), in the one layer that retries. Before that layer was
// the only one, the same test measured 18, 18, 6, 6 and 13 requests with the
// executor wired as serve wired it (the service tried each look-up 3 times
// over the client's 6; the executor tried a target a batch gave up on alone
// again), and 18, 18, 36, 36 and 43 with the executor's own default policy.
func TestOneRetryLayer(t *testing.T) {
	maxTries := httpapi.DefaultRetry.Attempts
	tests := []struct {
		name string
		// throttle names, from the users made, the requests Graph throttles
		// for good (a substring of the fake's log line), and when.
		throttle func(theo, ann fakegraph.User) string
		when     string // "submit", "approve" or "run"
		targets  int    // theo, then ann
		// wantErr is part of the error the workflow reports: the refusal, or
		// theo's failed result.
		wantErr string
	}{
		{"look-up at submission", func(theo, _ fakegraph.User) string { return "GET /users/" + theo.UPN }, "submit", 1,
			"429 Too Many Requests"},
		{"admin re-check at approval", func(theo, _ fakegraph.User) string { return "roleAssignments?" }, "approve", 1,
			"the directory could not be checked"},
		{"admin re-check before running", func(theo, _ fakegraph.User) string { return "roleAssignments?" }, "run", 1,
			"refused before running: could not check whether the user holds an admin role"},
		{"the action alone", func(theo, _ fakegraph.User) string { return "/users/" + theo.ID + "/revokeSignInSessions" }, "run", 1,
			"revoke sign-in sessions: 429 Too Many Requests"},
		{"the action in a $batch", func(theo, _ fakegraph.User) string { return "/users/" + theo.ID + "/revokeSignInSessions" }, "run", 2,
			"revoke sign-in sessions: 429 Too Many Requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.Each(t, func(t *testing.T, st *storage.Store) {
				d, g, waits := setup(t, func(c *Config) { c.Retry = httpapi.DefaultRetry })
				for _, p := range []actions.Person{oneLayerRequester, oneLayerApprover} {
					g.AddUser(fakegraph.User{UPN: p.Email, AccountEnabled: true})
				}
				theo := g.AddUser(fakegraph.User{UPN: "theo@contoso.com", AccountEnabled: true})
				ann := g.AddUser(fakegraph.User{UPN: "ann@contoso.com", AccountEnabled: true})
				pol, err := actions.ParsePolicy("policy.yaml", []byte(oneLayerPolicy))
				if err != nil {
					t.Fatal(err)
				}
				svc := actions.NewService(st, d, pol, actions.ServiceOptions{})
				exec := actions.NewExecutor(st, d, actions.ExecutorOptions{Owner: "exec", Lease: time.Minute, Policy: svc.Policy})
				match, from := tt.throttle(theo, ann), 0
				throttle := func(step string) {
					if tt.when == step {
						from = len(g.Calls())
						g.Inject(match, 429, "1", 1000)
					}
				}
				// throttledAt reports whether step is the one Graph throttles;
				// then it checks the tries and that step's error.
				throttledAt := func(step string, err error) bool {
					if tt.when == step {
						tried(t, g, from, match, maxTries, waits, err, tt.wantErr)
						return true
					}
					if err != nil {
						t.Fatalf("%s: %v", step, err)
					}
					return false
				}
				ctx := t.Context()

				throttle("submit")
				targets := []actions.Person{{SlackID: "U0THEO", Email: theo.UPN}, {SlackID: "U0ANN", Email: ann.UPN}}[:tt.targets]
				req, err := svc.Submit(ctx, actions.Draft{Requester: oneLayerRequester, Action: actions.RevokeMFASessions,
					Targets: targets, Reason: "ticket 7"})
				if throttledAt("submit", err) {
					return
				}
				throttle("approve")
				if _, err := svc.Approve(ctx, req.ID, oneLayerApprover); throttledAt("approve", err) {
					return
				}
				throttle("run")
				if ran, err := exec.ExecuteOnce(ctx); !ran || err != nil {
					t.Fatalf("ExecuteOnce = %v, %v", ran, err)
				}
				got, err := svc.Get(ctx, req.ID)
				if err != nil {
					t.Fatal(err)
				}
				res := got.Targets[0].Result
				if res == nil || res.Outcome != actions.OutcomeFailed {
					t.Fatalf("theo's result = %+v, want failed", res)
				}
				tried(t, g, from, match, maxTries, waits, errors.New(res.Detail), tt.wantErr)
				if g.User(theo.ID).Revoked != 0 {
					t.Error("theo revoked although Graph throttled every try")
				}
				if tt.targets == 2 {
					if r := got.Targets[1].Result; r == nil || r.Outcome != actions.OutcomeOK || g.User(ann.ID).Revoked != 1 {
						t.Errorf("ann's result = %+v, revoked %d times", r, g.User(ann.ID).Revoked)
					}
					if n := countContaining(g, from, "POST /$batch"); n != 1 {
						t.Errorf("%d $batch requests, want 1", n)
					}
				}
				results := 0
				err = st.Events(ctx, 0, time.Time{}, func(e actions.Event) error {
					if e.RequestID == req.ID && e.Kind == actions.EventTargetResult {
						results++
					}
					return nil
				})
				if err != nil || results != tt.targets {
					t.Errorf("%d target_result events (%v), want one per target", results, err)
				}
			})
		})
	}
}

// tried checks that the requests matching match were sent exactly want
// times since the from-th, with a wait between each two, and that err
// reports the throttling.
func tried(t *testing.T, g *fakegraph.Server, from int, match string, want int, waits *sleeps, err error, wantErr string) {
	t.Helper()
	if n := countContaining(g, from, match); n != want {
		t.Errorf("%d requests matching %q, want %d", n, match, want)
	}
	if n := len(waits.All()); n != want-1 {
		t.Errorf("%d waits %v, want %d", n, waits.All(), want-1)
	}
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Errorf("error = %v, want one containing %q", err, wantErr)
	}
}
