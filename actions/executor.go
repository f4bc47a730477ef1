package actions

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ExecutorOptions tune an Executor; zero values take the defaults.
type ExecutorOptions struct {
	// Owner names this executor in leases; unique per process. Default:
	// hostname, pid and a random suffix.
	Owner string
	// Workers is how many requests run at once (default 2).
	Workers int
	// Parallel is how many targets of one request run at once (default 8).
	Parallel int
	// Lease is how long a claim lasts without renewal (default 4s); it is
	// renewed every Lease/4. Another replica resumes a request whose lease
	// lapsed, so a crashed process's work is picked up within about
	// Lease+Poll. A replica takes a lapsed lease over only once it has
	// reached the database for a whole Lease without a break, so that a
	// lease that lapsed while the database was away goes back to its owner
	// (README, "Database outages").
	Lease time.Duration
	// Sole says this is the only executor on its database (SQLite, whose
	// serve process holds the database's lock): it never takes a lapsed
	// lease over, since any lease it finds is its own or was released when
	// the process started.
	Sole bool
	// Poll is how often to look for work when idle (default 1s).
	Poll time.Duration
	// Drain is how long running work may go on after Run's context ends
	// before it is interrupted and left to be resumed (default 20s).
	Drain    time.Duration
	Notifier Notifier
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time
	// Policy returns the policy in force (Service.Policy). Just before each
	// target runs, the executor checks under it the requester's and
	// approvers' roles and whether the target holds an admin role now, and
	// before a secret is delivered the requester's role again (README,
	// "Checked when it matters"). Nil checks nothing: for tests of the
	// executor alone.
	Policy func() *Policy
}

// livenessHolder is a Store that can say this executor's process is alive
// for as long as it runs (storage.Store on PostgreSQL), so that a lease
// that lapses while its owner lives is not taken over.
type livenessHolder interface {
	HoldLiveness(ctx context.Context, owner string)
}

// DefaultLease is ExecutorOptions.Lease's default.
const DefaultLease = 4 * time.Second

// Executor runs approved requests against the directory, durably: every
// target's result is stored once, and a request whose executor died is
// resumed by another (or the same, restarted) process once its lease lapses.
// A result obtained while the database is unreachable is held in memory and
// stored once it is back; meanwhile no target starts.
type Executor struct {
	store   Store
	dir     Directory
	opts    ExecutorOptions
	kick    chan struct{}
	contact *contact
}

// NewExecutor returns an executor over store and dir.
func NewExecutor(store Store, dir Directory, opts ExecutorOptions) *Executor {
	opts.Owner = cmp.Or(opts.Owner, processOwner(""))
	opts.Workers = positiveOr(opts.Workers, 2)
	opts.Parallel = positiveOr(opts.Parallel, 8)
	opts.Lease = positiveOr(opts.Lease, DefaultLease)
	opts.Poll = positiveOr(opts.Poll, time.Second)
	opts.Drain = positiveOr(opts.Drain, 20*time.Second)
	if opts.Notifier == nil {
		opts.Notifier = nopNotifier{}
	}
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Executor{store: store, dir: dir, opts: opts, kick: make(chan struct{}, 1), contact: newContact(opts.Logger)}
}

// SetNotifier replaces the notifier; for wiring, before Run.
func (e *Executor) SetNotifier(n Notifier) {
	if n != nil {
		e.opts.Notifier = n
	}
}

// Kick wakes the executor to look for work now.
func (e *Executor) Kick() {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Run claims and runs requests until ctx ends. It then stops claiming, lets
// running work go on for up to Drain, interrupts what is left (whose targets
// without a result are resumed later, by any replica) and returns nil.
func (e *Executor) Run(ctx context.Context) error {
	// Work outlives ctx by up to Drain: it runs on its own context.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	if h, ok := e.store.(livenessHolder); ok {
		held := make(chan struct{})
		go func() { defer close(held); h.HoldLiveness(work, e.opts.Owner) }()
		defer func() { stopWork(); <-held }()
	}
	slots := make(chan struct{}, e.opts.Workers)
	var wg sync.WaitGroup
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		// A lapsed lease is taken over only after a whole lease of unbroken
		// contact: one that lapsed while the database was away is its
		// owner's to renew first.
		takeOver := !e.opts.Sole && e.contact.steadyFor() >= e.opts.Lease
		r, err := e.claimNext(ctx, takeOver)
		if err != nil {
			<-slots
			switch {
			case errors.Is(err, ErrNotFound):
				e.contact.ok()
			case transientErr(ctx, err):
				e.contact.lost(err) // logged once per outage
			case ctx.Err() == nil:
				e.opts.Logger.ErrorContext(ctx, "claim work", "error", err)
			}
			select {
			case <-ctx.Done():
			case <-e.kick:
			case <-time.After(e.opts.Poll):
			}
			continue
		}
		e.contact.ok()
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			e.execute(work, r)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(e.opts.Drain):
		e.opts.Logger.Warn("drain deadline reached: interrupting running requests; they resume later", "drain", e.opts.Drain)
		stopWork()
		<-done
	}
	return nil
}

// ExecuteOnce claims and runs at most one request, taking over a lapsed
// lease at once, and reports whether it found one; tests use it to run work
// step by step.
func (e *Executor) ExecuteOnce(ctx context.Context) (bool, error) {
	r, err := e.claimNext(ctx, true)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	e.execute(ctx, r)
	return true, nil
}

// execute runs the targets of r that have no result yet, then completes it.
// ctx ends when the process stops (after the drain): until then every result
// obtained is recorded, however long the database is away. Losing the lease
// stops new targets, not the recording of results in hand.
func (e *Executor) execute(ctx context.Context, r Request) {
	log := e.opts.Logger.With("request_id", r.ID, "action", r.Action)
	l := &lease{}
	l.confirm()                     // the claim just stored it
	e.opts.Notifier.Changed(ctx, r) // started or resumed: show it
	hbCtx, stopHeartbeat := context.WithCancel(ctx)
	heartbeat := make(chan struct{})
	go func() {
		defer close(heartbeat)
		e.heartbeat(hbCtx, r.ID, l, log)
	}()
	defer func() { stopHeartbeat(); <-heartbeat }()

	var todo []int
	for i, t := range r.Targets {
		if t.Result == nil {
			todo = append(todo, i)
		}
	}
	log.InfoContext(ctx, "executing", "targets", len(r.Targets), "remaining", len(todo), "owner", e.opts.Owner)
	e.runTargets(ctx, r, todo, l, log)

	if ctx.Err() != nil {
		e.release(r.ID, log)
		return
	}
	if _, lost, _ := l.state(); lost {
		return
	}
	from := StateRunning
	var done Request
	err := e.durably(ctx, l, log, "complete request", func(ctx context.Context, retry bool) error {
		var err error
		done, err = e.store.Update(ctx, r.ID, func(cur Request) (Request, []Event, error) {
			switch {
			case retry && cur.State.Terminal():
				return cur, nil, errStoredAlready
			case cur.LeaseOwner != e.opts.Owner:
				return cur, nil, ErrLeaseLost
			}
			return cur.Complete(e.opts.Now())
		})
		if errors.Is(err, errStoredAlready) {
			done, err = e.store.Request(ctx, r.ID)
		}
		return err
	})
	if err != nil {
		if !errors.Is(err, ErrLeaseLost) && ctx.Err() == nil {
			log.ErrorContext(ctx, "complete request", "error", err)
		}
		return
	}
	e.opts.Observer.Transitioned(done, from, e.opts.Now())
	if done.Containment != nil && done.Containment.Step < done.Containment.Steps {
		e.Kick() // the next containment step may run now
	}
	ok, failed, skipped, _ := done.Counts()
	log.InfoContext(ctx, "request "+string(done.State), "ok", ok, "failed", failed, "skipped", skipped)
	e.opts.Notifier.Changed(ctx, done)
}

// release gives up the lease so another executor resumes at once.
func (e *Executor) release(id string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.store.Update(ctx, id, func(cur Request) (Request, []Event, error) {
		if cur.LeaseOwner != e.opts.Owner {
			return cur, nil, ErrLeaseLost
		}
		n := cur.Clone()
		n.LeaseOwner, n.LeaseUntil = "", time.Time{}
		return n, nil, nil
	})
	if err != nil && !errors.Is(err, ErrLeaseLost) {
		log.Error("release lease", "error", err)
	} else {
		log.Info("interrupted: released for resumption")
	}
}

// runTargets performs the action on the targets at indexes todo, Parallel at
// a time, in batches where the directory supports them.
//
// Each target is handed to the directory once per run: the directory retries
// throttled and transient failures itself, within its retry policy (README,
// "Retries"), so whatever it returns, a retryable error included, is the
// target's result.
//
// Each unit starts only once the gate lets it: the database confirmed the
// lease within the last renewal period and holds every result obtained so
// far, so no directory call goes out whose result could not be recorded.
func (e *Executor) runTargets(ctx context.Context, r Request, todo []int, l *lease, log *slog.Logger) {
	size := 1
	bp, batched := e.dir.(BatchPerformer)
	if batched {
		size = max(1, bp.MaxBatch(r.Action))
	}
	sem := make(chan struct{}, e.opts.Parallel)
	var wg sync.WaitGroup
	for start := 0; start < len(todo); start += size {
		unit := todo[start:min(start+size, len(todo))]
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if err := e.gate(ctx, r.ID, l); err != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			unit = e.refuseUnfit(ctx, r, unit, l, log)
			if len(unit) == 0 {
				return
			}
			if len(unit) == 1 {
				i := unit[0]
				begin := time.Now()
				p, err := e.dir.Perform(ctx, r.Action, r.Targets[i])
				e.finish(ctx, r, i, p, err, time.Since(begin), l, log)
				return
			}
			e.runBatch(ctx, bp, r, unit, l, log)
		}()
	}
	wg.Wait()
}

// runBatch performs the action on the targets at indexes unit in one
// PerformBatch call and records each result as it came back.
func (e *Executor) runBatch(ctx context.Context, bp BatchPerformer, r Request, unit []int, l *lease, log *slog.Logger) {
	ts := make([]Target, len(unit))
	for k, i := range unit {
		ts[k] = r.Targets[i]
	}
	begin := time.Now()
	results := bp.PerformBatch(ctx, r.Action, ts)
	took := time.Since(begin)
	for k, i := range unit {
		var res BatchResult
		if k < len(results) {
			res = results[k]
		} else {
			res.Err = fmt.Errorf("batch returned %d results for %d targets", len(results), len(unit))
		}
		e.finish(ctx, r, i, res.Performed, res.Err, took, l, log)
	}
}

// finish delivers a secret, if any, and records target i's one result. An
// error caused by the execution being interrupted records nothing: the
// target is resumed later.
func (e *Executor) finish(ctx context.Context, r Request, i int, p Performed, err error, took time.Duration, l *lease, log *slog.Logger) {
	t := r.Targets[i]
	if err != nil && ctx.Err() != nil {
		return
	}
	res := TargetResult{Outcome: p.Outcome, Detail: p.Detail}
	if res.Outcome == "" {
		res.Outcome = OutcomeOK
	}
	if err != nil {
		res = TargetResult{Outcome: OutcomeFailed, Detail: err.Error()}
	} else if p.Secret != nil && !e.mayReceive(r) {
		res = TargetResult{Outcome: OutcomeFailed, Detail: fmt.Sprintf(
			"%s was set but not delivered: the requester %s no longer holds a role that may request %s",
			p.Secret.Kind, display(r.Requester), r.Action)}
	} else if p.Secret != nil {
		if derr := e.opts.Notifier.DeliverSecret(ctx, r, t, p.Secret); derr != nil {
			log.ErrorContext(ctx, "deliver secret", "directory_id", t.DirectoryID, "error", derr)
			res = TargetResult{Outcome: OutcomeFailed, Detail: fmt.Sprintf(
				"%s was set but could not be delivered to the requester (%v): request it again", p.Secret.Kind, derr)}
		}
	}
	e.opts.Observer.DirectoryCall(r.Action, res.Outcome, took)
	e.record(ctx, r.ID, i, res, l, log.With("directory_id", t.DirectoryID))
}

// record stores target i's result, durably (see durably). When the target
// has its result already, or the request went on under another executor's
// lease, the call is noted as a duplicate instead: one result per target.
// A result obtained under a lease that was lost meanwhile is still
// recorded when the target has none: it is what the directory did.
func (e *Executor) record(ctx context.Context, id string, i int, res TargetResult, l *lease, log *slog.Logger) {
	var (
		cur       Request
		duplicate bool
	)
	err := e.durably(ctx, l, log, "record result", func(ctx context.Context, retry bool) error {
		var err error
		cur, err = e.store.Update(ctx, id, func(cur Request) (Request, []Event, error) {
			now := e.opts.Now()
			if i >= len(cur.Targets) {
				return cur, nil, fmt.Errorf("record result: request %s has no target %d", id, i)
			}
			mine := cur.LeaseOwner == e.opts.Owner
			if stored := cur.Targets[i].Result; stored != nil || cur.State != StateRunning {
				if retry && mine && stored != nil && stored.Outcome == res.Outcome && stored.Detail == res.Detail {
					return cur, nil, errStoredAlready
				}
				duplicate = true
				return cur.NoteDuplicateCall(i, res, e.opts.Owner, now)
			}
			duplicate = false
			n, events, err := cur.RecordResult(i, res, now)
			if err == nil && mine {
				n.LeaseUntil = now.Add(e.opts.Lease) // renewed with what it records
			}
			return n, events, err
		})
		return err
	})
	if errors.Is(err, ErrBadData) {
		cur, err = e.recordUnstorable(ctx, id, i, err, log)
	}
	if err != nil {
		if ctx.Err() == nil {
			log.ErrorContext(ctx, "record result", "error", err)
		}
		return
	}
	if cur.ID == "" { // stored by an earlier try
		return
	}
	if cur.LeaseOwner != e.opts.Owner {
		l.lose()
	} else {
		l.confirm()
	}
	if duplicate {
		log.WarnContext(ctx, "duplicate directory call noted: the target has its result from another executor", "outcome", res.Outcome)
		return
	}
	log.InfoContext(ctx, "target done", "outcome", res.Outcome)
	e.opts.Notifier.Changed(ctx, cur)
}

// claimNext claims one request for this executor (see Store.ClaimNext),
// taking a lapsed lease over when takeOver is true.
func (e *Executor) claimNext(ctx context.Context, takeOver bool) (Request, error) {
	now := e.opts.Now()
	return e.store.ClaimNext(ctx, now, takeOver, Lease(e.opts.Owner, now, now.Add(e.opts.Lease)))
}
