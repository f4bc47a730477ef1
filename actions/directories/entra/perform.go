package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// Perform does a on the user t.DirectoryID (an Entra object ID). Graph's
// refusals and failures come back as *actions.DirectoryError (after the
// retries of each call); delete-app-passwords and unknown actions as errors
// wrapping actions.ErrUnsupported. Secrets are only ever in the returned
// Performed.Secret.
func (d *Directory) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	id := strings.TrimSpace(t.DirectoryID)
	if id == "" {
		return actions.Performed{}, fmt.Errorf("%s: target %q has no directory id", a, t.Email)
	}
	if s, ok := simpleFor(a, id); ok {
		r, err := d.do(ctx, call{op: s.op, method: s.method, url: d.url(s.path, nil), body: s.body})
		if err != nil {
			return actions.Performed{}, err
		}
		return actions.Performed{Outcome: actions.OutcomeOK, Detail: withRequestID(s.done, r.requestID)}, nil
	}
	switch a {
	case actions.ResetPassword:
		return d.resetPassword(ctx, id)
	case actions.RequireReregisterMFA:
		return d.requireReregister(ctx, id)
	case actions.IssueTemporaryAccessPass:
		return d.issueTAP(ctx, id)
	case actions.DeleteAppPasswords:
		return actions.Performed{}, fmt.Errorf("%s: Graph has no API for it; it is a manual step: %w", a, actions.ErrUnsupported)
	}
	return actions.Performed{}, fmt.Errorf("%s: %w", a, actions.ErrUnsupported)
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

func withRequestID(detail, requestID string) string {
	if requestID == "" {
		return detail
	}
	return detail + " (request-id " + requestID + ")"
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
	r, err := d.do(ctx, call{op: "reset password", method: http.MethodPatch, url: d.url(userPath(userID), nil), body: body})
	if err != nil {
		return actions.Performed{}, err
	}
	return actions.Performed{
		Outcome: actions.OutcomeOK,
		Detail:  withRequestID("temporary password set; must be changed at next sign-in", r.requestID),
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
		url: d.url(userPath(userID)+"/authentication/temporaryAccessPassMethods", nil), body: body, out: &ans})
	if err != nil {
		return actions.Performed{}, err
	}
	if ans.TemporaryAccessPass == "" {
		return actions.Performed{}, &actions.DirectoryError{Op: "issue Temporary Access Pass", Status: r.status,
			RequestID: r.requestID, Err: errors.New("Graph answered without a pass")}
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
		Detail:  withRequestID(fmt.Sprintf("Temporary Access Pass issued, valid until %s", end.Format(time.RFC3339)), r.requestID),
		Secret:  actions.NewSecret("Temporary Access Pass", ans.TemporaryAccessPass, note),
	}, nil
}
