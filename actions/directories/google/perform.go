package google

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// Perform does a on the user t.DirectoryID (a Google user ID). Errors are
// *actions.DirectoryError where Google answered (possibly wrapped with what
// was done before); an action Google does not support fails with an error
// wrapping actions.ErrUnsupported. When the user is already in the wanted
// state (already suspended, no app password, 2SV off) the outcome is
// Skipped. Every action is safe to perform again after a failure.
func (d *Directory) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	return d.performers.Perform(ctx, "google", a, t)
}

// newPerformers maps each action Google Workspace automates to its method.
func (d *Directory) newPerformers() httpapi.Performers {
	return httpapi.Performers{
		actions.ResetPassword:        d.resetPassword,
		actions.RequireReregisterMFA: d.turnOff2SV,
		actions.RevokeMFASessions:    d.signOut,
		actions.DeleteAppPasswords:   d.deleteASPs,
		actions.BlockSignIn: func(ctx context.Context, id string) (actions.Performed, error) {
			return d.setSuspended(ctx, id, true)
		},
		actions.UnblockSignIn: func(ctx context.Context, id string) (actions.Performed, error) {
			return d.setSuspended(ctx, id, false)
		},
	}
}

func (d *Directory) post(ctx context.Context, op string, path ...string) error {
	_, err := d.api.Do(ctx, httpapi.Request{Op: op, Method: http.MethodPost, Path: httpapi.Path(path...)}, nil)
	return err
}

// update is users.update (PUT, which has patch semantics: only the fields
// sent change). fields is a map so that false is sent, not omitted.
func (d *Directory) update(ctx context.Context, id string, fields map[string]any) error {
	_, err := d.api.Do(ctx, httpapi.Request{
		Op: "users.update", Method: http.MethodPut, Path: httpapi.Path("users", id), Body: fields,
	}, nil)
	return err
}

func (d *Directory) resetPassword(ctx context.Context, id string) (actions.Performed, error) {
	pw, err := newPassword(passwordLength)
	if err != nil {
		return actions.Performed{}, fmt.Errorf("google: generate password: %w", err)
	}
	// A plain-text password needs no hashFunction.
	if err := d.update(ctx, id, map[string]any{"password": pw, "changePasswordAtNextLogin": true}); err != nil {
		return actions.Performed{}, err
	}
	return actions.Performed{
		Outcome: actions.OutcomeOK,
		Detail:  "password replaced by a temporary password; it must be changed at next sign-in",
		Secret:  actions.NewSecret("Temporary password", pw, "Google asks for a new password at the next sign-in."),
	}, nil
}

func (d *Directory) turnOff2SV(ctx context.Context, id string) (actions.Performed, error) {
	u, err := d.getUser(ctx, id)
	if err != nil {
		return actions.Performed{}, err
	}
	if !u.IsEnrolledIn2Sv {
		// Nothing to turn off. Backup codes are invalidated all the same:
		// a retry after turnOff succeeded and invalidate failed lands here.
		detail := "not enrolled in 2-Step Verification: nothing to turn off"
		err := d.post(ctx, "verificationCodes.invalidate", "users", id, "verificationCodes", "invalidate")
		if ok, _ := httpapi.Retryable(err); ok {
			return actions.Performed{}, err
		}
		if err == nil {
			detail += "; backup codes invalidated"
		}
		return actions.Performed{Outcome: actions.OutcomeSkipped, Detail: detail}, nil
	}
	if err := d.post(ctx, "twoStepVerification.turnOff", "users", id, "twoStepVerification", "turnOff"); err != nil {
		// Google refuses to turn off what is off already (e.g. a retry
		// after a lost answer); look before failing.
		if !httpapi.HasStatus(err, http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed) {
			return actions.Performed{}, err
		}
		if now, gerr := d.getUser(ctx, id); gerr != nil || now.IsEnrolledIn2Sv {
			return actions.Performed{}, err
		}
	}
	if err := d.post(ctx, "verificationCodes.invalidate", "users", id, "verificationCodes", "invalidate"); err != nil {
		return actions.Performed{}, fmt.Errorf("google: 2-Step Verification turned off, but backup codes not invalidated: %w", err)
	}
	detail := "2-Step Verification turned off and backup codes invalidated; "
	if u.IsEnforcedIn2Sv {
		detail += "2SV is enforced, so the user enrolls again at next sign-in"
	} else {
		detail += "2SV is NOT enforced for this user: they can sign in without it until they enroll again"
	}
	return actions.Performed{Outcome: actions.OutcomeOK, Detail: detail}, nil
}

func (d *Directory) signOut(ctx context.Context, id string) (actions.Performed, error) {
	if err := d.post(ctx, "users.signOut", "users", id, "signOut"); err != nil {
		return actions.Performed{}, err
	}
	return actions.Performed{Outcome: actions.OutcomeOK,
		Detail: "signed out of all web and device sessions; sign-in cookies reset"}, nil
}

// asp is the part of the Asp resource this package reads.
type asp struct {
	CodeID int64  `json:"codeId"`
	Name   string `json:"name"`
}

func (d *Directory) deleteASPs(ctx context.Context, id string) (actions.Performed, error) {
	var list struct {
		Items []asp `json:"items"`
	}
	if _, err := d.api.Do(ctx, httpapi.Request{
		Op: "asps.list", Method: http.MethodGet, Path: httpapi.Path("users", id, "asps"),
	}, &list); err != nil {
		return actions.Performed{}, err
	}
	if len(list.Items) == 0 {
		return actions.Performed{Outcome: actions.OutcomeSkipped, Detail: "no app password: nothing to delete"}, nil
	}
	names := make([]string, 0, len(list.Items))
	for i, a := range list.Items {
		_, err := d.api.Do(ctx, httpapi.Request{
			Op: "asps.delete", Method: http.MethodDelete,
			Path: httpapi.Path("users", id, "asps", strconv.FormatInt(a.CodeID, 10)),
		}, nil)
		if err != nil && !httpapi.HasStatus(err, http.StatusNotFound) { // gone already is as good as deleted
			return actions.Performed{}, fmt.Errorf("google: deleted %d of %d app passwords, then: %w", i, len(list.Items), err)
		}
		names = append(names, strconv.Quote(a.Name))
	}
	return actions.Performed{Outcome: actions.OutcomeOK,
		Detail: fmt.Sprintf("deleted %d app password(s): %s", len(names), strings.Join(names, ", "))}, nil
}

func (d *Directory) setSuspended(ctx context.Context, id string, suspend bool) (actions.Performed, error) {
	u, err := d.getUser(ctx, id)
	if err != nil {
		return actions.Performed{}, err
	}
	switch {
	case suspend && u.Suspended:
		return actions.Performed{Outcome: actions.OutcomeSkipped,
			Detail: "already suspended" + reason(u) + ": nothing to do"}, nil
	case !suspend && !u.Suspended:
		return actions.Performed{Outcome: actions.OutcomeSkipped, Detail: "not suspended: nothing to do"}, nil
	}
	if err := d.update(ctx, id, map[string]any{"suspended": suspend}); err != nil {
		return actions.Performed{}, err
	}
	if suspend {
		return actions.Performed{Outcome: actions.OutcomeOK, Detail: "account suspended: sign-in blocked"}, nil
	}
	return actions.Performed{Outcome: actions.OutcomeOK,
		Detail: "account unsuspended: sign-in allowed again (was suspended" + reason(u) + ")"}, nil
}

func reason(u user) string {
	if u.SuspensionReason == "" {
		return ""
	}
	return " for " + u.SuspensionReason
}

// passwordLength is the temporary password's length; Google accepts 8 to
// 100 ASCII characters, and an org's policy may ask for more than 8.
const passwordLength = 20

// Character classes of generated passwords; look-alikes (0/O, 1/l/I) left out.
var passwordClasses = []string{
	"abcdefghijkmnopqrstuvwxyz",
	"ABCDEFGHJKLMNPQRSTUVWXYZ",
	"23456789",
	"!#%+-=?@_",
}

// newPassword returns n random characters from crypto/rand with at least
// one of each class, so that a complexity policy is met.
func newPassword(n int) (string, error) {
	all := strings.Join(passwordClasses, "")
	b := make([]byte, n)
	for i := range b {
		set := all
		if i < len(passwordClasses) {
			set = passwordClasses[i]
		}
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		b[i] = set[k.Int64()]
	}
	// Shuffle so the guaranteed classes are not always first.
	for i := len(b) - 1; i > 0; i-- {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		j := k.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}
