package digest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Job is what a Scheduler runs: tick is the schedule's last tick at or
// before the moment it runs (zero when there is none). ctx is cancelled at
// shutdown.
type Job func(ctx context.Context, tick time.Time)

// SchedulerOptions tune a Scheduler.
type SchedulerOptions struct {
	// RetryEvery runs the job between ticks too, to retry failed posts
	// (1m). Negative: never.
	RetryEvery time.Duration
	Logger     *slog.Logger
	// Now is the clock the job's tick is computed from (time.Now); cron
	// itself always runs on the real clock.
	Now func() time.Time
}

// Scheduler runs a Job with robfig/cron: once at start (to catch up a tick
// missed while the process was down), at every tick of the schedule, and
// every RetryEvery. One run at a time: a run due while another is running is
// skipped. A panicking run is logged and does not stop the schedule.
type Scheduler struct {
	sched  Schedule
	job    Job
	o      SchedulerOptions
	log    *slog.Logger
	cron   *cron.Cron
	mu     sync.Mutex // held by the running job
	cancel context.CancelFunc
}

// NewScheduler returns a Scheduler of job on s; Start starts it.
func NewScheduler(s Schedule, job Job, o SchedulerOptions) *Scheduler {
	if o.RetryEvery == 0 {
		o.RetryEvery = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cl := cronLogger{log: log}
	// Recover inside SkipIfStillRunning, not around it: SkipIfStillRunning
	// hands its token back only when the job returns, so a panic passing
	// through it would leave every later run skipped.
	c := cron.New(
		cron.WithLogger(cl),
		cron.WithLocation(time.UTC),
		cron.WithChain(cron.SkipIfStillRunning(cl), cron.Recover(cl)),
	)
	return &Scheduler{sched: s, job: job, o: o, log: log, cron: c}
}

// Start starts the schedule and a first run at once. Runs get a context
// derived from ctx, which Stop also cancels if they overrun its deadline.
// Start may be called once.
func (s *Scheduler) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	run := cron.FuncJob(func() {
		// The entries share one job: one run at a time in all.
		if !s.mu.TryLock() {
			s.log.DebugContext(ctx, "digest job still running: run skipped")
			return
		}
		defer s.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		s.job(ctx, s.sched.Prev(s.o.Now()))
	})
	s.cron.Schedule(s.sched.Cron(), run)
	s.cron.Schedule(&once{at: time.Now()}, run)
	if s.o.RetryEvery > 0 {
		s.cron.Schedule(interval{d: s.o.RetryEvery}, run)
	}
	s.cron.Start()
	s.log.InfoContext(ctx, "digest schedule started", "schedule", s.sched.String(),
		"next", s.sched.Next(s.o.Now()), "retry_every", s.o.RetryEvery)
}

// Stop stops scheduling runs and waits for a running one to finish, up to
// ctx's deadline; it then cancels the run's context and returns an error.
func (s *Scheduler) Stop(ctx context.Context) error {
	done := s.cron.Stop()
	defer func() {
		if s.cancel != nil {
			s.cancel()
		}
	}()
	select {
	case <-done.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop digest schedule: a run is still going: %w", ctx.Err())
	}
}

// once fires at one moment, then never.
type once struct {
	mu sync.Mutex
	at time.Time
}

func (o *once) Next(t time.Time) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.at.IsZero() {
		return time.Time{}
	}
	next := o.at
	if !next.After(t) {
		next = t
	}
	o.at = time.Time{} // cron asks again only after running it
	return next
}

// interval fires every d after the last time, with no rounding: cron's own
// @every rounds to seconds.
type interval struct{ d time.Duration }

func (i interval) Next(t time.Time) time.Time { return t.Add(i.d) }

// cronLogger passes cron's messages to slog: its routine chatter at debug
// level, its errors (recovered panics) at error level.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug("cron: "+msg, kv...) }

func (l cronLogger) Error(err error, msg string, kv ...any) {
	if errors.Is(err, context.Canceled) {
		l.log.Warn("cron: "+msg, append([]any{"error", err}, kv...)...)
		return
	}
	l.log.Error("digest job: cron: "+msg, append([]any{"error", err}, kv...)...)
}
