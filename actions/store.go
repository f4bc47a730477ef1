package actions

import (
	"context"
	"time"
)

// Store keeps requests and the audit log durably. storage.Store implements it
// on PostgreSQL and SQLite. Every method that changes a request also appends
// the audit events of that change in the same transaction, sealed into the
// hash chain (Event.Seal) in the order given. An error that wraps
// ErrUnavailable is transient (the database is unreachable or restarting):
// the same call may succeed later. Every other error is permanent.
type Store interface {
	// CreateRequest stores a new request with its targets and appends events.
	// When r.SubmissionKey is not empty and a request with that key exists
	// already, it stores nothing and returns an error wrapping ErrDuplicate.
	CreateRequest(ctx context.Context, r Request, events []Event) error

	// Request returns the request with id, its targets (with their results)
	// and approvals; an error wrapping ErrNotFound when there is none.
	Request(ctx context.Context, id string) (Request, error)

	// RequestBySubmissionKey returns the request stored for a submission key;
	// ErrNotFound when there is none.
	RequestBySubmissionKey(ctx context.Context, key string) (Request, error)

	// Update loads request id under a lock that excludes every other Update
	// and Claim of it (in this process or any other sharing the database),
	// and calls fn with it. fn runs once (not at all when the request
	// cannot be loaded), while the lock is held: it must do no I/O (no
	// directory, Slack or store calls), only compute the change from the
	// request it is given. When fn returns an error nothing is written and
	// Update returns that error. Otherwise it writes what fn changed (state,
	// new approvals, new target results, a target becoming privileged,
	// new caller verifications and the outcome of waiting ones, decision,
	// message, lease, times),
	// increments Version, appends the events, all in one transaction, and
	// returns the stored request. A target result already stored is never
	// overwritten, one approver approves a request once, a decided
	// verification never changes and a method is tried once per target:
	// breaking any rolls back and returns an error wrapping ErrDuplicate. ErrNotFound when
	// there is no such request.
	Update(ctx context.Context, id string, fn func(Request) (Request, []Event, error)) (Request, error)

	// UpdateCreate is Update whose fn may also return new requests, stored
	// with their targets in the same transaction, before the events are
	// appended. A new request whose ID or SubmissionKey exists already rolls
	// everything back with an error wrapping ErrDuplicate.
	UpdateCreate(ctx context.Context, id string, fn func(Request) (Request, []Request, []Event, error)) (Request, []Request, error)

	// ClaimNotice finds a notice that a courier may take — due with its
	// NotBefore passed, or claimed or posting with a claim that lapsed
	// before now — whose After request (if any) has ended, locks its
	// request as Update does, and calls fn with the request and the
	// notice's index; it writes fn's change like Update. Notices are only
	// ever changed under their request's lock. It returns ErrNotFound when
	// no notice is waiting.
	ClaimNotice(ctx context.Context, now time.Time, fn func(Request, int) (Request, []Event, error)) (Request, int, error)

	// AppendEvents appends events that belong to no state change, such as a
	// refused click.
	AppendEvents(ctx context.Context, events ...Event) error

	// ListRequests returns requests matching f, oldest first.
	ListRequests(ctx context.Context, f RequestFilter) ([]Request, error)

	// ClaimNext takes one request that needs an executor and is not a manual
	// step: approved, running with no lease (released), or, when takeOver is
	// true, running with a lease that lapsed before now. It locks it as
	// Update does, calls claim with it (Lease builds the claim executors
	// use) and writes claim's change and events in one transaction; rows
	// locked by another claimer are skipped rather than waited for. A
	// containment request waits until the one named by its
	// Containment.After has ended. It returns ErrNotFound when there is
	// nothing to claim, and claim's error unchanged.
	ClaimNext(ctx context.Context, now time.Time, takeOver bool, claim func(Request) (Request, []Event, error)) (Request, error)

	// RenewLease sets LeaseUntil of running request id to until when owner
	// holds its lease, cheaply (no audit event, no Version change). It
	// returns ErrLeaseLost when owner does not hold it.
	RenewLease(ctx context.Context, id, owner string, until time.Time) error

	// Events calls fn for every audit event with Seq > afterSeq and Time at or
	// after since (zero: all), in Seq order, streaming. fn's error stops the
	// walk and is returned.
	Events(ctx context.Context, afterSeq int64, since time.Time, fn func(Event) error) error
}

// RequestFilter selects requests for ListRequests. Zero fields match all.
type RequestFilter struct {
	States []State
	// Requester matches the requester's Slack ID.
	Requester string
	// ExpiresBefore keeps requests whose approval deadline is before it.
	ExpiresBefore time.Time
	// Actions keeps requests of these actions.
	Actions []Action
	// CreatedAfter keeps requests made at or after it.
	CreatedAfter time.Time
	// ExcludeStates drops requests in these states.
	ExcludeStates []State
	// Target keeps requests with a target who is this user: same Slack ID,
	// same email (case-insensitive) or same directory ID.
	Target *TargetRef
	// Contains keeps the containment requests of this reported request.
	Contains string
	// Limit caps the number returned; 0 means 500.
	Limit int
}

// Notifier tells people what happened. The Slack bot implements it. Calls
// are made after the change is stored; a replica other than the one that
// stored the request may make them, so an implementation works from the
// request alone (Request.Message locates its approval message).
type Notifier interface {
	// Changed says r changed: a new request, an approval, a decision, a
	// target's result, completion or expiry. Implementations redraw what
	// shows the request, coalescing bursts; when r.State is terminal and r
	// ran, they also tell the requester the outcome privately.
	Changed(ctx context.Context, r Request)
	// DeliverSecret gives the requester target t's secret privately, once.
	// An error means it did not reach them.
	DeliverSecret(ctx context.Context, r Request, t Target, s *Secret) error
	// ManualSteps sends the approvers of r the steps of its tracked manual
	// step, with controls to mark it done or failed.
	ManualSteps(ctx context.Context, r Request, steps string) error
}
