package actions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// EventSource calls yield for each audit event in seq order and stops, returning
// yield's error unchanged, when yield fails. Other errors say the log could
// not be read.
type EventSource func(ctx context.Context, yield func(Event) error) error

// verifyBatch is how many events a hashing worker takes at a time.
const verifyBatch = 256

var errStopWalk = errors.New("stop the walk")

// VerifyChain checks the chain that src yields as ChainVerifier does, event
// by event, and returns how many events checked out and the last one's hash.
// Only the links (seq order, prev_hash) are checked in order, as the events
// are read; each event's own hash is checked by one of workers goroutines
// (at least 1), so reading and hashing overlap. At most a few batches of
// events are held at a time, whatever the length of the log.
//
// A broken chain is a *ChainError naming the first broken event, exactly
// the one ChainVerifier would name; src's errors come back unchanged.
func VerifyChain(ctx context.Context, workers int, src EventSource) (count int64, head string, err error) {
	workers = max(workers, 1)
	var (
		free    = sync.Pool{New: func() any { return make([]Event, 0, verifyBatch) }}
		work    = make(chan []Event, 2*workers)
		mu      sync.Mutex
		hashErr *ChainError // the lowest-seq event whose hash does not match
		failed  atomic.Bool
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for batch := range work {
				for i := range batch {
					if batch[i].HashMatches() {
						continue
					}
					mu.Lock()
					if hashErr == nil || batch[i].Seq < hashErr.Seq {
						hashErr = &ChainError{Seq: batch[i].Seq, Reason: errEdited}
					}
					mu.Unlock()
					failed.Store(true)
					break
				}
				free.Put(batch[:0])
			}
		})
	}

	var (
		links   ChainVerifier
		linkErr *ChainError
		cur     = free.Get().([]Event)
	)
	readErr := src(ctx, func(e Event) error {
		if err := links.link(e); err != nil {
			linkErr = err
			return errStopWalk
		}
		cur = append(cur, e)
		if len(cur) == verifyBatch {
			// An event read earlier is already broken: nothing later matters.
			if failed.Load() {
				return errStopWalk
			}
			select {
			case work <- cur:
			case <-ctx.Done():
				return ctx.Err()
			}
			cur = free.Get().([]Event)
		}
		return nil
	})
	// The events read before a broken link need their hashes checked too:
	// one of them may be broken earlier.
	if len(cur) > 0 && (readErr == nil || linkErr != nil) {
		work <- cur
	}
	close(work)
	wg.Wait()

	switch {
	case hashErr != nil && (linkErr == nil || hashErr.Seq < linkErr.Seq):
		return 0, "", hashErr
	case linkErr != nil:
		return 0, "", linkErr
	case readErr != nil && !errors.Is(readErr, errStopWalk):
		return 0, "", fmt.Errorf("verify the audit chain: %w", readErr)
	}
	return links.Count(), links.Head(), nil
}
