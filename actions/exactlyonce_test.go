package actions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// TestConcurrentApprovalsExecuteOnce fires many approvals of one request at
// once, each from its own Store (its own connections, as separate processes
// would have), while several executors on their own Stores compete for the
// work. The request is approved once and every target runs exactly once.
func TestConcurrentApprovalsExecuteOnce(t *testing.T) {
	const approvers = 60
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		var members []string
		for i := range approvers {
			members = append(members, fmt.Sprintf("U0A%03d", i))
		}
		pol, err := actions.ParsePolicy("p.yaml", []byte(fmt.Sprintf(`
roles: {helpdesk: [U0HELP1], approvers: [%s]}
actions: {revoke-mfa-sessions: {request: [helpdesk], approve: [approvers]}}
`, strings.Join(members, ", "))))
		if err != nil {
			t.Fatal(err)
		}
		dir := newFakeDir()
		dir.delay = 5 * time.Millisecond
		svc := actions.NewService(db.Store, dir, pol, actions.ServiceOptions{})
		req, err := svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: actions.RevokeMFASessions, Targets: people(10), Reason: "phish"})
		if err != nil {
			t.Fatal(err)
		}

		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		var execs sync.WaitGroup
		for i := range 3 {
			// On SQLite as serve runs it (Sole): SQLite is one process,
			// whose writes may wait long enough for a lease to lapse, and
			// no one takes a lease over there.
			ex := actions.NewExecutor(db.Open(t), dir, actions.ExecutorOptions{Owner: fmt.Sprintf("replica-%d", i),
				Poll: 10 * time.Millisecond, Sole: db.Dialect == storage.DialectSQLite})
			execs.Add(1)
			go func() { defer execs.Done(); ex.Run(ctx) }()
		}

		stores := make([]*storage.Store, approvers)
		for i := range stores {
			stores[i] = db.Open(t)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		start := make(chan struct{})
		for i := range approvers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := actions.NewService(stores[i], dir, pol, actions.ServiceOptions{})
				<-start
				_, err := s.Approve(ctx, req.ID, actions.Person{SlackID: fmt.Sprintf("U0A%03d", i)})
				key := "ok"
				if err != nil {
					key = "conflict"
					if !errors.Is(err, actions.ErrConflict) {
						key = err.Error()
					}
				}
				mu.Lock()
				outcomes[key]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if outcomes["ok"] != 1 || outcomes["conflict"] != approvers-1 {
			t.Fatalf("approval outcomes = %v, want 1 ok and %d conflicts", outcomes, approvers-1)
		}

		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := db.Store.Request(t.Context(), req.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State.Terminal() {
				if got.State != actions.StateSucceeded {
					t.Fatalf("state = %s", got.State)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("request still %s after 30s", got.State)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		execs.Wait()
		for _, tg := range req.Targets {
			if n := dir.callsTo(tg.DirectoryID); n != 1 {
				t.Errorf("%s: performed %d times, want 1", tg.Email, n)
			}
		}
		wantKinds(t, db.Store, req.ID, map[actions.EventKind]int{
			actions.EventApproved: 1, actions.EventStarted: 1, actions.EventTargetResult: 10, actions.EventCompleted: 1})
	})
}

// TestExecutorResumesAfterCrash: an executor claimed the request, recorded
// some results and died without releasing its lease. Once the lease lapses
// another executor finishes the rest, never redoing a recorded target.
func TestExecutorResumesAfterCrash(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		req := r.submit(t, actions.RevokeMFASessions, people(6))
		r.approve(t, req.ID)
		// The dead executor: claimed, did two targets, then vanished.
		claimed, err := st.ClaimNext(t.Context(), r.now.Now(), true, actions.Lease("dead", r.now.Now(), r.now.Now().Add(time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if _, err := st.Update(t.Context(), claimed.ID, func(cur actions.Request) (actions.Request, []actions.Event, error) {
				return cur.RecordResult(i, actions.TargetResult{Outcome: actions.OutcomeOK, Detail: "done before the crash"}, r.now.Now())
			}); err != nil {
				t.Fatal(err)
			}
		}
		if ran, _ := r.exec.ExecuteOnce(t.Context()); ran {
			t.Fatal("claimed a request whose lease is live")
		}
		r.now.Advance(2 * time.Minute)
		if ran, err := r.exec.ExecuteOnce(t.Context()); !ran || err != nil {
			t.Fatalf("resume = %v, %v", ran, err)
		}
		got, _ := st.Request(t.Context(), req.ID)
		if got.State != actions.StateSucceeded {
			t.Fatalf("state = %s", got.State)
		}
		for i, tg := range got.Targets {
			want := 1
			if i < 2 {
				want = 0
			}
			if n := r.dir.callsTo(tg.DirectoryID); n != want {
				t.Errorf("target %d performed %d times after resume, want %d", i, n, want)
			}
		}
		wantKinds(t, st, req.ID, map[actions.EventKind]int{actions.EventStarted: 1, actions.EventTargetResult: 6, actions.EventCompleted: 1})
	})
}

// TestExecutorDrainReleases: when Run's context ends mid-request and the
// drain deadline passes, the executor records nothing half-done and releases
// its lease, so another executor resumes at once.
func TestExecutorDrainReleases(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		r.dir.delay = 300 * time.Millisecond
		req := r.submit(t, actions.RevokeMFASessions, people(8))
		r.svc.Approve(t.Context(), req.ID, approver)
		ex := actions.NewExecutor(st, r.dir, actions.ExecutorOptions{Owner: "draining", Parallel: 2, Lease: time.Hour,
			Drain: 50 * time.Millisecond, Poll: 10 * time.Millisecond})
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { ex.Run(ctx); close(done) }()
		// Wait for the first results, then stop.
		for {
			got, _ := st.Request(t.Context(), req.ID)
			if ok, _, _, _ := got.Counts(); ok >= 2 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		<-done
		got, _ := st.Request(t.Context(), req.ID)
		if got.State != actions.StateRunning || got.LeaseOwner != "" {
			t.Fatalf("after drain: state %s, lease owner %q; want running and released", got.State, got.LeaseOwner)
		}
		_, _, _, pending := got.Counts()
		if pending == 0 {
			t.Fatal("drain finished everything; the test needs work left over")
		}
		r.dir.delay = 0
		if ran, _ := r.exec.ExecuteOnce(t.Context()); !ran {
			t.Fatal("released request not resumed at once")
		}
		got, _ = st.Request(t.Context(), req.ID)
		if got.State != actions.StateSucceeded {
			t.Errorf("state = %s", got.State)
		}
		for _, tg := range got.Targets {
			if n := r.dir.callsTo(tg.DirectoryID); n < 1 || n > 2 {
				t.Errorf("%s performed %d times", tg.Email, n)
			}
		}
		wantKinds(t, st, req.ID, map[actions.EventKind]int{actions.EventTargetResult: 8})
	})
}
