package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// Perform does a on the user t.DirectoryID (an Entra object ID). Graph's
// refusals and failures come back as *actions.DirectoryError (after the
// retries of each call); delete-app-passwords and unknown actions as errors
// wrapping actions.ErrUnsupported. Secrets are only ever in the returned
// Performed.Secret.
func (d *Directory) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	if a == actions.DeleteAppPasswords {
		return actions.Performed{}, fmt.Errorf("entra: %s: Graph has no API for it; it is a manual step: %w", a, actions.ErrUnsupported)
	}
	return d.performers.Perform(ctx, "entra", a, t)
}

// newPerformers maps each action Entra ID automates to its method.
func (d *Directory) newPerformers() httpapi.Performers {
	simple := func(a actions.Action) func(context.Context, string) (actions.Performed, error) {
		return func(ctx context.Context, id string) (actions.Performed, error) {
			s, _ := simpleFor(a, id)
			res := d.doSimple(ctx, s, 0, nil)
			return res.Performed, res.Err
		}
	}
	return httpapi.Performers{
		actions.RevokeMFASessions:        simple(actions.RevokeMFASessions),
		actions.BlockSignIn:              simple(actions.BlockSignIn),
		actions.UnblockSignIn:            simple(actions.UnblockSignIn),
		actions.ResetPassword:            d.resetPassword,
		actions.RequireReregisterMFA:     d.requireReregister,
		actions.IssueTemporaryAccessPass: d.issueTAP,
	}
}

// simpleOp is an action that is one Graph request with no answer to read,
// which makes it fit for JSON batching.
type simpleOp struct {
	op     string
	method string
	path   string // below /v1.0, escaped
	body   any
	done   string // detail on success
}

// doSimple sends s on its own. tried and after are what its tries inside
// $batch requests came to (see httpapi.Request): together they stay within
// one retry policy.
func (d *Directory) doSimple(ctx context.Context, s simpleOp, tried int, after error) actions.BatchResult {
	r := call{op: s.op, method: s.method, path: s.path, body: s.body}.request()
	r.Tried, r.After = tried, after
	res, err := d.api.Do(ctx, r, nil)
	if err != nil {
		return actions.BatchResult{Err: err}
	}
	return actions.BatchResult{Performed: actions.Performed{Outcome: actions.OutcomeOK, Detail: httpapi.WithRequestID(s.done, res.RequestID)}}
}

func simpleFor(a actions.Action, userID string) (simpleOp, bool) {
	switch a {
	case actions.RevokeMFASessions:
		// Graph answers 200 {"value": true} today; any 2xx is success.
		return simpleOp{
			op: "revoke sign-in sessions", method: http.MethodPost,
			path: userPath(userID) + "/revokeSignInSessions",
			done: "sign-in sessions and remembered MFA revoked",
		}, true
	case actions.BlockSignIn, actions.UnblockSignIn:
		enabled := a == actions.UnblockSignIn
		s := simpleOp{
			op: "block sign-in", method: http.MethodPatch, path: userPath(userID),
			body: map[string]bool{"accountEnabled": enabled},
			done: "sign-in blocked (account disabled)",
		}
		if enabled {
			s.op, s.done = "unblock sign-in", "sign-in unblocked (account enabled)"
		}
		return s, true
	}
	return simpleOp{}, false
}

// resetPassword sets a random temporary password that must be changed at
// next sign-in.
func (d *Directory) resetPassword(ctx context.Context, userID string) (actions.Performed, error) {
	pw, err := newPassword()
	if err != nil {
		return actions.Performed{}, fmt.Errorf("reset password: %w", err)
	}
	body := map[string]any{"passwordProfile": map[string]any{
		"password":                      pw,
		"forceChangePasswordNextSignIn": true,
	}}
	r, err := d.do(ctx, call{op: "reset password", method: http.MethodPatch, path: userPath(userID), body: body})
	if err != nil {
		return actions.Performed{}, err
	}
	return actions.Performed{
		Outcome: actions.OutcomeOK,
		Detail:  httpapi.WithRequestID("temporary password set; must be changed at next sign-in", r.RequestID),
		Secret: actions.NewSecret("Temporary password", pw,
			"The user must change it at next sign-in. App passwords are not reset by this."),
	}, nil
}

// tapAnswer is what Graph returns for a created Temporary Access Pass.
type tapAnswer struct {
	ID                  string `json:"id"`
	TemporaryAccessPass string `json:"temporaryAccessPass"`
	LifetimeInMinutes   int    `json:"lifetimeInMinutes"`
	StartDateTime       string `json:"startDateTime"`
	IsUsableOnce        bool   `json:"isUsableOnce"`
}

// issueTAP creates a Temporary Access Pass; a user has at most one, so Graph
// replaces any earlier pass.
func (d *Directory) issueTAP(ctx context.Context, userID string) (actions.Performed, error) {
	minutes := int(d.cfg.TAPLifetime / time.Minute)
	body := map[string]any{"lifetimeInMinutes": minutes, "isUsableOnce": d.cfg.TAPUsableOnce}
	var ans tapAnswer
	r, err := d.do(ctx, call{op: "issue Temporary Access Pass", method: http.MethodPost,
		path: userPath(userID) + "/authentication/temporaryAccessPassMethods", body: body, out: &ans})
	if err != nil {
		return actions.Performed{}, err
	}
	if ans.TemporaryAccessPass == "" {
		return actions.Performed{}, &actions.DirectoryError{Op: "issue Temporary Access Pass", Status: r.Status,
			RequestID: r.RequestID, Err: errors.New("Graph answered without a pass")}
	}
	if ans.LifetimeInMinutes > 0 {
		minutes = ans.LifetimeInMinutes
	}
	start := d.cfg.Now().UTC()
	if t, err := time.Parse(time.RFC3339, ans.StartDateTime); err == nil && !t.IsZero() {
		start = t.UTC()
	}
	end := start.Add(time.Duration(minutes) * time.Minute)
	use := "it can be used until it expires"
	if ans.IsUsableOnce {
		use = "it can be used for one sign-in"
	}
	note := fmt.Sprintf("Valid for %d minutes, from %s to %s; %s. Any earlier pass of this user no longer works.",
		minutes, start.Format(time.RFC3339), end.Format(time.RFC3339), use)
	return actions.Performed{
		Outcome: actions.OutcomeOK,
		Detail:  httpapi.WithRequestID(fmt.Sprintf("Temporary Access Pass issued, valid until %s", end.Format(time.RFC3339)), r.RequestID),
		Secret:  actions.NewSecret("Temporary Access Pass", ans.TemporaryAccessPass, note),
	}, nil
}
