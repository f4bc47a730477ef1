package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// dropRecorder is a Metrics that remembers the kinds of dropped work.
type dropRecorder struct {
	mu    sync.Mutex
	kinds map[string]int
}

func (r *dropRecorder) SlackCall(string, string, time.Duration) {}
func (r *dropRecorder) SlackRetry(string, time.Duration)        {}
func (r *dropRecorder) JobDropped(kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kinds == nil {
		r.kinds = map[string]int{}
	}
	r.kinds[kind]++
}

// Typed text never becomes a metric label: the kinds of dropped work come
// from a fixed set.
func TestDroppedJobKindsAreFixed(t *testing.T) {
	rec := &dropRecorder{}
	j := &jobs{pool: newPool(1, 1, testLogger(t)), metrics: rec, log: testLogger(t)}
	release := make(chan struct{})
	defer close(release)
	block := func(ctx context.Context) { <-release }
	running := make(chan struct{})
	if !j.enqueue("outcome", false, func(ctx context.Context) { close(running); <-release }) {
		t.Fatal("an empty pool refused work")
	}
	<-running                                // the one worker is busy: what follows only queues
	for j.enqueue("outcome", false, block) { // fill the queue
	}
	for j.enqueue("view submission", true, block) { // and its urgent lane
	}
	for i := range 50 {
		j.enqueue(fmt.Sprintf("command label%04d", i), true, block)
	}
	j.enqueue("command request", true, block)
	j.enqueue("approve", false, block)
	want := map[string]int{"other": 50, "command request": 1, "approve": 1, "outcome": 1, "view submission": 1}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if fmt.Sprint(rec.kinds) != fmt.Sprint(want) {
		t.Errorf("dropped kinds = %v, want %v", rec.kinds, want)
	}
}

// rolelessPolicy names every member by Slack ID, so that a user outside it
// is known to hold no role without a look-up.
const rolelessPolicy = `
roles:
  helpdesk: [U0HELP1]
  authentication-admin: [U0AUTH1]
actions:
  revoke-mfa-sessions: {request: [helpdesk], approve: [authentication-admin]}
`

// A flood of /mfa from someone who holds no role is answered at once and
// queues nothing: real requesters are still served.
func TestRolelessCommandFloodQueuesNothing(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		rec := &dropRecorder{}
		h := newHarness(t, store, func(o *harnessOptions) { o.policy = rolelessPolicy; o.metrics = rec })
		for i := range 200 {
			r, err := h.app.Command("U0NOBODY", "/mfa", fmt.Sprintf("label%04d", i))
			if err != nil || r.Status != http.StatusOK || !strings.Contains(string(r.Body), "hold no role") {
				t.Fatalf("/mfa label%04d by a user with no role: %v %d %s", i, err, r.Status, r.Body)
			}
		}
		if n := len(h.fake.Views("U0NOBODY")); n != 0 {
			t.Errorf("%d views opened for the user with no role", n)
		}
		h.openForm("U0HELP1", "revoke-mfa-sessions")
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.kinds) != 0 {
			t.Errorf("work dropped: %v", rec.kinds)
		}
	})
}

// Each Slack user has a budget: past it their commands are refused before
// they are queued, and other people are not affected.
func TestPerUserBudget(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store, func(o *harnessOptions) { o.userBurst = 3; o.userRate = 1e-9 })
		for i := range 3 {
			r, err := h.app.Command("U0HELP1", "/mfa", "pending")
			if err != nil || r.Status != http.StatusOK || len(r.Body) != 0 {
				t.Fatalf("command %d within the budget: %v %+v", i+1, err, r)
			}
		}
		for _, text := range []string{"pending", "revoke-mfa-sessions", "status R123"} {
			r, err := h.app.Command("U0HELP1", "/mfa", text)
			if err != nil || !strings.Contains(string(r.Body), "more than it takes from one person") {
				t.Errorf("/mfa %s over the budget: %v %s", text, err, r.Body)
			}
		}
		// Help needs no work and is always answered.
		if r, _ := h.app.Command("U0HELP1", "/mfa", "help"); !strings.Contains(string(r.Body), "/mfa") {
			t.Errorf("help over the budget: %s", r.Body)
		}
		h.openForm("U0AUTH1", "")
	})
}

func TestUserBudgetRefills(t *testing.T) {
	now := time.Unix(0, 0)
	b := newUserBudget(2, 0.5, func() time.Time { return now })
	steps := []struct {
		advance time.Duration
		user    string
		want    bool
	}{
		{0, "U1", true}, {0, "U1", true}, {0, "U1", false}, {0, "U2", true},
		{time.Second, "U1", false}, {time.Second, "U1", true}, {0, "U1", false},
		{time.Hour, "U1", true}, {0, "U1", true}, {0, "U1", false},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := b.allow(s.user); got != s.want {
			t.Errorf("step %d: allow(%s) = %v, want %v", i, s.user, got, s.want)
		}
	}
}
