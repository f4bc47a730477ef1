package actions

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers check them with errors.Is; the wrapping error says
// what was being done.
var (
	// ErrNotFound: no request (or other record) with that ID.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the policy does not allow this person to do this.
	ErrForbidden = errors.New("not allowed")
	// ErrConflict: the request is not in a state that allows the change,
	// e.g. approving a request that is already approved or denied.
	ErrConflict = errors.New("conflict")
	// ErrExpired: the request is past its approval deadline.
	ErrExpired = errors.New("expired")
	// ErrDuplicate: the same submission or decision was made already.
	ErrDuplicate = errors.New("duplicate")
	// ErrUnknownUser: the directory has no user with that email.
	ErrUnknownUser = errors.New("unknown user")
	// ErrNoManager: the directory records no (active) manager for the user.
	ErrNoManager = errors.New("no manager in the directory")
	// ErrUnsupported: the directory cannot perform the action.
	ErrUnsupported = errors.New("unsupported by the directory")
	// ErrLeaseLost: another executor owns the request now.
	ErrLeaseLost = errors.New("execution lease lost")
	// ErrUnavailable: the database could not be reached, or is restarting,
	// or gave up a statement for a reason that retrying cures (a
	// serialization failure, a deadlock, a busy lock). The same call may
	// succeed later; if it wrote, it may also have been stored already
	// (the answer was lost), so a retry checks first. Any other store error
	// is permanent: retrying the same call fails the same way.
	ErrUnavailable = errors.New("database unavailable")
)

// Form fields a validation problem can point at. They equal the request
// modal's block IDs (docs/reference.md, Slack identifiers), but the domain
// does not depend on that.
const (
	FieldAction  = "action"
	FieldTargets = "targets"
	FieldReason  = "reason"
	FieldTicket  = "ticket"
)

// FieldError is one problem with one field of a submission.
type FieldError struct {
	Field   string
	Message string
	// Policy marks a problem of the requester's roles rather than of what
	// was typed: such a submission is audited as refused.
	Policy bool
}

// ValidationError lists every problem found in a submission. Nothing was
// stored when it is returned.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return "invalid request: " + strings.Join(parts, "; ")
}

// Add records a problem with field.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Problems = append(e.Problems, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// AddPolicy records a problem with field that the requester's roles cause.
func (e *ValidationError) AddPolicy(field, format string, args ...any) {
	e.Problems = append(e.Problems, FieldError{Field: field, Message: fmt.Sprintf(format, args...), Policy: true})
}

// Err returns e when it holds a problem, else nil.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Problems) == 0 {
		return nil
	}
	return e
}

// Field returns the first message for field, or "".
func (e *ValidationError) Field(field string) string {
	for _, p := range e.Problems {
		if p.Field == field {
			return p.Message
		}
	}
	return ""
}

// DecisionError explains why a person may not make a decision on a request.
// It wraps ErrForbidden, ErrConflict, ErrExpired or ErrDuplicate.
type DecisionError struct {
	Kind   error  // one of the sentinels above
	Reason string // a sentence a person can read
}

func (e *DecisionError) Error() string { return e.Reason }

// Unwrap returns the sentinel.
func (e *DecisionError) Unwrap() error { return e.Kind }

func decisionErr(kind error, format string, args ...any) error {
	return &DecisionError{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}
