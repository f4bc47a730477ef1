package actions

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds retries of throttled and transient directory errors.
type RetryPolicy struct {
	// Attempts is the most tries in all, the first included.
	Attempts int
	// Base is the first backoff; it doubles each try, with jitter.
	Base time.Duration
	// Max caps one wait, including a server's Retry-After.
	Max time.Duration
}

// DefaultRetry is what the executor uses unless told otherwise.
var DefaultRetry = RetryPolicy{Attempts: 6, Base: 500 * time.Millisecond, Max: 60 * time.Second}

// Retryable reports whether err is worth another try, and the wait the
// server asked for (0 when it named none).
func Retryable(err error) (bool, time.Duration) {
	var de *DirectoryError
	if errors.As(err, &de) {
		return de.Retryable(), de.RetryAfter
	}
	return false, 0
}

// Wait returns the pause before try number attempt (1 for the first retry),
// honouring a server's Retry-After up to Max.
func (p RetryPolicy) Wait(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, p.Max)
	}
	d := p.Base << (attempt - 1)
	if d <= 0 || d > p.Max {
		d = p.Max
	}
	// Full jitter on the upper half: spread retries of many workers apart.
	return d/2 + rand.N(d/2+1)
}

// Do calls fn until it succeeds, returns an error that is not retryable, the
// attempts run out or ctx ends. It returns fn's last error and how many tries
// were made. sleep is injectable for tests; nil means a real timer.
func (p RetryPolicy) Do(ctx context.Context, sleep func(context.Context, time.Duration) error, fn func(ctx context.Context) error) (int, error) {
	if sleep == nil {
		sleep = SleepContext
	}
	attempts := max(p.Attempts, 1)
	var err error
	for i := 1; ; i++ {
		err = fn(ctx)
		if err == nil {
			return i, nil
		}
		ok, after := Retryable(err)
		if !ok || i >= attempts {
			return i, err
		}
		if serr := sleep(ctx, p.Wait(i, after)); serr != nil {
			return i, err
		}
	}
}

// SleepContext waits d, or less if ctx ends; it then returns ctx's error.
func SleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
