package actions

import (
	"crypto/rand"
	"strings"
	"time"
)

// State is where a request is in its lifecycle.
//
//	pending -> approved -> running -> succeeded | partially_failed | failed
//	pending -> denied | expired | cancelled
type State string

// The request states.
const (
	StatePending         State = "pending"
	StateApproved        State = "approved"
	StateRunning         State = "running"
	StateSucceeded       State = "succeeded"
	StatePartiallyFailed State = "partially_failed"
	StateFailed          State = "failed"
	StateDenied          State = "denied"
	StateExpired         State = "expired"
	StateCancelled       State = "cancelled"
)

// Already says that a request is in s, for "request R … already":
// "has succeeded", "was denied", "is running".
func (s State) Already() string {
	switch s {
	case StateSucceeded, StateFailed, StateExpired:
		return "has " + string(s)
	case StatePartiallyFailed:
		return "has partially failed"
	case StateDenied, StateCancelled, StateApproved:
		return "was " + string(s)
	}
	return "is " + string(s)
}

// Terminal reports whether no further transition leaves s.
func (s State) Terminal() bool {
	switch s {
	case StateSucceeded, StatePartiallyFailed, StateFailed, StateDenied, StateExpired, StateCancelled:
		return true
	}
	return false
}

// Person is a Slack user as the domain sees them: the Slack user ID, the
// email on their Slack profile and, once the service has looked them up, the
// directory user that email resolves to.
type Person struct {
	SlackID string
	Email   string
	// DirectoryID is the directory user's ID; empty when not looked up or
	// not found.
	DirectoryID string
}

// Is reports whether p and o are the same person (SamePerson).
func (p Person) Is(o Person) bool { return SamePerson(p, o) }

// Outcome is what happened to one target.
type Outcome string

// Target outcomes.
const (
	OutcomeOK      Outcome = "ok"
	OutcomeFailed  Outcome = "failed"
	OutcomeSkipped Outcome = "skipped"
)

// TargetRef identifies a target in the audit log: exactly the fields of
// the export's `targets` and `target` (docs/reference.md).
type TargetRef struct {
	SlackID     string `json:"slack_id"`
	Email       string `json:"email"`
	DirectoryID string `json:"directory_id"`
}

// Target is a user an action is performed on.
type Target struct {
	SlackID     string
	Email       string
	DirectoryID string
	// Privileged is true when the user held an admin role in the directory
	// when the request was made.
	Privileged bool
	// Result is nil until the target's one result is recorded.
	Result *TargetResult
}

// Ref returns the audit identity of t.
func (t Target) Ref() TargetRef {
	return TargetRef{SlackID: t.SlackID, Email: t.Email, DirectoryID: t.DirectoryID}
}

// Person returns t as a Person, to compare with requesters and approvers.
func (t Target) Person() Person {
	return Person{SlackID: t.SlackID, Email: t.Email, DirectoryID: t.DirectoryID}
}

// TargetResult is the one recorded result of a target.
type TargetResult struct {
	Outcome Outcome
	// Detail is what was done or the error, with the directory's request ID.
	// Never a secret.
	Detail string
	At     time.Time
}

// Approval is one approver's decision to approve.
type Approval struct {
	By Person
	At time.Time
}

// Request is a helpdesk agent's request to perform one action on one or more
// targets, and everything that happened to it since.
type Request struct {
	ID        string
	Requester Person
	Action    Action
	Targets   []Target
	Reason    string
	Ticket    string
	State     State
	CreatedAt time.Time
	// ExpiresAt is the approval deadline: created + approval.ttl.
	ExpiresAt time.Time
	UpdatedAt time.Time
	// ApprovalsNeeded is approval.approvals when the request was made.
	ApprovalsNeeded int
	Approvals       []Approval
	// DecidedBy is who denied or cancelled it, or who marked the manual step.
	DecidedBy Person
	// DecisionNote is the deny reason, or the manual step's note.
	DecisionNote string
	// Verify are the methods by which every target must be verified before
	// the request runs: the policy's `verify` for the action when the
	// request was made. Empty: no verification is needed.
	Verify []VerifyMethod
	// Verifications are the verification methods started, oldest first.
	Verifications []Verification
	// Manual is true for a tracked manual step: the directory cannot do the
	// action through an API, so a person does it and marks it done or failed.
	Manual bool
	// Message is an opaque reference to where the request is shown (the
	// Slack approval message), kept by the chat adapter.
	Message string
	// SubmissionKey deduplicates repeated submissions of one form.
	SubmissionKey string
	// LeaseOwner is the executor running the request, and LeaseUntil when
	// its claim lapses unless renewed; both are empty when no one holds it.
	LeaseOwner string
	LeaseUntil time.Time
	// NotifyTarget and NotifyManager are the policy's notify.target and
	// notify.manager when the request was made: whether a target the action
	// ran on, and their manager, are told (see Notice).
	NotifyTarget  bool
	NotifyManager bool
	// Containment is set on a request started by "This wasn't me": nil on
	// every other request.
	Containment *Containment
	// Notices are the messages owed because of this request, in the order
	// they became due; each is sent once (see Notice).
	Notices []Notice
	// Version increases with every stored change.
	Version int64
}

// Privileged reports whether any target held an admin role.
func (r Request) Privileged() bool {
	for _, t := range r.Targets {
		if t.Privileged {
			return true
		}
	}
	return false
}

// IsTarget reports whether p is one of the request's targets.
func (r Request) IsTarget(p Person) bool {
	for _, t := range r.Targets {
		if t.Person().Is(p) {
			return true
		}
	}
	return false
}

// ApprovedBy reports whether p has approved r.
func (r Request) ApprovedBy(p Person) bool {
	for _, a := range r.Approvals {
		if a.By.Is(p) {
			return true
		}
	}
	return false
}

// Counts returns how many targets have each outcome and how many have none yet.
func (r Request) Counts() (ok, failed, skipped, pending int) {
	for _, t := range r.Targets {
		if t.Result == nil {
			pending++
			continue
		}
		switch t.Result.Outcome {
		case OutcomeOK:
			ok++
		case OutcomeFailed:
			failed++
		default:
			skipped++
		}
	}
	return
}

// Refs returns the audit identities of every target.
func (r Request) Refs() []TargetRef {
	refs := make([]TargetRef, len(r.Targets))
	for i, t := range r.Targets {
		refs[i] = t.Ref()
	}
	return refs
}

// Clone returns a deep copy of r, so that a transition never changes its input.
func (r Request) Clone() Request {
	c := r
	c.Targets = make([]Target, len(r.Targets))
	for i, t := range r.Targets {
		c.Targets[i] = t
		if t.Result != nil {
			res := *t.Result
			c.Targets[i].Result = &res
		}
	}
	c.Approvals = append([]Approval(nil), r.Approvals...)
	c.Notices = append([]Notice(nil), r.Notices...)
	if r.Containment != nil {
		k := *r.Containment
		c.Containment = &k
	}
	c.Verify = append([]VerifyMethod(nil), r.Verify...)
	c.Verifications = append([]Verification(nil), r.Verifications...)
	return c
}

// idAlphabet is Crockford's base32: no I, L, O or U, so IDs read aloud well.
const idAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewRequestID returns a fresh random request ID such as "R7K2M9QXA4F".
func NewRequestID() string { return RandomID("R", 10) }

// RandomID returns prefix followed by n random characters that read aloud
// well (no I, L, O or U): request IDs, and the references that tie an error
// a person saw to the log.
func RandomID(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	out := make([]byte, 0, len(prefix)+n)
	out = append(out, prefix...)
	for _, c := range b {
		out = append(out, idAlphabet[int(c)%len(idAlphabet)])
	}
	return string(out)
}

// NormalizeRequestID turns what a person typed ("r7k2m9qxa4f", " R7K2… ")
// into the canonical form.
func NormalizeRequestID(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
