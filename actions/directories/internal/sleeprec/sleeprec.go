// Package sleeprec records the waits a retrying client asks for instead of
// sleeping, so that directory tests run fast and can assert the waits.
package sleeprec

import (
	"context"
	"sync"
	"time"
)

// Recorder is safe for concurrent use. Its zero value is ready.
type Recorder struct {
	mu sync.Mutex
	d  []time.Duration
}

// Sleep records d and returns at once, with ctx's error if it has ended.
// It has the signature of actions.SleepContext.
func (r *Recorder) Sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.d = append(r.d, d)
	r.mu.Unlock()
	return ctx.Err()
}

// All returns the recorded waits, in order.
func (r *Recorder) All() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.d...)
}
