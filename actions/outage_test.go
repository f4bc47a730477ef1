package actions_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// heldDir is a directory whose answers wait until the test releases them.
// It counts calls per target and notes when each started.
type heldDir struct {
	*fakeDir
	release chan struct{}
	mu      sync.Mutex
	started []time.Time
	inCall  int
}

func newHeldDir() *heldDir {
	d := &heldDir{fakeDir: newFakeDir(), release: make(chan struct{})}
	d.secret = true // reset-password returns a temporary password
	return d
}

func (d *heldDir) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	d.mu.Lock()
	d.started = append(d.started, time.Now())
	d.inCall++
	d.mu.Unlock()
	defer func() { d.mu.Lock(); d.inCall--; d.mu.Unlock() }()
	select {
	case <-d.release:
	case <-ctx.Done():
		return actions.Performed{}, ctx.Err()
	}
	p, err := d.fakeDir.Perform(ctx, a, t)
	if a != actions.ResetPassword {
		p.Secret = nil
	}
	return p, err
}

// calls returns how many calls started, how many started after from, and
// how many are still waiting for their answer.
func (d *heldDir) calls(from time.Time) (all, after, waiting int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.started {
		if s.After(from) {
			after++
		}
	}
	return len(d.started), after, d.inCall
}

// countingNotifier counts the secrets delivered per target.
type countingNotifier struct {
	fakeNotifier
	mu        sync.Mutex
	delivered map[string]int
}

func (n *countingNotifier) DeliverSecret(ctx context.Context, r actions.Request, t actions.Target, s *actions.Secret) error {
	n.mu.Lock()
	if n.delivered == nil {
		n.delivered = map[string]int{}
	}
	n.delivered[t.DirectoryID]++
	n.mu.Unlock()
	return n.fakeNotifier.DeliverSecret(ctx, r, t, s)
}

// waitUntil polls cond until it holds, failing t after limit.
func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDatabaseOutageMidRequest restarts a private PostgreSQL while a request
// runs, with the directory's answers arriving while it is down. A second
// replica runs all along. Every target is called once and has one result,
// no target starts while the database is down, the request completes soon
// after the database is back, a reset password reaches the requester once,
// and the audit chain is intact. The outage is longer than the lease: the
// other replica still does not take the request over.
func TestDatabaseOutageMidRequest(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	tests := []struct {
		name     string
		action   actions.Action
		targets  int
		parallel int // targets in flight when the database goes down
	}{
		{"revoke six targets, three at a time", actions.RevokeMFASessions, 6, 3},
		{"reset-password", actions.ResetPassword, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cluster := storagetest.NewCluster(t)
			st := storagetest.Open(t, cluster.URL)
			if _, err := st.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			r := newRig(t, st)
			dir := newHeldDir()
			notify := &countingNotifier{}
			req := r.submit(t, tc.action, people(tc.targets))
			if _, err := r.svc.Approve(t.Context(), req.ID, approver); err != nil {
				t.Fatal(err)
			}

			ctx, stop := context.WithCancel(t.Context())
			var runs sync.WaitGroup
			t.Cleanup(func() { stop(); runs.Wait() })
			replica := func(owner string, s actions.Store) {
				ex := actions.NewExecutor(s, dir, actions.ExecutorOptions{Owner: owner, Parallel: tc.parallel,
					Notifier: notify, Poll: 100 * time.Millisecond, Drain: time.Second})
				runs.Add(1)
				go func() { defer runs.Done(); ex.Run(ctx) }()
			}
			replica("replica-a", st)
			waitUntil(t, "the first targets to be in flight", 30*time.Second, func() bool {
				_, _, waiting := dir.calls(time.Time{})
				return waiting == tc.parallel
			})
			replica("replica-b", storagetest.Open(t, cluster.URL))

			cluster.Stop(t)
			down := time.Now()
			close(dir.release) // the answers arrive while the database is down
			waitUntil(t, "the answers", 10*time.Second, func() bool { _, _, waiting := dir.calls(time.Time{}); return waiting == 0 })
			// Down for longer than a lease, so that the lease lapses.
			time.Sleep(time.Until(down.Add(actions.DefaultLease + time.Second)))
			if all, after, _ := dir.calls(down); all != tc.parallel || after != 0 {
				t.Errorf("%d calls started while the database was down (%d in all), want none", after, all)
			}
			cluster.Start(t)
			up := time.Now()

			var got actions.Request
			waitUntil(t, "the request to complete", 30*time.Second, func() bool {
				var err error
				got, err = st.Request(t.Context(), req.ID)
				return err == nil && got.State.Terminal()
			})
			took := time.Since(up)
			t.Logf("down %s; completed %s after the database was back", up.Sub(down).Round(time.Millisecond), took.Round(time.Millisecond))
			if took > 10*time.Second {
				t.Errorf("completed %s after the database was back, want within 10s", took)
			}
			if got.State != actions.StateSucceeded {
				t.Errorf("state = %s, want succeeded", got.State)
			}
			for _, tg := range got.Targets {
				if n := dir.callsTo(tg.DirectoryID); n != 1 {
					t.Errorf("%s: %d directory calls, want 1", tg.Email, n)
				}
				if tc.action == actions.ResetPassword {
					notify.mu.Lock()
					n := notify.delivered[tg.DirectoryID]
					notify.mu.Unlock()
					if n != 1 {
						t.Errorf("%s: the requester got %d temporary passwords, want 1", tg.Email, n)
					}
				}
			}
			checkAudit(t, st, req.ID, tc.targets, 0)
		})
	}
}

// checkAudit verifies the whole chain up to the recorded head and counts
// request id's events: one started, one result per target, one completed,
// and duplicates duplicate_call notes.
func checkAudit(t *testing.T, st *storage.Store, id string, targets, duplicates int) {
	t.Helper()
	wantKinds(t, st, id, map[actions.EventKind]int{actions.EventStarted: 1, actions.EventTargetResult: targets,
		actions.EventCompleted: 1, actions.EventDuplicateCall: duplicates})
	var v actions.ChainVerifier
	if err := st.Events(t.Context(), 0, time.Time{}, v.Next); err != nil {
		t.Fatal(err)
	}
	seq, head, err := st.AuditHead(t.Context())
	if err != nil || seq != v.Count() || head != v.Head() {
		t.Errorf("audit head (%d, %s, %v); the chain ends at (%d, %s)", seq, head, err, v.Count(), v.Head())
	}
}

// cutStore is a Store this process alone cannot reach while cut: as if the
// network between this replica and the database failed.
type cutStore struct {
	actions.Store
	cut atomic.Bool
}

var errCut = fmt.Errorf("dial tcp: connection timed out: %w", actions.ErrUnavailable)

func (s *cutStore) Update(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	if s.cut.Load() {
		return actions.Request{}, errCut
	}
	return s.Store.Update(ctx, id, fn)
}

func (s *cutStore) ClaimNext(ctx context.Context, now time.Time, takeOver bool, claim func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	if s.cut.Load() {
		return actions.Request{}, errCut
	}
	return s.Store.ClaimNext(ctx, now, takeOver, claim)
}

func (s *cutStore) RenewLease(ctx context.Context, id, owner string, until time.Time) error {
	if s.cut.Load() {
		return errCut
	}
	return s.Store.RenewLease(ctx, id, owner, until)
}

// TestCutOffOwnerIsTakenOver shows when a target is called twice: the
// owner of a request loses the database for longer than the lease while
// another replica still reaches it. The other replica takes the request
// over and calls the targets whose results the owner holds again. When the
// owner is back it records what it holds: each target still has one
// result, and the audit notes each extra call as duplicate_call.
func TestCutOffOwnerIsTakenOver(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		const lease = time.Second
		r := newRig(t, st)
		dir := newHeldDir()
		req := r.submit(t, actions.RevokeMFASessions, people(4))
		if _, err := r.svc.Approve(t.Context(), req.ID, approver); err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(t.Context())
		var runs sync.WaitGroup
		t.Cleanup(func() { stop(); runs.Wait() })
		opts := func(owner string) actions.ExecutorOptions {
			return actions.ExecutorOptions{Owner: owner, Parallel: 2, Lease: lease, Poll: 50 * time.Millisecond, Drain: time.Second}
		}
		owner := &cutStore{Store: st}
		a := actions.NewExecutor(owner, dir, opts("owner"))
		runs.Add(1)
		go func() { defer runs.Done(); a.Run(ctx) }()
		waitUntil(t, "two targets in flight", 30*time.Second, func() bool { _, _, w := dir.calls(time.Time{}); return w == 2 })

		owner.cut.Store(true)
		b := actions.NewExecutor(st, dir, opts("other"))
		runs.Add(1)
		go func() { defer runs.Done(); b.Run(ctx) }()
		close(dir.release)
		waitUntil(t, "the other replica to finish", 30*time.Second, func() bool {
			got, err := st.Request(t.Context(), req.ID)
			return err == nil && got.State.Terminal()
		})
		owner.cut.Store(false)
		waitUntil(t, "the owner to note its extra calls", 30*time.Second, func() bool {
			return countKinds(events(t, st, req.ID))[actions.EventDuplicateCall] == 2
		})
		got, _ := st.Request(t.Context(), req.ID)
		if got.State != actions.StateSucceeded || got.LeaseOwner != "" {
			t.Errorf("state %s, lease %q; want succeeded and no lease", got.State, got.LeaseOwner)
		}
		twice := 0
		for _, tg := range got.Targets {
			if dir.callsTo(tg.DirectoryID) == 2 {
				twice++
			}
		}
		if twice != 2 {
			t.Errorf("%d targets called twice, want the 2 whose answers the owner held", twice)
		}
		checkAudit(t, st, req.ID, 4, 2)
	})
}
