package actions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
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
	// Lease is how long a claim lasts without renewal (default 30s); it is
	// renewed every Lease/3. Another replica resumes a request whose lease
	// lapsed, so a crashed process's work is picked up within about Lease.
	Lease time.Duration
	// Poll is how often to look for work when idle (default 1s).
	Poll time.Duration
	// Drain is how long running work may go on after Run's context ends
	// before it is interrupted and left to be resumed (default 20s).
	Drain time.Duration
	// Retry bounds retries of throttled and transient directory errors.
	Retry RetryPolicy
	// Sleep waits between retries; nil means a real timer.
	Sleep    func(context.Context, time.Duration) error
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

// Executor runs approved requests against the directory, durably: every
// target's result is stored once, and a request whose executor died is
// resumed by another (or the same, restarted) process once its lease lapses.
type Executor struct {
	store Store
	dir   Directory
	o     ExecutorOptions
	kick  chan struct{}
}

// NewExecutor returns an executor over store and dir.
func NewExecutor(store Store, dir Directory, o ExecutorOptions) *Executor {
	if o.Owner == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		o.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 20 * time.Second
	}
	if o.Retry.Attempts == 0 {
		o.Retry = DefaultRetry
	}
	if o.Notifier == nil {
		o.Notifier = nopNotifier{}
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Executor{store: store, dir: dir, o: o, kick: make(chan struct{}, 1)}
}

// SetNotifier replaces the notifier; for wiring, before Run.
func (e *Executor) SetNotifier(n Notifier) {
	if n != nil {
		e.o.Notifier = n
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
	slots := make(chan struct{}, e.o.Workers)
	var wg sync.WaitGroup
	for ctx.Err() == nil {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		r, err := e.claimNext(ctx)
		if err != nil {
			<-slots
			if !errors.Is(err, ErrNotFound) && ctx.Err() == nil {
				e.o.Logger.ErrorContext(ctx, "claim work", "error", err)
			}
			select {
			case <-ctx.Done():
			case <-e.kick:
			case <-time.After(e.o.Poll):
			}
			continue
		}
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
	case <-time.After(e.o.Drain):
		e.o.Logger.Warn("drain deadline reached: interrupting running requests; they resume later", "drain", e.o.Drain)
		stopWork()
		<-done
	}
	return nil
}

// ExecuteOnce claims and runs at most one request and reports whether it
// found one; tests use it to run work step by step.
func (e *Executor) ExecuteOnce(ctx context.Context) (bool, error) {
	r, err := e.claimNext(ctx)
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
func (e *Executor) execute(ctx context.Context, r Request) {
	log := e.o.Logger.With("request_id", r.ID, "action", r.Action)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.o.Notifier.Changed(ctx, r) // started or resumed: show it
	heartbeat := make(chan struct{})
	go func() {
		defer close(heartbeat)
		e.heartbeat(ctx, cancel, r.ID, log)
	}()
	defer func() { cancel(); <-heartbeat }()

	var todo []int
	for i, t := range r.Targets {
		if t.Result == nil {
			todo = append(todo, i)
		}
	}
	log.InfoContext(ctx, "executing", "targets", len(r.Targets), "remaining", len(todo), "owner", e.o.Owner)
	e.runTargets(ctx, r, todo, log)

	if ctx.Err() != nil {
		e.release(r.ID, log)
		return
	}
	from := StateRunning
	done, err := e.store.Update(context.WithoutCancel(ctx), r.ID, func(cur Request) (Request, []Event, error) {
		if cur.LeaseOwner != e.o.Owner {
			return cur, nil, ErrLeaseLost
		}
		return cur.Complete(e.o.Now())
	})
	if err != nil {
		if !errors.Is(err, ErrLeaseLost) {
			log.ErrorContext(ctx, "complete request", "error", err)
		}
		return
	}
	e.o.Observer.Transitioned(done, from, e.o.Now())
	if done.Containment != nil && done.Containment.Step < done.Containment.Steps {
		e.Kick() // the next containment step may run now
	}
	ok, failed, skipped, _ := done.Counts()
	log.InfoContext(ctx, "request "+string(done.State), "ok", ok, "failed", failed, "skipped", skipped)
	e.o.Notifier.Changed(ctx, done)
}

// heartbeat renews the lease until ctx ends; when the lease is lost it
// cancels the execution, so that two executors never record for one request.
func (e *Executor) heartbeat(ctx context.Context, cancel context.CancelFunc, id string, log *slog.Logger) {
	t := time.NewTicker(e.o.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := e.store.Update(ctx, id, func(cur Request) (Request, []Event, error) {
			if cur.LeaseOwner != e.o.Owner || cur.State != StateRunning {
				return cur, nil, ErrLeaseLost
			}
			n := cur.Clone()
			n.LeaseUntil = e.o.Now().Add(e.o.Lease)
			return n, nil, nil
		})
		if errors.Is(err, ErrLeaseLost) {
			log.WarnContext(ctx, "lease lost: stopping")
			cancel()
			return
		}
		if err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "renew lease", "error", err)
		}
	}
}

// release gives up the lease so another executor resumes at once.
func (e *Executor) release(id string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.store.Update(ctx, id, func(cur Request) (Request, []Event, error) {
		if cur.LeaseOwner != e.o.Owner {
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
func (e *Executor) runTargets(ctx context.Context, r Request, todo []int, log *slog.Logger) {
	size := 1
	bp, batched := e.dir.(BatchPerformer)
	if batched {
		size = max(1, bp.MaxBatch(r.Action))
	}
	sem := make(chan struct{}, e.o.Parallel)
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
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			unit = e.refuseUnfit(ctx, r, unit, log)
			if len(unit) == 0 {
				return
			}
			if len(unit) == 1 {
				i := unit[0]
				begin := time.Now()
				p, err := e.performOne(ctx, r.Action, r.Targets[i])
				e.finish(ctx, r, i, p, err, time.Since(begin), log)
				return
			}
			e.runBatch(ctx, bp, r, unit, log)
		}()
	}
	wg.Wait()
}

func (e *Executor) performOne(ctx context.Context, a Action, t Target) (Performed, error) {
	var p Performed
	_, err := e.o.Retry.Do(ctx, e.o.Sleep, func(ctx context.Context) (err error) {
		p, err = e.dir.Perform(ctx, a, t)
		return err
	})
	return p, err
}

func (e *Executor) runBatch(ctx context.Context, bp BatchPerformer, r Request, unit []int, log *slog.Logger) {
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
		if ok, _ := Retryable(res.Err); ok && ctx.Err() == nil {
			// The batch gave up on this one; retry it alone.
			res.Performed, res.Err = e.performOne(ctx, r.Action, r.Targets[i])
		}
		e.finish(ctx, r, i, res.Performed, res.Err, took, log)
	}
}

// finish delivers a secret, if any, and records target i's one result. An
// error caused by the execution being interrupted records nothing: the
// target is resumed later.
func (e *Executor) finish(ctx context.Context, r Request, i int, p Performed, err error, took time.Duration, log *slog.Logger) {
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
		if derr := e.o.Notifier.DeliverSecret(ctx, r, t, p.Secret); derr != nil {
			log.ErrorContext(ctx, "deliver secret", "directory_id", t.DirectoryID, "error", derr)
			res = TargetResult{Outcome: OutcomeFailed, Detail: fmt.Sprintf(
				"%s was set but could not be delivered to the requester (%v): request it again", p.Secret.Kind, derr)}
		}
	}
	e.o.Observer.DirectoryCall(r.Action, res.Outcome, took)
	cur, serr := e.store.Update(context.WithoutCancel(ctx), r.ID, func(cur Request) (Request, []Event, error) {
		if cur.LeaseOwner != e.o.Owner {
			return cur, nil, ErrLeaseLost
		}
		return cur.RecordResult(i, res, e.o.Now())
	})
	if errors.Is(serr, ErrBadData) {
		cur, serr = e.recordUnstorable(ctx, r.ID, i, serr, log)
	}
	if serr != nil {
		log.ErrorContext(ctx, "record result", "directory_id", t.DirectoryID, "error", serr)
		return
	}
	log.InfoContext(ctx, "target done", "directory_id", t.DirectoryID, "outcome", res.Outcome)
	e.o.Notifier.Changed(ctx, cur)
}

// claimNext claims one request for this executor (see Store.ClaimNext).
func (e *Executor) claimNext(ctx context.Context) (Request, error) {
	now := e.o.Now()
	return e.store.ClaimNext(ctx, now, Lease(e.o.Owner, now, now.Add(e.o.Lease)))
}
