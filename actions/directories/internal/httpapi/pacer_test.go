package httpapi

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPacer(t *testing.T) {
	p := NewPacer()
	ctx := context.Background()

	a, _ := p.Acquire(ctx, 15)
	b, _ := p.Acquire(ctx, 15) // only 5 left
	if a.n != 15 || b.n != 5 {
		t.Fatalf("grants %d, %d; want 15, 5", a.n, b.n)
	}
	got := make(chan Ticket)
	go func() { c, _ := p.Acquire(ctx, 1); got <- c }()
	select {
	case <-got:
		t.Fatal("granted above the limit")
	case <-time.After(20 * time.Millisecond):
	}
	p.Release(b, 0, 5)
	if c := <-got; c.n != 1 {
		t.Fatalf("grant after release %d", c.n)
	}

	// However many throttled answers a window brings, the limit halves once.
	epoch := p.epoch
	p.Release(a, 3, 12)
	limit := p.limit
	p.Release(Ticket{n: 1, epoch: epoch}, 1, 0)
	if p.limit != limit || limit > 11 || limit < 10 {
		t.Errorf("limit %.2f then %.2f; want one halving", limit, p.limit)
	}
	if p.inFlight != 0 {
		t.Errorf("%d in flight", p.inFlight)
	}

	// Successes grow it slowly, slower still near the last throttling.
	for range 100 {
		tk, _ := p.Acquire(ctx, 1)
		p.Release(tk, 0, 1)
	}
	if p.limit <= limit || p.limit >= p.ceiling+1 {
		t.Errorf("after 100 successes the limit is %.2f (ceiling %.2f)", p.limit, p.ceiling)
	}

	// A lone request always goes, and waiting ends with the context.
	small := &Pacer{limit: 0.5, wake: make(chan struct{})}
	one, err := small.Acquire(ctx, 3)
	if err != nil || one.n != 1 {
		t.Fatalf("lone grant %+v %v", one, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := small.Acquire(cctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("acquire past the deadline: %v", err)
	}
}
