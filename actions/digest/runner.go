package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// RunnerOptions tune a Runner. Zero fields take their defaults.
type RunnerOptions struct {
	// Owner names this replica in the ledger; required for posting.
	Owner string
	Rules Rules
	Hours BusinessHours
	// Lease is how long a claim excludes other replicas (2m). Building
	// and posting a digest must fit in it.
	Lease time.Duration
	// PostTimeout bounds posting and recording the message (15s).
	PostTimeout time.Duration
	// RetryBase and RetryMax space the retries of a failed post: RetryBase
	// after the first failure, doubling up to RetryMax (1m, 1h).
	RetryBase, RetryMax time.Duration
	// MinPeriod is the shortest period Post posts (0: any with a length).
	// `mfadesk digest` sets a minute, so that running it twice does not
	// post a digest of the seconds in between.
	MinPeriod time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
	Observer  Observer
}

// Runner builds digests and posts each period's digest once, however many
// replicas try: it claims the period in the ledger, builds the digest,
// posts it and records the post, and on failure leaves the period to be
// retried with backoff.
//
// The one window it cannot close is between Slack accepting the message and
// the ledger recording it: Slack's chat.postMessage has no idempotency key.
// A replica that dies inside that window leaves the period "posting"; when
// its lease lapses another replica posts it again, and logs that it may be
// a duplicate. The window is kept to one single-row UPDATE: the period is
// marked posting and its lease renewed just before the post, and neither the
// post nor that UPDATE is cut short by shutdown (they run detached from the
// job's context, bounded by PostTimeout). A post that Slack refuses, or that
// fails before reaching Slack, is retried; one that times out after reaching
// Slack is indistinguishable from one that did not and is retried too.
type Runner struct {
	store Store
	pub   Publisher
	o     RunnerOptions
	log   *slog.Logger
}

// NewRunner returns a Runner. pub may be nil for a Runner that only builds
// digests (Build, PeriodTo).
func NewRunner(store Store, pub Publisher, o RunnerOptions) *Runner {
	o.Rules = o.Rules.WithDefaults()
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.PostTimeout <= 0 {
		o.PostTimeout = 15 * time.Second
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Minute
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{store: store, pub: pub, o: o, log: log}
}

func (r *Runner) now() time.Time { return r.o.Now().UTC() }

// Build computes the digest of p.
func (r *Runner) Build(ctx context.Context, p Period) (Digest, error) {
	if !p.Valid() {
		return Digest{}, fmt.Errorf("build digest: empty period %s – %s", p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339))
	}
	d, err := r.store.DigestFacts(ctx, r.o.Rules.Query(p, r.o.Hours))
	if err != nil {
		return Digest{}, fmt.Errorf("build digest: %w", err)
	}
	d.Period = p
	d.Hours = r.o.Hours
	d.Location = r.o.Hours.Loc()
	r.o.Rules.Assess(&d)
	return d, nil
}

// PeriodTo is the period an ad-hoc digest ending at end covers: from start
// when it is set, else from the end of the latest recorded period (posted
// or not), else the first digest's default (Rules.FirstLookback back, but
// not before the first audit event).
func (r *Runner) PeriodTo(ctx context.Context, end, start time.Time) (Period, error) {
	if start.IsZero() {
		rec, ok, err := r.store.LatestDigest(ctx, end)
		if err != nil {
			return Period{}, fmt.Errorf("digest period: %w", err)
		}
		if ok {
			start = rec.Period.End
		} else if start, err = r.fallbackStart(ctx, end); err != nil {
			return Period{}, err
		}
	}
	p := Period{Start: start.UTC(), End: end.UTC()}
	if !p.Valid() {
		return Period{}, fmt.Errorf("digest period: nothing between %s and %s", p.Start.Format(time.RFC3339), p.End.Format(time.RFC3339))
	}
	return p, nil
}

// fallbackStart is where the first digest ending at end starts.
func (r *Runner) fallbackStart(ctx context.Context, end time.Time) (time.Time, error) {
	start := end.Add(-r.o.Rules.FirstLookback)
	first, err := r.store.FirstEventTime(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("digest period: %w", err)
	}
	if first.After(start) && first.Before(end) {
		start = first
	}
	return start, nil
}

// Expected reports whether err is a normal outcome of replicas racing for a
// period (posted already, held by another, superseded, lease lost), not a
// failure.
func Expected(err error) bool {
	return errors.Is(err, ErrPosted) || errors.Is(err, ErrBusy) || errors.Is(err, ErrSuperseded) || errors.Is(err, ErrLeaseLost) ||
		errors.Is(err, ErrNothingToPost)
}

// ErrNothingToPost is Post's answer for a period not worth a message: the
// first period, when nothing happened in it (a fresh install), or a period
// shorter than MinPeriod. Nothing is recorded, so the next period starts
// where it would have.
var ErrNothingToPost = errors.New("nothing to post")

// worthPosting returns ErrNothingToPost, wrapped with the reason, when the
// period ending at end (starting at start, or where the ledger would start
// it) is the first and empty, or too short.
func (r *Runner) worthPosting(ctx context.Context, end, start, fallback time.Time) error {
	first := false
	if start.IsZero() {
		prev, ok, err := r.store.LatestDigest(ctx, end)
		switch {
		case err != nil:
			return fmt.Errorf("digest period: %w", err)
		case ok && prev.Period.End.Equal(end):
			return nil // this period exists: the claim decides
		case ok:
			start = prev.Period.End
		default:
			start, first = fallback, true
		}
	}
	if length := end.Sub(start); length <= 0 || (!first && length < r.o.MinPeriod) {
		return fmt.Errorf("%w: the period since the last digest (%s) is %s long; a digest covers at least %s",
			ErrNothingToPost, start.Format(time.RFC3339), length.Round(time.Second), max(r.o.MinPeriod, time.Microsecond))
	}
	if first {
		d, err := r.Build(ctx, Period{Start: start.UTC(), End: end})
		if err != nil {
			return err
		}
		if d.Quiet() {
			return fmt.Errorf("%w: no audit events yet; the first digest is posted once something has happened", ErrNothingToPost)
		}
	}
	return nil
}

// Post posts the digest of the period ending at end, unless some replica
// has or is doing so, or it is not worth a message (ErrNothingToPost). start is the period's start if the period is new
// (zero: from the previous period's end). It returns the period's record;
// Expected errors when there was nothing for this replica to do, others
// when building, posting or recording failed — the period is then left to
// be retried, at RetryBase doubling per attempt.
func (r *Runner) Post(ctx context.Context, end, start time.Time) (Record, error) {
	if r.pub == nil || r.o.Owner == "" {
		return Record{}, errors.New("post digest: runner has no publisher or owner")
	}
	end = end.UTC()
	fallback, err := r.fallbackStart(ctx, end)
	if err != nil {
		return Record{}, err
	}
	if err := r.worthPosting(ctx, end, start, fallback); err != nil {
		return Record{}, err
	}
	now := r.now()
	rec, err := r.store.ClaimDigest(ctx, Claim{
		End: end, Start: start.UTC(), FallbackStart: fallback, Owner: r.o.Owner, Now: now, LeaseUntil: now.Add(r.o.Lease),
	})
	if err != nil {
		return rec, fmt.Errorf("claim digest ending %s: %w", end.Format(time.RFC3339), err)
	}
	log := r.log.With("period_start", rec.Period.Start, "period_end", rec.Period.End, "attempt", rec.Attempts, "owner", r.o.Owner)
	if rec.Status == StatusPosting {
		log.WarnContext(ctx, "digest: the last attempt stopped while posting; if Slack had accepted it, this post is a duplicate")
	}
	d, err := r.Build(ctx, rec.Period)
	if err != nil {
		return rec, r.failed(ctx, log, rec, err)
	}
	if err := r.store.DigestPosting(ctx, end, r.o.Owner, r.now().Add(r.o.Lease)); err != nil {
		return rec, fmt.Errorf("mark digest posting: %w", err)
	}
	// From here on, shutdown does not interrupt: an interrupted post is
	// the one case that can end up posted twice.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.PostTimeout)
	defer cancel()
	receipt, err := r.pub.Publish(pctx, d)
	if err != nil {
		return rec, r.failed(pctx, log, rec, fmt.Errorf("post digest: %w", err))
	}
	posted := Posted{Channel: receipt.Channel, TS: receipt.TS, Head: d.Head, At: r.now()}
	// Recorded however long the database is away (README, "Database
	// outages and crash recovery"), until the process stops.
	tries, err := actions.RetryWhileUnavailable(ctx, func(wctx context.Context) error {
		return r.store.DigestPosted(wctx, end, r.o.Owner, posted)
	}, func(err error) {
		log.ErrorContext(ctx, "digest posted; recording it waits for the database", "ts", receipt.TS, "error", err)
	})
	if err != nil {
		log.ErrorContext(ctx, "digest posted but not recorded: it may be posted again", "ts", receipt.TS, "tries", tries, "error", err)
		return rec, fmt.Errorf("record posted digest: %w", err)
	}
	rec.Status, rec.Channel, rec.TS, rec.Head, rec.PostedAt, rec.Error = StatusPosted, receipt.Channel, receipt.TS, d.Head, posted.At, ""
	if r.o.Observer != nil {
		r.o.Observer.DigestPosted()
	}
	log.InfoContext(ctx, "digest posted", "channel", receipt.Channel, "ts", receipt.TS, "head_seq", d.Head.Seq, "events", d.Events)
	if err := r.pub.Attach(pctx, d, receipt); err != nil {
		log.WarnContext(ctx, "digest chart not attached", "error", err)
		if nerr := r.store.DigestNote(pctx, end, "attach: "+err.Error()); nerr != nil {
			log.WarnContext(ctx, "record digest note", "error", nerr)
		}
	}
	return rec, nil
}

// failed records a failed attempt for retry after a backoff, and returns
// cause.
func (r *Runner) failed(ctx context.Context, log *slog.Logger, rec Record, cause error) error {
	backoff := r.o.RetryBase
	for i := 1; i < rec.Attempts && backoff < r.o.RetryMax; i++ {
		backoff *= 2
	}
	backoff = min(backoff, r.o.RetryMax)
	retryAt := r.now().Add(backoff)
	log.ErrorContext(ctx, "digest failed; will retry", "error", cause, "retry_at", retryAt)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.o.PostTimeout)
	defer cancel()
	if err := r.store.DigestFailed(rctx, rec.Period.End, r.o.Owner, cause.Error(), retryAt); err != nil {
		return errors.Join(cause, fmt.Errorf("record digest failure: %w", err))
	}
	return cause
}

// Reconcile makes sure the period ending at tick (the schedule's last tick;
// zero: none) is posted, then retries the periods whose earlier attempts
// failed and whose retry time has come. Run at every tick, at start (which
// catches up a tick missed while no replica ran) and every minute or so
// (which retries). It returns the failures, not the Expected outcomes.
func (r *Runner) Reconcile(ctx context.Context, tick time.Time) error {
	var errs []error
	if !tick.IsZero() {
		if _, err := r.Post(ctx, tick, time.Time{}); err != nil && !Expected(err) {
			errs = append(errs, err)
		}
	}
	due, err := r.store.DueDigests(ctx, r.now(), 10)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("due digests: %w", err))...)
	}
	for _, end := range due {
		if ctx.Err() != nil {
			break
		}
		if _, err := r.Post(ctx, end, time.Time{}); err != nil && !Expected(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
