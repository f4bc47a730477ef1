package okta

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// Perform does a on the user t.DirectoryID. Errors are
// *actions.DirectoryError where Okta answered; an action Okta does not
// support fails with an error wrapping actions.ErrUnsupported. When the user
// is already in the wanted state (already suspended, nothing to reset) the
// outcome is Skipped.
func (d *Directory) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	return d.performers.Perform(ctx, "okta", a, t)
}

// newPerformers maps each action Okta automates to its method.
func (d *Directory) newPerformers() httpapi.Performers {
	return httpapi.Performers{
		actions.ResetPassword:        d.resetPassword,
		actions.RequireReregisterMFA: d.resetFactors,
		actions.RevokeMFASessions:    d.revokeSessions,
		actions.BlockSignIn:          d.suspend,
		actions.UnblockSignIn:        d.unsuspend,
	}
}

func lifecycle(id, op string) string { return httpapi.Path("api", "v1", "users", id, "lifecycle", op) }

func (d *Directory) resetPassword(ctx context.Context, id string) (actions.Performed, error) {
	var out struct {
		TempPassword string `json:"tempPassword"`
	}
	r, err := d.api.Do(ctx, httpapi.Request{
		Op: "expire password with temporary password", Method: http.MethodPost,
		Path: lifecycle(id, "expire_password_with_temp_password"),
	}, &out)
	if err != nil {
		return actions.Performed{}, err
	}
	if out.TempPassword == "" {
		return actions.Performed{}, &actions.DirectoryError{
			Op: "expire password with temporary password", Status: r.Status,
			Message: "the password was expired but no temporary password came back", RequestID: r.RequestID,
		}
	}
	return actions.Performed{
		Outcome: actions.OutcomeOK,
		Detail:  httpapi.WithRequestID("password expired and replaced by a temporary password; it must be changed at next sign-in", r.RequestID),
		Secret:  actions.NewSecret("Temporary password", out.TempPassword, "Okta asks for a new password at the next sign-in."),
	}, nil
}

func (d *Directory) resetFactors(ctx context.Context, id string) (actions.Performed, error) {
	r, err := d.api.Do(ctx, httpapi.Request{
		Op: "reset factors", Method: http.MethodPost, Path: lifecycle(id, "reset_factors"),
	}, nil)
	if err == nil {
		return actions.Performed{Outcome: actions.OutcomeOK,
			Detail: httpapi.WithRequestID("all MFA factors reset: the user enrolls again at next sign-in", r.RequestID)}, nil
	}
	// Okta refuses the reset when there is nothing to reset; say so
	// rather than fail.
	if !httpapi.HasStatus(err, http.StatusBadRequest, http.StatusForbidden, http.StatusConflict) {
		return actions.Performed{}, err
	}
	var factors []struct {
		ID string `json:"id"`
	}
	if _, ferr := d.api.Do(ctx, httpapi.Request{
		Op: "list factors", Method: http.MethodGet, Path: httpapi.Path("api", "v1", "users", id, "factors"),
	}, &factors); ferr != nil || len(factors) > 0 {
		return actions.Performed{}, err
	}
	return actions.Performed{Outcome: actions.OutcomeSkipped,
		Detail: "no MFA factor enrolled: nothing to reset (" + err.Error() + ")"}, nil
}

func (d *Directory) revokeSessions(ctx context.Context, id string) (actions.Performed, error) {
	r, err := d.api.Do(ctx, httpapi.Request{
		Op: "revoke sessions", Method: http.MethodDelete, Path: httpapi.Path("api", "v1", "users", id, "sessions"),
		Query: url.Values{"oauthTokens": {"true"}, "forgetDevices": {"true"}},
	}, nil)
	if err != nil {
		return actions.Performed{}, err
	}
	return actions.Performed{Outcome: actions.OutcomeOK,
		Detail: httpapi.WithRequestID("all sessions and OAuth tokens revoked, remembered devices forgotten", r.RequestID)}, nil
}

func (d *Directory) suspend(ctx context.Context, id string) (actions.Performed, error) {
	r, err := d.api.Do(ctx, httpapi.Request{
		Op: "suspend user", Method: http.MethodPost, Path: lifecycle(id, "suspend"),
	}, nil)
	if err == nil {
		return actions.Performed{Outcome: actions.OutcomeOK, Detail: httpapi.WithRequestID("user suspended: sign-in blocked", r.RequestID)}, nil
	}
	// Okta suspends only ACTIVE users; an already suspended one is a
	// validation error.
	if !httpapi.HasStatus(err, http.StatusBadRequest, http.StatusForbidden, http.StatusConflict) {
		return actions.Performed{}, err
	}
	u, gerr := d.getUser(ctx, id)
	if gerr != nil || u.Status != statusSuspended {
		return actions.Performed{}, stateErr(err, u.Status)
	}
	return actions.Performed{Outcome: actions.OutcomeSkipped, Detail: withErrID("already suspended: nothing to do", err)}, nil
}

func (d *Directory) unsuspend(ctx context.Context, id string) (actions.Performed, error) {
	r, err := d.api.Do(ctx, httpapi.Request{
		Op: "unsuspend user", Method: http.MethodPost, Path: lifecycle(id, "unsuspend"),
	}, nil)
	if err == nil {
		return actions.Performed{Outcome: actions.OutcomeOK, Detail: httpapi.WithRequestID("user unsuspended: sign-in allowed again", r.RequestID)}, nil
	}
	if !httpapi.HasStatus(err, http.StatusBadRequest, http.StatusForbidden, http.StatusConflict) {
		return actions.Performed{}, err
	}
	// Only a SUSPENDED user can be unsuspended. Any other status but
	// deactivated means sign-in is not blocked by a suspension.
	u, gerr := d.getUser(ctx, id)
	if gerr != nil || u.Status == statusSuspended || u.Status == statusDeprovisioned || u.Status == "" {
		return actions.Performed{}, stateErr(err, u.Status)
	}
	return actions.Performed{Outcome: actions.OutcomeSkipped,
		Detail: withErrID("not suspended (status "+u.Status+"): nothing to do", err)}, nil
}

// withErrID appends the request ID of Okta's refusal to a detail.
func withErrID(detail string, err error) string {
	var de *actions.DirectoryError
	if errors.As(err, &de) {
		return httpapi.WithRequestID(detail, de.RequestID)
	}
	return detail
}

// stateErr adds the user's status, when known, to Okta's refusal.
func stateErr(err error, status string) error {
	var de *actions.DirectoryError
	if status == "" || !errors.As(err, &de) {
		return err
	}
	cp := *de
	cp.Message = fmt.Sprintf("%s (user status %s)", cp.Message, status)
	return &cp
}
