package actions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Approver step-up (README, "Approver step-up"): on an action whose rule has
// step_up, an Approve click does not approve. It issues a single-use link;
// the approver opens it, signs in again at the identity provider, and the
// approval is recorded only when the ID token shows that the approver
// themself signed in, with MFA, recently. The protocol (OpenID Connect) is
// the HTTP adapter's business; what counts as proof is decided here.

// Step-up lifetimes.
const (
	// StepUpLinkTTL is how long a step-up link may wait to be opened.
	StepUpLinkTTL = 5 * time.Minute
	// StepUpSignInTTL is how long a sign-in started from a link may take
	// before its callback is refused.
	StepUpSignInTTL = 10 * time.Minute
	// StepUpClockSkew is the tolerance between the identity provider's clock
	// and mfadesk's when auth_time is compared with the Approve click
	// (auth_time has whole seconds).
	StepUpClockSkew = 30 * time.Second
)

// ErrStepUpRequired: the action's approval counts only after a step-up
// sign-in; an Approve click alone does not approve it.
var ErrStepUpRequired = errors.New("step-up sign-in required")

// StepUpState is where a step-up attempt is.
type StepUpState string

// The step-up attempt states: issued (link sent), started (link opened,
// browser bound), finished (callback taken, whatever its outcome).
const (
	StepUpIssued   StepUpState = "issued"
	StepUpStarted  StepUpState = "started"
	StepUpFinished StepUpState = "finished"
)

// StepUp is one approver's step-up attempt for one approval. Only hashes of
// the link token and of the browser's cookie are kept, so that neither can
// be recovered from the database.
type StepUp struct {
	// ID is random and public: it is the OpenID Connect `state`.
	ID        string
	TokenHash string
	RequestID string
	Approver  Person
	// ApproverDirectoryID is the approver's directory user ID, resolved from
	// their Slack email at the click; empty when the directory does not
	// know them, and the verified email is compared instead.
	ApproverDirectoryID string
	Action              Action
	// Targets fingerprints the request's targets (TargetsKey).
	Targets   string
	State     StepUpState
	CreatedAt time.Time
	ExpiresAt time.Time
	// BrowserHash is the hash of the cookie set when the link was opened.
	BrowserHash string
	StartedAt   time.Time
	FinishedAt  time.Time
}

// StepUpStore keeps step-up attempts. storage.Store implements it.
type StepUpStore interface {
	// CreateStepUp stores a new issued attempt.
	CreateStepUp(ctx context.Context, s StepUp) error
	// StartStepUp turns the issued attempt whose link token hashes to
	// tokenHash into a started one bound to browserHash, at now, and returns
	// it, in one guarded write: a link opens once. Errors wrap ErrNotFound
	// (no such link), ErrConflict (opened already) or ErrExpired (older than
	// its ExpiresAt).
	StartStepUp(ctx context.Context, tokenHash, browserHash string, now time.Time) (StepUp, error)
	// FinishStepUp turns started attempt id, bound to browserHash, into a
	// finished one at now and returns it, in one guarded write: a callback
	// is taken once. Errors wrap ErrNotFound (no such attempt), ErrForbidden
	// (another browser: nothing is changed), ErrConflict (finished already,
	// or never started) or ErrExpired (started more than StepUpSignInTTL
	// ago); the attempt, when there is one, comes back with the error.
	FinishStepUp(ctx context.Context, id, browserHash string, now time.Time) (StepUp, error)
}

// SignIn is what a verified ID token says about a sign-in.
type SignIn struct {
	Subject       string
	ObjectID      string // Entra ID's `oid`
	Email         string
	EmailVerified bool
	AMR           []string
	ACR           string
	ACRS          []string // Entra ID's authentication contexts
	AuthTime      time.Time
}

// Identity is the identifier compared with the directory: `oid` when the
// provider sends one (Entra ID), else `sub` (Okta, Google).
func (in SignIn) Identity() string {
	if in.ObjectID != "" {
		return in.ObjectID
	}
	return in.Subject
}

// Evidence is the sign-in as the audit records it: no token, no email.
func (in SignIn) Evidence() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sub=%s", in.Subject)
	if in.ObjectID != "" {
		fmt.Fprintf(&b, " oid=%s", in.ObjectID)
	}
	if len(in.AMR) > 0 {
		fmt.Fprintf(&b, " amr=%s", strings.Join(in.AMR, ","))
	}
	if in.ACR != "" {
		fmt.Fprintf(&b, " acr=%s", in.ACR)
	}
	if len(in.ACRS) > 0 {
		fmt.Fprintf(&b, " acrs=%s", strings.Join(in.ACRS, ","))
	}
	if !in.AuthTime.IsZero() {
		fmt.Fprintf(&b, " auth_time=%s", in.AuthTime.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// StepUpProblem classifies why a step-up was refused, for the page the
// approver sees.
type StepUpProblem string

// The step-up problems.
const (
	StepUpStale       StepUpProblem = "stale"        // auth_time too old, or before the click
	StepUpNoMFA       StepUpProblem = "no_mfa"       // no mfa in amr, or not the required acr
	StepUpWrongPerson StepUpProblem = "wrong_person" // someone other than the approver signed in
	StepUpBadLink     StepUpProblem = "bad_link"     // unknown, used or expired link or sign-in
	StepUpNoCookie    StepUpProblem = "other_browser"
	StepUpProvider    StepUpProblem = "provider" // the identity provider failed or refused
	StepUpDecision    StepUpProblem = "decision" // the approval itself was refused (decided, expired, roles)
)

// StepUpError is a refused step-up: Problem for the page, Reason for the
// audit and the approver.
type StepUpError struct {
	Problem StepUpProblem
	Reason  string
	Err     error
}

func (e *StepUpError) Error() string { return e.Reason }

// Unwrap returns the underlying sentinel (ErrForbidden, ErrExpired, …).
func (e *StepUpError) Unwrap() error { return e.Err }

func stepUpErr(p StepUpProblem, kind error, format string, args ...any) *StepUpError {
	return &StepUpError{Problem: p, Reason: fmt.Sprintf(format, args...), Err: kind}
}

// StepUpRule is what a sign-in must show.
type StepUpRule struct {
	// MaxAge is approval.step_up_max_age.
	MaxAge time.Duration
	// ACR, when set, must be the token's `acr` or among its `acrs`; when
	// empty, `amr` must contain "mfa".
	ACR string
}

// Check returns nil when in proves that s's approver signed in with MFA
// between the click and now, no longer than rule.MaxAge ago; else a
// *StepUpError saying why not. The approver is compared by directory
// identity (Identity against ApproverDirectoryID); only when their directory
// ID is unknown, by a verified email.
func (s StepUp) Check(in SignIn, rule StepUpRule, now time.Time) error {
	switch {
	case in.AuthTime.IsZero():
		return stepUpErr(StepUpStale, ErrForbidden, "the sign-in has no auth_time: its freshness cannot be checked")
	case in.AuthTime.Before(s.CreatedAt.Add(-StepUpClockSkew)):
		return stepUpErr(StepUpStale, ErrForbidden, "the sign-in at %s happened before the Approve click at %s: sign in again",
			in.AuthTime.UTC().Format(time.RFC3339), s.CreatedAt.UTC().Format(time.RFC3339))
	case now.Sub(in.AuthTime) > rule.MaxAge:
		return stepUpErr(StepUpStale, ErrForbidden, "the sign-in at %s is older than %s", in.AuthTime.UTC().Format(time.RFC3339), rule.MaxAge)
	case in.AuthTime.After(now.Add(StepUpClockSkew)):
		return stepUpErr(StepUpStale, ErrForbidden, "the sign-in's auth_time %s is in the future", in.AuthTime.UTC().Format(time.RFC3339))
	}
	if rule.ACR != "" {
		if in.ACR != rule.ACR && !slices.Contains(in.ACRS, rule.ACR) {
			return stepUpErr(StepUpNoMFA, ErrForbidden, "the sign-in did not meet the required authentication context %s", rule.ACR)
		}
	} else if !slices.Contains(in.AMR, "mfa") {
		return stepUpErr(StepUpNoMFA, ErrForbidden, "the sign-in used no MFA (amr: %s)", strings.Join(in.AMR, ", "))
	}
	if s.ApproverDirectoryID != "" {
		id := in.Identity()
		same := id == s.ApproverDirectoryID || (in.ObjectID != "" && strings.EqualFold(id, s.ApproverDirectoryID))
		if !same {
			return stepUpErr(StepUpWrongPerson, ErrForbidden, "someone other than %s signed in (%s)", display(s.Approver), in.Identity())
		}
		return nil
	}
	if !in.EmailVerified || in.Email == "" || !SameEmail(in.Email, s.Approver.Email) {
		return stepUpErr(StepUpWrongPerson, ErrForbidden, "someone other than %s signed in (%s, email %q, verified %t)",
			display(s.Approver), in.Identity(), in.Email, in.EmailVerified)
	}
	return nil
}

// TargetsKey fingerprints r's targets, so that an attempt binds to them.
func TargetsKey(r Request) string {
	ids := make([]string, len(r.Targets))
	for i, t := range r.Targets {
		ids[i] = t.DirectoryID + "\x00" + t.SlackID
	}
	sort.Strings(ids)
	sum := sha256.Sum256([]byte(strings.Join(ids, "\x01")))
	return hex.EncodeToString(sum[:])
}

// HashSecret returns the hex SHA-256 of a link token or cookie value: what
// is stored and compared in place of the secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// SameHash compares two hashes in constant time.
func SameHash(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// NewStepUpSecret returns a random URL-safe secret of 32 bytes.
func NewStepUpSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewStepUp returns the issued attempt for by's approval of r at now, and
// the link token (returned once, never stored).
func NewStepUp(r Request, by Person, directoryID string, now time.Time) (StepUp, string) {
	token := NewStepUpSecret()
	return StepUp{
		ID: NewStepUpSecret(), TokenHash: HashSecret(token), RequestID: r.ID, Approver: by,
		ApproverDirectoryID: directoryID, Action: r.Action, Targets: TargetsKey(r),
		State: StepUpIssued, CreatedAt: now, ExpiresAt: now.Add(StepUpLinkTTL),
	}, token
}

// ApproveStepUp records the approval of s's approver after a checked
// sign-in, with the evidence in the approved event. It refuses as Approve
// does, and when r's action or targets are not those s was issued for.
func (r Request) ApproveStepUp(pol *Policy, s StepUp, in SignIn, now time.Time) (Request, []Event, error) {
	if r.ID != s.RequestID || r.Action != s.Action || TargetsKey(r) != s.Targets {
		return r, nil, decisionErr(ErrForbidden, "request %s changed since the Approve click: click Approve again", r.ID)
	}
	n, events, err := r.approve(pol, s.Approver, now)
	if err != nil {
		return r, nil, err
	}
	for i := range events {
		if events[i].Kind == EventApproved {
			events[i].Detail += "; step-up sign-in: " + in.Evidence()
		}
	}
	return n, events, nil
}
