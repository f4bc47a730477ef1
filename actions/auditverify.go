package actions

import (
	"context"
	"errors"
	"fmt"
	"math"
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
// It is VerifySegments with one segment.
func VerifyChain(ctx context.Context, workers int, src EventSource) (count int64, head string, err error) {
	return VerifySegments(ctx, workers, []EventSource{src})
}

// VerifySegments checks the chain that segments yield together, as
// ChainVerifier would over all their events in order: each segment yields
// the events of one range of seq, in seq order, and the ranges follow one
// another. It returns how many events checked out and the last one's hash.
//
// The segments are read at the same time, each checking its own links as it
// reads; where two segments meet is checked once all are read. Each event's
// own hash is checked by one of workers goroutines (at least 1), so reading
// and hashing overlap. At most a few batches of events are held per segment
// and worker, whatever the length of the log. Once an event is known to be
// broken, no segment reads past it.
//
// A broken chain is a *ChainError naming the first broken event, exactly
// the one ChainVerifier would name. An error reading a segment comes back
// unchanged inside the returned error, unless an event read before it is
// broken.
func VerifySegments(ctx context.Context, workers int, segments []EventSource) (count int64, head string, err error) {
	workers = max(workers, 1)
	var (
		free    = sync.Pool{New: func() any { return make([]Event, 0, verifyBatch) }}
		work    = make(chan []Event, 2*workers)
		mu      sync.Mutex
		hashErr *ChainError // the lowest-seq event whose hash does not match
		// firstBad is the lowest seq known to be broken: no event after it
		// can be the one to name.
		firstBad atomic.Int64
		hashers  sync.WaitGroup
	)
	firstBad.Store(math.MaxInt64)
	lower := func(seq int64) {
		for cur := firstBad.Load(); seq < cur && !firstBad.CompareAndSwap(cur, seq); cur = firstBad.Load() {
		}
	}
	for range workers {
		hashers.Go(func() {
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
					lower(batch[i].Seq)
					break
				}
				free.Put(batch[:0])
			}
		})
	}

	results := make([]segmentRead, len(segments))
	var readers sync.WaitGroup
	for i, src := range segments {
		readers.Go(func() {
			r := &results[i]
			var links ChainVerifier
			cur := free.Get().([]Event)
			err := src(ctx, func(e Event) error {
				if e.Seq > firstBad.Load() {
					r.cut = true
					return errStopWalk
				}
				if r.read == 0 {
					// Where this segment meets the one before is
					// checked when both are read.
					r.first = e
					links = ChainVerifier{n: e.Seq - 1, prevHash: e.PrevHash}
				}
				if err := links.link(e); err != nil {
					r.linkErr = err
					lower(err.Seq)
					return errStopWalk
				}
				r.read++
				r.lastSeq, r.lastHash = e.Seq, e.Hash
				cur = append(cur, e)
				if len(cur) == verifyBatch {
					select {
					case work <- cur:
					case <-ctx.Done():
						return ctx.Err()
					}
					cur = free.Get().([]Event)
				}
				return nil
			})
			// The events read before a stop need their hashes checked
			// too: one of them may be broken earlier.
			if len(cur) > 0 {
				work <- cur
			}
			if err != nil && !errors.Is(err, errStopWalk) {
				r.readErr = err
			}
		})
	}
	readers.Wait()
	close(work)
	hashers.Wait()

	// Join the segments in order, as one walk would have read them.
	var (
		links   ChainVerifier
		linkErr *ChainError
		readErr error
	)
	for i := range results {
		r := &results[i]
		if r.read > 0 {
			if err := links.link(r.first); err != nil {
				linkErr = err
				break
			}
			links = ChainVerifier{n: r.lastSeq, prevHash: r.lastHash}
		}
		if r.linkErr != nil {
			linkErr = r.linkErr
			break
		}
		if r.readErr != nil {
			readErr = r.readErr
			break
		}
		if r.cut {
			// Stopped at an event past one known to be broken: that
			// one is named below.
			break
		}
	}
	switch {
	case hashErr != nil && (linkErr == nil || hashErr.Seq < linkErr.Seq) && (readErr == nil || hashErr.Seq <= links.Count()):
		return 0, "", hashErr
	case linkErr != nil:
		return 0, "", linkErr
	case readErr != nil:
		return 0, "", fmt.Errorf("verify the audit chain: %w", readErr)
	}
	return links.Count(), links.Head(), nil
}

// segmentRead is what reading one segment found.
type segmentRead struct {
	read     int64 // events read whose links checked out
	first    Event // the first of them
	lastSeq  int64 // the seq and hash of the last of them
	lastHash string
	linkErr  *ChainError // the first broken link inside the segment
	readErr  error       // the segment could not be read
	cut      bool        // stopped past an event known to be broken
}
