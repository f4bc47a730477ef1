package httpapi

import (
	"context"
	"sync"
)

// Bounds of the pacer's limit on requests in flight. It starts at one full
// Graph $batch.
const (
	pacerStart = 20
	pacerMax   = 256
	pacerMin   = 1
)

// Pacer bounds the requests in flight to one provider, a request inside a
// $batch counting as one, since Graph throttles each of those on its own. It
// adapts the bound the way TCP adapts its window: it halves it when the
// provider throttles (once per window of requests, however many of them come
// back throttled) and grows it by about one per window of successes, eight
// times slower near the bound at which it last throttled. So a bulk run
// settles near the rate the provider allows instead of bursting into 429s:
// each of those costs its whole Retry-After (a second or more), which is why
// there is no TCP-like slow start (measured: it made Entra's
// BenchmarkBulkRevoke500 several times slower). It is safe for concurrent
// use.
type Pacer struct {
	mu       sync.Mutex
	limit    float64
	inFlight int
	epoch    int           // bumped by every decrease
	ceiling  float64       // the limit at the last throttling, 0 before any
	wake     chan struct{} // closed when units are released
}

// Ticket is a grant of units, to be given back to Release.
type Ticket struct {
	n     int
	epoch int
}

// Units is how many units t grants.
func (t Ticket) Units() int { return t.n }

// NewPacer returns a pacer whose limit starts at 20 requests in flight.
func NewPacer() *Pacer {
	return &Pacer{limit: pacerStart, wake: make(chan struct{})}
}

// Acquire waits until at least one unit is free and grants up to want of
// them. It grants one unit even above the limit when nothing is in flight,
// so that a lone request always goes.
func (p *Pacer) Acquire(ctx context.Context, want int) (Ticket, error) {
	for {
		p.mu.Lock()
		free := int(p.limit) - p.inFlight
		if free >= 1 || p.inFlight == 0 {
			n := min(want, max(free, 1))
			p.inFlight += n
			t := Ticket{n: n, epoch: p.epoch}
			p.mu.Unlock()
			return t, nil
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return Ticket{}, ctx.Err()
		}
	}
}

// Release gives the units of t back and adapts the limit: throttled is how
// many of them the provider throttled (429, 503, 504: see Throttled), ok
// how many it answered otherwise.
func (p *Pacer) Release(t Ticket, throttled, ok int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight -= t.n
	switch {
	case throttled > 0 && t.epoch == p.epoch:
		p.ceiling = p.limit
		p.limit = max(pacerMin, p.limit/2)
		p.epoch++
	case throttled == 0 && ok > 0:
		step := float64(ok) / p.limit
		if p.ceiling > 0 && p.limit >= 0.75*p.ceiling {
			// Near where it throttled last: creep, as each throttled
			// request costs its Retry-After.
			step /= 8
		}
		p.limit = min(pacerMax, p.limit+step)
	}
	close(p.wake)
	p.wake = make(chan struct{})
}
