package bot

import (
	"sync"
	"time"
)

// Each Slack user gets a small budget of work (a token bucket) before
// anything of theirs is queued, so that one person cannot fill the worker
// queue that everyone shares (README, "Who is who, and checked when it
// matters").

// Budget defaults: a burst of 30 commands, clicks or submissions (a request
// is a command and a submission), then one a second.
const (
	defaultUserBurst = 30
	defaultUserRate  = 1 // per second
	// maxBudgets bounds the users remembered; past it, full buckets are
	// forgotten (a forgotten user starts full again, which is where a full
	// bucket is anyway).
	maxBudgets = 10000
)

type bucket struct {
	tokens float64
	last   time.Time
}

// userBudget is a token bucket per Slack user ID. It is safe for concurrent
// use.
type userBudget struct {
	mu    sync.Mutex
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time
	users map[string]*bucket
}

func newUserBudget(burst int, rate float64, now func() time.Time) *userBudget {
	return &userBudget{rate: rate, burst: float64(burst), now: now, users: map[string]*bucket{}}
}

// allow takes one token from user's bucket; false when it is empty.
func (b *userBudget) allow(user string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	bk := b.users[user]
	if bk == nil {
		if len(b.users) >= maxBudgets {
			b.forgetFull(now)
		}
		bk = &bucket{tokens: b.burst, last: now}
		b.users[user] = bk
	}
	bk.tokens = min(b.burst, bk.tokens+now.Sub(bk.last).Seconds()*b.rate)
	bk.last = now
	if bk.tokens < 1 {
		return false
	}
	bk.tokens--
	return true
}

// forgetFull drops the buckets that have refilled.
func (b *userBudget) forgetFull(now time.Time) {
	for u, bk := range b.users {
		if bk.tokens+now.Sub(bk.last).Seconds()*b.rate >= b.burst {
			delete(b.users, u)
		}
	}
}
