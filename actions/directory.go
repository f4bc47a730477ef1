package actions

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Support is how a directory can perform an action.
type Support int

// Support levels.
const (
	// Unsupported: refused before any approval is asked.
	Unsupported Support = iota
	// Automated: the directory performs it through its API.
	Automated
	// Manual: no API exists; after approval a person does it by hand and
	// marks it done or failed (a tracked manual step).
	Manual
)

func (s Support) String() string {
	switch s {
	case Automated:
		return "automated"
	case Manual:
		return "manual"
	}
	return "unsupported"
}

// DirectoryUser is a user as the directory knows them.
type DirectoryUser struct {
	// ID is the directory's stable object ID (Entra object ID, Google user ID,
	// Okta user ID); actions address the user by it.
	ID          string
	Email       string
	DisplayName string
}

// Secret is a one-time secret an action produced: a temporary password or a
// Temporary Access Pass. It is handed to the requester privately, once, and
// never stored, logged or audited. Its String, GoString, LogValue and
// MarshalJSON all redact it; only Reveal gives the value.
type Secret struct {
	// Kind says what it is, e.g. "Temporary password".
	Kind  string
	value string
	// Note is extra, non-secret information, e.g. when the pass expires.
	Note string
}

// NewSecret wraps value.
func NewSecret(kind, value, note string) *Secret {
	return &Secret{Kind: kind, value: value, Note: note}
}

// Reveal returns the secret value, for private delivery only.
func (s *Secret) Reveal() string { return s.value }

func (s *Secret) String() string { return s.Kind + " [redacted]" }

// GoString redacts the value in %#v.
func (s *Secret) GoString() string { return s.String() }

// LogValue redacts the value in slog.
func (s *Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON redacts the value.
func (s *Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// Performed is what a directory reports after acting on one user.
type Performed struct {
	// Outcome is OK or Skipped (nothing needed doing); failures are errors.
	Outcome Outcome
	// Detail says what was done, e.g. "removed 2 of 3 methods: …", and the
	// directory's request ID. Never a secret.
	Detail string
	// Secret, when the action produces one, for private delivery.
	Secret *Secret
}

// Directory is an identity provider mfadesk acts on. Implementations live in
// sub-packages (entra, google, okta, dryrun) and must be safe for concurrent use.
// Each method that reaches the provider retries throttled and transient
// failures itself, within one retry policy (README, "Retries"): callers call
// it once and take its error as final.
type Directory interface {
	// Name is the directory's kind, e.g. "entra".
	Name() string
	// Supports says how the directory can perform a.
	Supports(a Action) Support
	// ManualSteps are the instructions for a person doing a Manual action by
	// hand, as plain text with one step per line.
	ManualSteps(a Action) string
	// ResolveUser finds the user with this email (or sign-in name). It returns
	// an error wrapping ErrUnknownUser when there is none.
	ResolveUser(ctx context.Context, email string) (DirectoryUser, error)
	// IsPrivileged reports whether the user holds an admin role.
	IsPrivileged(ctx context.Context, userID string) (bool, error)
	// Perform does a on the target (addressed by t.DirectoryID). Errors should
	// be *DirectoryError where the directory answered.
	Perform(ctx context.Context, a Action, t Target) (Performed, error)
	// Manager returns the manager the directory records for the user with
	// directory ID userID (Entra's manager, Google's relation of type
	// manager, Okta's profile.managerId or profile.manager). It returns an
	// error wrapping ErrNoManager when none is recorded or the recorded
	// manager is not an active user of the directory.
	Manager(ctx context.Context, userID string) (DirectoryUser, error)
}

// BatchPerformer is implemented by directories that can act on several users
// in one round trip (Graph's JSON batching). Results are in the order of ts;
// each is as Perform would return it.
type BatchPerformer interface {
	// MaxBatch is the most targets one PerformBatch call takes.
	MaxBatch(a Action) int
	PerformBatch(ctx context.Context, a Action, ts []Target) []BatchResult
}

// BatchResult is one target's result within a batch.
type BatchResult struct {
	Performed Performed
	Err       error
}

// DirectoryError is an error answered by a directory's API.
type DirectoryError struct {
	// Op is what was being done, e.g. "delete phone method".
	Op string
	// Status is the HTTP status, 0 when no answer came.
	Status int
	// Code and Message are the provider's error code and text.
	Code    string
	Message string
	// RequestID is the provider's request ID (Graph's request-id, Okta's
	// X-Okta-Request-Id), kept in the audit log.
	RequestID string
	// RetryAfter is the wait the provider asked for, 0 when it named none.
	RetryAfter time.Duration
	// Err is an underlying transport error, if any.
	Err error
}

func (e *DirectoryError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Status != 0:
		b.WriteString(statusLine(e.Status))
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.Message != "":
		b.WriteString(e.Message)
	default:
		b.WriteString("failed")
	}
	if e.RequestID != "" {
		b.WriteString(" (request-id " + e.RequestID + ")")
	}
	return b.String()
}

// Unwrap returns the transport error.
func (e *DirectoryError) Unwrap() error { return e.Err }

// Retryable reports whether trying again may succeed: throttling (429),
// 500, 502, 503, 504, and transport errors with no answer. Other 4xx are not.
func (e *DirectoryError) Retryable() bool {
	switch e.Status {
	case 0:
		return e.Err != nil && !errors.Is(e.Err, context.Canceled) && !errors.Is(e.Err, context.DeadlineExceeded)
	case 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// statusText names the HTTP statuses directories answer with; the domain
// keeps this short list instead of depending on net/http.
var statusText = map[int]string{
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 412: "Precondition Failed",
	422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
	501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}

// statusLine is "404 Not Found", or the bare code for a status not listed.
func statusLine(code int) string {
	if t, ok := statusText[code]; ok {
		return strconv.Itoa(code) + " " + t
	}
	return strconv.Itoa(code)
}
