package actions

import (
	"context"
	"math/rand/v2"
	"time"
)

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

// backoffDelay is the pause before try+1 of a storage write: doubling from
// base up to ceiling, with full jitter on its upper half so that many
// writers spread apart.
func backoffDelay(try int, base, ceiling time.Duration) time.Duration {
	d := min(base<<min(try-1, 10), ceiling)
	return d/2 + rand.N(d/2+1)
}
