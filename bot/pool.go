package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// jobTimeout bounds one job, Slack calls and service calls included.
const jobTimeout = 2 * time.Minute

// pool runs jobs on a fixed number of workers from two bounded queues.
// Urgent jobs hold a trigger_id, which Slack lets live 3 seconds (opening a
// modal); workers take them before anything else.
type pool struct {
	urgent, normal chan job
	mu             sync.RWMutex
	closed         bool
	wg             sync.WaitGroup
	ctx            context.Context // cancelled when shutdown gives up waiting
	cancel         context.CancelFunc
	log            *slog.Logger
}

type job struct {
	kind string
	fn   func(ctx context.Context)
}

func newPool(workers, queue int, log *slog.Logger) *pool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pool{
		urgent: make(chan job, max(queue/4, 1)),
		normal: make(chan job, queue),
		ctx:    ctx, cancel: cancel, log: log,
	}
	p.wg.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

// submit queues fn; it returns false, running nothing, when the queue is
// full or the pool is shutting down.
func (p *pool) submit(kind string, urgent bool, fn func(ctx context.Context)) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return false
	}
	q := p.normal
	if urgent {
		q = p.urgent
	}
	select {
	case q <- job{kind: kind, fn: fn}:
		return true
	default:
		return false
	}
}

func (p *pool) work() {
	defer p.wg.Done()
	urgent, normal := p.urgent, p.normal
	for urgent != nil || normal != nil {
		select { // urgent first
		case j, ok := <-urgent:
			if !ok {
				urgent = nil
				continue
			}
			p.run(j)
			continue
		default:
		}
		select {
		case j, ok := <-urgent:
			if !ok {
				urgent = nil
				continue
			}
			p.run(j)
		case j, ok := <-normal:
			if !ok {
				normal = nil
				continue
			}
			p.run(j)
		}
	}
}

func (p *pool) run(j job) {
	ctx, cancel := context.WithTimeout(p.ctx, jobTimeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("job panicked", "kind", j.kind, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		}
	}()
	j.fn(ctx)
}

// shutdown refuses new jobs and waits for the queued and running ones until
// ctx ends; then it cancels their context and returns ctx's error.
func (p *pool) shutdown(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.urgent)
		close(p.normal)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		p.cancel()
		return nil
	case <-ctx.Done():
		p.cancel()
		<-done
		return ctx.Err()
	}
}
