package digest

import (
	"context"
	"errors"
	"time"
)

// Status is where a period's digest is in being posted.
type Status string

// The statuses of a digest record.
const (
	// StatusPending: claimed, or failed and waiting to be retried.
	StatusPending Status = "pending"
	// StatusPosting: a replica is posting it now. Found with a lapsed lease,
	// it means the replica died while posting: Slack may have the message
	// or not.
	StatusPosting Status = "posting"
	// StatusPosted: posted and final; never posted again.
	StatusPosted Status = "posted"
)

// Errors of the Ledger. They are expected outcomes of racing replicas, not
// failures.
var (
	// ErrPosted: the period's digest is posted already.
	ErrPosted = errors.New("digest posted already")
	// ErrBusy: another replica holds the period, or it failed recently and
	// waits for its retry time.
	ErrBusy = errors.New("digest claimed by another replica or waiting to be retried")
	// ErrSuperseded: a later period is recorded already, which covers this
	// one's time; it will not be posted.
	ErrSuperseded = errors.New("digest period superseded by a later one")
	// ErrLeaseLost: the claim lapsed and another replica took the period.
	ErrLeaseLost = errors.New("digest claim lost to another replica")
)

// Record is a period's row in the ledger.
type Record struct {
	Period Period
	Status Status
	// Owner is the replica that claimed it last, LeaseUntil when that
	// claim lapses — or, after a failure, when it may be retried.
	Owner      string
	LeaseUntil time.Time
	// Attempts counts claims; Error is the last failure's message.
	Attempts int
	Error    string
	// Where it was posted, with the chain head it stated.
	Channel, TS string
	Head        Head
	PostedAt    time.Time
}

// Claim asks the ledger for a period.
type Claim struct {
	// End is the period's end: the schedule's tick, or now for an ad-hoc
	// digest. It identifies the period.
	End time.Time
	// Start is the period's start when the row is created: Start if set,
	// else the End of the latest period before it, else FallbackStart.
	// Once created, a period keeps its start.
	Start, FallbackStart time.Time
	Owner                string
	Now, LeaseUntil      time.Time
}

// Posted says where a digest went.
type Posted struct {
	Channel, TS string
	Head        Head
	At          time.Time
}

// Ledger records one row per digest period, shared by every replica. Its
// claims are exclusive across processes: one row per period end, taken
// under a lease.
type Ledger interface {
	// ClaimDigest creates the row of the period ending at c.End for
	// c.Owner, leased until c.LeaseUntil, or takes over its existing row
	// when that is not posted and its lease lapsed before c.Now (counting
	// an attempt). It returns the record as claimed. Errors: ErrPosted,
	// ErrBusy, ErrSuperseded (a period ending after c.End exists, so a new
	// row would overlap it), each wrapped, with the record when there is
	// one; others when the database fails.
	ClaimDigest(ctx context.Context, c Claim) (Record, error)
	// DigestPosting marks the period being posted by owner and extends the
	// lease to until, just before the message is sent. ErrLeaseLost when
	// owner no longer holds it.
	DigestPosting(ctx context.Context, end time.Time, owner string, until time.Time) error
	// DigestPosted marks the period posted, finally, with where and what.
	// ErrLeaseLost when owner no longer holds it.
	DigestPosted(ctx context.Context, end time.Time, owner string, p Posted) error
	// DigestFailed returns the period to pending with the failure's
	// message, retryable from retryAt. ErrLeaseLost when owner no longer
	// holds it.
	DigestFailed(ctx context.Context, end time.Time, owner, reason string, retryAt time.Time) error
	// DigestNote records a problem that followed posting (the chart),
	// without changing the status.
	DigestNote(ctx context.Context, end time.Time, note string) error
	// DueDigests returns the ends of periods not posted whose lease lapsed
	// before now, oldest first, at most limit.
	DueDigests(ctx context.Context, now time.Time, limit int) ([]time.Time, error)
	// LatestDigest returns the record of the latest period ending at or
	// before t, whatever its status; ok is false when there is none.
	LatestDigest(ctx context.Context, t time.Time) (rec Record, ok bool, err error)
}

// Store is what the Runner needs of the database.
type Store interface {
	Ledger
	Source
}

// Receipt says where a digest was posted.
type Receipt struct {
	Channel, TS string
}

// Publisher shows digests to people: the Slack adapter.
type Publisher interface {
	// Publish posts d's message. Without an error the message exists;
	// with one it should not (see Runner on the window in between).
	Publish(ctx context.Context, d Digest) (Receipt, error)
	// Attach adds what follows the message, such as the chart, to it.
	Attach(ctx context.Context, d Digest, r Receipt) error
}

// Observer counts posted digests (metrics.Metrics).
type Observer interface {
	DigestPosted()
}
