package actions

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// How the executor writes through a database outage (README, "Database
// outages"): every write that records what already happened in the
// directory is tried again until it succeeds or the process stops.
const (
	// writeTimeout bounds one try of a write, so that a connection that
	// hangs (a partition drops packets) counts as unavailable.
	writeTimeout = 5 * time.Second
	// writeBackoffBase and writeBackoffMax bound the pause between tries; a
	// try also starts at once when another write finds the database back.
	writeBackoffBase = 100 * time.Millisecond
	writeBackoffMax  = time.Second
	// gatePoll is how often a target waiting to start looks again.
	gatePoll = 50 * time.Millisecond
)

// errStoredAlready ends a retried write that finds its change stored: an
// earlier try reached the database but its answer was lost.
var errStoredAlready = errors.New("stored by an earlier try")

// transientErr reports whether a store error may go away by itself: the
// database is unavailable, or one try ran out of time while ctx lives.
func transientErr(ctx context.Context, err error) bool {
	return errors.Is(err, ErrUnavailable) || (errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil)
}

// contact tracks whether this executor reaches the database. It goes down
// on any transient store error and up on any answer.
type contact struct {
	log *slog.Logger

	mu    sync.Mutex
	down  bool
	at    time.Time     // when it went down or came up
	since time.Time     // start of the current unbroken contact; zero: none yet
	back  chan struct{} // closed while up
}

func newContact(log *slog.Logger) *contact {
	c := &contact{log: log, back: make(chan struct{})}
	close(c.back)
	return c
}

// ok notes that the database answered.
func (c *contact) ok() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	switch {
	case c.down:
		c.log.Info("database reachable again: recording held results, then resuming", "down_for", now.Sub(c.at).Round(time.Millisecond).String())
		c.down, c.at, c.since = false, now, now
		close(c.back)
	case c.since.IsZero():
		c.since = now
	}
}

// lost notes that the database did not answer.
func (c *contact) lost(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return
	}
	c.log.Warn("database unreachable: no new target starts until it is back", "error", err)
	c.down, c.at, c.since = true, time.Now(), time.Time{}
	c.back = make(chan struct{})
}

// steadyFor is how long the database has answered without a break.
func (c *contact) steadyFor() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down || c.since.IsZero() {
		return 0
	}
	return time.Since(c.since)
}

// up returns whether the database answers, and a channel closed once it does.
func (c *contact) up() (bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.down, c.back
}

// lease is this executor's claim on one request while it runs it.
type lease struct {
	mu        sync.Mutex
	confirmed time.Time // when the database last confirmed it (monotonic)
	lost      bool      // another executor owns the request now
	held      int       // results obtained but not yet recorded
}

func (l *lease) confirm() {
	l.mu.Lock()
	l.confirmed = time.Now()
	l.mu.Unlock()
}

func (l *lease) lose() {
	l.mu.Lock()
	l.lost = true
	l.mu.Unlock()
}

func (l *lease) hold(n int) {
	l.mu.Lock()
	l.held += n
	l.mu.Unlock()
}

func (l *lease) state() (confirmed time.Time, lost bool, held int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.confirmed, l.lost, l.held
}

// renewEvery is how often a held lease is renewed: Lease/4, so that three
// renewals may fail before it lapses.
func (e *Executor) renewEvery() time.Duration { return max(e.opts.Lease/4, time.Millisecond) }

// renew extends l once.
func (e *Executor) renew(ctx context.Context, id string, l *lease) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	err := e.store.RenewLease(ctx, id, e.opts.Owner, e.opts.Now().Add(e.opts.Lease))
	switch {
	case err == nil:
		e.contact.ok()
		l.confirm()
	case errors.Is(err, ErrLeaseLost):
		e.contact.ok()
		l.lose()
	case transientErr(ctx, err):
		e.contact.lost(err)
	}
	return err
}

// heartbeat renews l every renewEvery until ctx ends or l is lost. It goes
// on while the database is away: the first renewal that succeeds re-takes
// the lease, whether or not it lapsed meanwhile, unless another executor
// took it.
func (e *Executor) heartbeat(ctx context.Context, id string, l *lease, log *slog.Logger) {
	t := time.NewTicker(e.renewEvery())
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := e.renew(ctx, id, l)
		switch {
		case err == nil:
			failing = false
		case errors.Is(err, ErrLeaseLost):
			log.WarnContext(ctx, "lease lost: starting no more targets; results in hand are still recorded")
			return
		case ctx.Err() != nil:
			return
		case !failing:
			failing = true // once per outage, not per renewal
			log.ErrorContext(ctx, "renew lease", "error", err)
		}
	}
}

// gate returns when a target of the request under l may start: the
// database confirmed the lease within renewEvery and no result waits to be
// recorded. It returns ErrLeaseLost once the lease is lost, or ctx's error.
func (e *Executor) gate(ctx context.Context, id string, l *lease) error {
	for {
		confirmed, lost, held := l.state()
		if lost {
			return ErrLeaseLost
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		up, back := e.contact.up()
		switch {
		case held == 0 && up && time.Since(confirmed) < e.renewEvery():
			return nil
		case held == 0 && up:
			if err := e.renew(ctx, id, l); err == nil || errors.Is(err, ErrLeaseLost) {
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-back:
			if !up {
				continue
			}
			<-time.After(gatePoll)
		case <-time.After(gatePoll):
		}
	}
}

// durably runs write until it succeeds, fails for a reason other than the
// database being unavailable, or ctx ends (the process stops). retry tells
// write that an earlier try may have been stored; write returns
// errStoredAlready when it finds that so. The first failure is logged
// once, with log's request ID, not each retry; success after failures is
// logged too.
func (e *Executor) durably(ctx context.Context, l *lease, log *slog.Logger, what string, write func(ctx context.Context, retry bool) error, attrs ...any) error {
	var first time.Time
	for try := 1; ; try++ {
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := write(wctx, try > 1)
		cancel()
		if errors.Is(err, errStoredAlready) {
			err = nil
		}
		if err == nil || !transientErr(ctx, err) {
			if err == nil || errors.Is(err, ErrLeaseLost) {
				e.contact.ok()
			}
			if try > 1 {
				l.hold(-1)
				if err == nil {
					log.InfoContext(ctx, what+": stored after the database returned", append(attrs, "tries", try, "held_for", time.Since(first).Round(time.Millisecond).String())...)
				}
			}
			return err
		}
		e.contact.lost(err)
		if try == 1 {
			first = time.Now()
			l.hold(1)
			log.ErrorContext(ctx, what+": database unavailable; holding it in memory and retrying until stored", append(attrs, "error", err)...)
		}
		if !e.backoff(ctx, try) {
			l.hold(-1)
			log.ErrorContext(ctx, what+": not stored: the process is stopping", append(attrs, "tries", try)...)
			return err
		}
	}
}

// backoff waits before try+1 of a write: jittered, doubling from
// writeBackoffBase to writeBackoffMax, cut short when the database is found
// back. It returns false when ctx ended.
func (e *Executor) backoff(ctx context.Context, try int) bool {
	_, back := e.contact.up()
	t := time.NewTimer(backoffDelay(try, writeBackoffBase, writeBackoffMax))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-back:
	}
	return true
}

// RetryWhileUnavailable calls write until it returns nil or an error that
// does not wrap ErrUnavailable, or ctx ends, pausing between tries as the
// executor does (100 ms doubling to 1 s, jittered). It is for a write that
// records something already done outside the database (a Slack post), so
// that an outage delays the record instead of losing it. failed, when not
// nil, is called with the first failure only: log it once. Each try runs
// to its end (at most 5 s) even when ctx has ended, so that a write made
// as the process stops is still tried once; ctx ending stops the retries.
// It returns how many tries were made and the last error.
func RetryWhileUnavailable(ctx context.Context, write func(ctx context.Context) error, failed func(error)) (int, error) {
	for try := 1; ; try++ {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		err := write(wctx)
		cancel()
		if err == nil || !transientErr(ctx, err) {
			return try, err
		}
		if try == 1 && failed != nil {
			failed(err)
		}
		if SleepContext(ctx, backoffDelay(try, writeBackoffBase, writeBackoffMax)) != nil {
			return try, err
		}
	}
}
