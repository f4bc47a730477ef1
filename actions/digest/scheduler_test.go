package digest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustSchedule(t *testing.T, spec string) Schedule {
	t.Helper()
	s, err := ParseSchedule(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSchedulerSurvivesPanics: a run that panics is logged and the
// schedule goes on; the runs after it are not skipped as "still running".
func TestSchedulerSurvivesPanics(t *testing.T) {
	var runs atomic.Int32
	s := NewScheduler(mustSchedule(t, DefaultSchedule), func(ctx context.Context, tick time.Time) {
		if runs.Add(1) <= 2 {
			panic("boom")
		}
	}, SchedulerOptions{RetryEvery: 20 * time.Millisecond})
	s.Start(t.Context())
	waitFor(t, 5*time.Second, "runs after two panics", func() bool { return runs.Load() >= 5 })
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSchedulerTicks: the first run is at once, with the schedule's last
// tick; runs never overlap.
func TestSchedulerTicks(t *testing.T) {
	sched := mustSchedule(t, "@every 1s")
	ticks := make(chan time.Time, 100)
	var running, overlaps atomic.Int32
	s := NewScheduler(sched, func(ctx context.Context, tick time.Time) {
		if running.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer running.Add(-1)
		ticks <- tick
		time.Sleep(30 * time.Millisecond)
	}, SchedulerOptions{RetryEvery: 10 * time.Millisecond})
	start := time.Now()
	s.Start(t.Context())
	first := <-ticks
	if want := start.Truncate(time.Second); first.Before(want) || first.After(time.Now()) {
		t.Errorf("first run's tick %s, want the last whole second before start %s", first, start)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Errorf("first run %s after start", time.Since(start))
	}
	time.Sleep(300 * time.Millisecond)
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := overlaps.Load(); n != 0 {
		t.Errorf("%d runs overlapped", n)
	}
}

// TestSchedulerStopWaits: Stop waits for a running job, and gives up at its
// deadline, cancelling the job's context.
func TestSchedulerStopWaits(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	var once atomic.Bool
	s := NewScheduler(mustSchedule(t, DefaultSchedule), func(ctx context.Context, tick time.Time) {
		if once.Swap(true) {
			return
		}
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
		time.Sleep(50 * time.Millisecond)
		finished.Store(true)
	}, SchedulerOptions{RetryEvery: -1})
	s.Start(t.Context())
	<-started
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Stop(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Stop with a running job past the deadline: %v", err)
	}
	// Stop cancelled the job's context: it ends on its own now.
	waitFor(t, 2*time.Second, "the job to end", finished.Load)
	close(release)

	// A second scheduler whose job ends in time: Stop waits for it.
	finished.Store(false)
	started2 := make(chan struct{})
	s2 := NewScheduler(mustSchedule(t, DefaultSchedule), func(ctx context.Context, tick time.Time) {
		close(started2)
		time.Sleep(200 * time.Millisecond)
		finished.Store(true)
	}, SchedulerOptions{RetryEvery: -1})
	s2.Start(t.Context())
	<-started2
	ctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := s2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Error("Stop returned before the running job ended")
	}
}
