// Package actions is mfadesk's domain: the admin actions, the request and its
// states, the approval policy, the audit event and its hash chain, the
// Directory interface that identity providers implement, and the service and
// executor that run the workflow. It knows nothing of Slack or of gorm.
package actions

import (
	"fmt"
	"strings"
)

// Action is one of the canonical action names (docs/reference.md, Actions).
type Action string

// The actions mfadesk knows. Their names are stable: they appear in the policy
// file, slash-command text, modal option values and the audit log.
const (
	ResetPassword            Action = "reset-password"
	RequireReregisterMFA     Action = "require-reregister-mfa"
	RevokeMFASessions        Action = "revoke-mfa-sessions"
	DeleteAppPasswords       Action = "delete-app-passwords"
	IssueTemporaryAccessPass Action = "issue-temporary-access-pass"
	BlockSignIn              Action = "block-sign-in"
	UnblockSignIn            Action = "unblock-sign-in"
)

var allActions = []Action{
	ResetPassword, RequireReregisterMFA, RevokeMFASessions, DeleteAppPasswords,
	IssueTemporaryAccessPass, BlockSignIn, UnblockSignIn,
}

var actionTitles = map[Action]string{
	ResetPassword:            "Reset password",
	RequireReregisterMFA:     "Require re-register MFA",
	RevokeMFASessions:        "Revoke MFA sessions",
	DeleteAppPasswords:       "Delete app passwords",
	IssueTemporaryAccessPass: "Issue Temporary Access Pass",
	BlockSignIn:              "Block sign-in",
	UnblockSignIn:            "Unblock sign-in",
}

var actionEffects = map[Action]string{
	ResetPassword:            "a temporary password that the user must change at next sign-in",
	RequireReregisterMFA:     "the user must set up a new MFA method at next sign-in",
	RevokeMFASessions:        "signed out everywhere; remembered MFA devices and browsers are forgotten",
	DeleteAppPasswords:       "every app password the user created stops working",
	IssueTemporaryAccessPass: "a time-limited pass with which the user registers new methods",
	BlockSignIn:              "the account is disabled and cannot sign in",
	UnblockSignIn:            "the account is enabled again",
}

// AllActions returns every known action in a stable order.
func AllActions() []Action { return append([]Action(nil), allActions...) }

// ParseAction returns the action named s. It fails with an error listing the
// known names when s is not one of them.
func ParseAction(s string) (Action, error) {
	a := Action(strings.TrimSpace(s))
	if a.Valid() {
		return a, nil
	}
	names := make([]string, len(allActions))
	for i, k := range allActions {
		names[i] = string(k)
	}
	return "", fmt.Errorf("unknown action %q: want one of %s", s, strings.Join(names, ", "))
}

// Valid reports whether a is a known action.
func (a Action) Valid() bool { _, ok := actionTitles[a]; return ok }

// Title is the human name of the action, e.g. "Reset password".
func (a Action) Title() string {
	if t, ok := actionTitles[a]; ok {
		return t
	}
	return string(a)
}

// Effect says in a few words what the action does to a user.
func (a Action) Effect() string { return actionEffects[a] }
