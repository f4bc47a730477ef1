package bot

import (
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// memo remembers keys for a while: a redelivered payload (X-Slack-Retry-Num,
// a Socket Mode redelivery) or a second click within ttl is recognised and
// dropped. It is an optimisation in front of the domain's own guarantees
// (submission keys, one decision per approver), which hold across replicas.
type memo struct {
	mu    sync.Mutex
	ttl   time.Duration
	limit int
	at    map[string]time.Time
	order []memoEntry // insertion order, oldest first, for eviction
}

type memoEntry struct {
	key string
	at  time.Time
}

func newMemo(ttl time.Duration, limit int) *memo {
	return &memo{ttl: ttl, limit: limit, at: map[string]time.Time{}}
}

// first records key and reports whether it was not seen within ttl.
func (m *memo) first(key string) bool {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.at[key]; ok && now.Sub(t) < m.ttl {
		return false
	}
	m.evict(now)
	m.at[key] = now
	m.order = append(m.order, memoEntry{key, now})
	return true
}

// forget removes key, so that a later delivery is processed again (used when
// the work could not even be queued).
func (m *memo) forget(key string) {
	m.mu.Lock()
	delete(m.at, key)
	m.mu.Unlock()
}

// evict drops expired entries, and the oldest ones beyond the limit.
func (m *memo) evict(now time.Time) {
	drop := 0
	for ; drop < len(m.order); drop++ {
		e := m.order[drop]
		if now.Sub(e.at) < m.ttl && len(m.order)-drop < m.limit {
			break
		}
		if m.at[e.key].Equal(e.at) { // not recorded again since
			delete(m.at, e.key)
		}
	}
	if drop > 0 {
		m.order = append([]memoEntry(nil), m.order[drop:]...)
	}
}

// flight is one view submission being processed. Its first delivery starts
// the work; redeliveries wait for the same result instead of starting again.
type flight struct {
	done chan struct{}
	mu   sync.Mutex
	// resp is the answer for Slack's HTTP response (or Socket Mode ack).
	resp     *slack.ViewSubmissionResponse
	finished bool
	// answeredLate: an answer ("Checking…") went out before the work
	// finished, so the result must be sent with views.update.
	answeredLate bool
	acked        chan struct{} // closed once that answer was written
	created      time.Time
}

// flights keys in-progress and recent submissions by view ID and hash.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

func newFlights() *flights { return &flights{m: map[string]*flight{}} }

const flightTTL = 10 * time.Minute

// get returns the flight for key and whether the caller created it.
func (fs *flights) get(key string) (*flight, bool) {
	now := time.Now()
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.m[key]; ok {
		return f, false
	}
	for k, f := range fs.m {
		if now.Sub(f.created) > flightTTL {
			delete(fs.m, k)
		}
	}
	f := &flight{done: make(chan struct{}), created: now}
	fs.m[key] = f
	return f, true
}

// drop forgets key, when its work could not start.
func (fs *flights) drop(key string) {
	fs.mu.Lock()
	delete(fs.m, key)
	fs.mu.Unlock()
}
