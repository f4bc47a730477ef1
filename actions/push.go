package actions

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrNoPushFactor: the user has no factor the directory can push to.
var ErrNoPushFactor = errors.New("no push factor enrolled")

// PushVerifier is implemented by directories that can send a push to a
// factor the user already has (Okta Verify). Microsoft Entra ID and Google
// Workspace offer no admin-initiated push and do not implement it, which is
// how they declare the push method unsupported.
type PushVerifier interface {
	// StartPush sends a push to the user's authenticator. It returns an
	// error wrapping ErrNoPushFactor when the user has none.
	StartPush(ctx context.Context, userID string) (PushChallenge, error)
	// PushResult reads how the push c to the user stands.
	PushResult(ctx context.Context, userID string, c PushChallenge) (PushStatus, error)
}

// PushStatus is how a push stands, with the directory's transaction ID.
type PushStatus struct {
	Outcome       PushOutcome
	TransactionID string
}

// PushChallenge is a push in flight.
type PushChallenge struct {
	// Handle is what PushResult needs to find the push again; it is stored
	// with the request. Never a secret.
	Handle string
	// TransactionID is the directory's ID of the push, for the audit.
	TransactionID string
	// Number is the number the user must pick in their authenticator
	// (number matching), read to them by the requester; 0 when the push
	// has none. It is shown to the requester only and never stored.
	Number int
}

// PushOutcome is how a push stands.
type PushOutcome string

// Push outcomes.
const (
	PushWaiting  PushOutcome = "waiting"
	PushApproved PushOutcome = "approved"
	PushRejected PushOutcome = "rejected"
	PushTimedOut PushOutcome = "timed_out"
)

// SupportsVerify reports whether dir can carry out verification method m:
// target and manager work on every directory, push only on a PushVerifier.
func SupportsVerify(dir Directory, m VerifyMethod) bool {
	if m == VerifyPush {
		_, ok := dir.(PushVerifier)
		return ok
	}
	return m == VerifyTarget || m == VerifyManager
}

// CheckVerification returns one line per action whose policy rule lists a
// verification method the directory cannot carry out; start-up and
// `mfadesk check` refuse such a policy.
func CheckVerification(pol *Policy, dir Directory) []string {
	var problems []string
	for _, a := range pol.Enabled() {
		var bad []string
		for _, m := range pol.Actions[a].Verify {
			if !SupportsVerify(dir, m) {
				bad = append(bad, string(m))
			}
		}
		if len(bad) > 0 {
			problems = append(problems, fmt.Sprintf("policy: actions.%s.verify lists %s, which the %s directory cannot do (no admin-initiated push)",
				a, strings.Join(bad, ", "), dir.Name()))
		}
	}
	return problems
}
