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
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/actions/directories/okta"
	"github.com/mfadesk/mfadesk/actions/directories/okta/fakeokta"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

const verifyPolicyYAML = `
roles:
  helpdesk: [U0HELP1]
  authentication-admin: [U0AUTH1, U0AUTH2]
actions:
  reset-password: {request: [helpdesk], approve: [authentication-admin], verify: [target, manager, push]}
verification: {ttl: 30m}
`

// verifyNotifier is the Slack bot's part in verification, faked: Slack
// accounts by email, the questions asked, the alerts raised.
type verifyNotifier struct {
	fakeNotifier
	mu       sync.Mutex
	accounts map[string]string // email -> Slack ID
	asked    []string          // "method verifier targets"
	alerts   []string
}

func (n *verifyNotifier) Account(_ context.Context, email string) (actions.Person, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for e, id := range n.accounts {
		if strings.EqualFold(e, email) {
			return actions.Person{SlackID: id, Email: email}, nil
		}
	}
	return actions.Person{}, fmt.Errorf("%s: %w", email, actions.ErrNoAccount)
}

func (n *verifyNotifier) AskToVerify(_ context.Context, r actions.Request, m actions.VerifyMethod, p actions.Person, ts []int) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.asked = append(n.asked, fmt.Sprintf("%s %s %v", m, p.SlackID, ts))
	return nil
}

func (n *verifyNotifier) SecurityAlert(_ context.Context, r actions.Request, text string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.alerts = append(n.alerts, text)
}

type verifyRig struct {
	svc    *actions.Service
	exec   *actions.Executor
	store  *storage.Store
	notify *verifyNotifier
	now    *clock
}

func newVerifyRig(t *testing.T, st *storage.Store, dir actions.Directory) *verifyRig {
	t.Helper()
	pol := mustPolicy(t, verifyPolicyYAML)
	if p := actions.CheckVerification(pol, dir); len(p) > 0 {
		t.Fatal(p)
	}
	n := &verifyNotifier{accounts: map[string]string{
		"help@example.com": "U0HELP1", "ann@example.com": "U0ANN", "ben@example.com": "U0BEN", "cat@example.com": "U0CAT",
		"boss@example.com": "U0BOSS",
	}}
	now := newClock()
	r := &verifyRig{store: st, notify: n, now: now,
		svc: actions.NewService(st, dir, pol, actions.ServiceOptions{Notifier: n, Now: now.Now})}
	r.exec = actions.NewExecutor(st, dir, actions.ExecutorOptions{Owner: "e1", Notifier: n, Now: now.Now})
	return r
}

func (r *verifyRig) submit(t *testing.T, emails ...string) actions.Request {
	t.Helper()
	var ts []actions.Person
	for _, e := range emails {
		ts = append(ts, actions.Person{SlackID: r.notify.accounts[e], Email: e})
	}
	req, err := r.svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: actions.ResetPassword, Targets: ts, Reason: "lost phone"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return req
}

// runnable reports whether an executor could claim the request now.
func (r *verifyRig) runnable(t *testing.T) bool {
	t.Helper()
	got, err := r.store.ClaimNext(t.Context(), r.now.Now(), true, actions.Lease("probe", r.now.Now(), r.now.Now().Add(time.Minute)))
	if errors.Is(err, actions.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return got.ID != ""
}

// TestVerifyThreeTargets: one target verified by themself, one by their
// manager, one not at all: the approved request does not run until the
// third is verified (by push).
func TestVerifyThreeTargets(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		dir := dryrun.New(dryrun.Options{Managers: map[string]string{"ben@example.com": "boss@example.com"},
			Push: map[string]actions.PushOutcome{"cat@example.com": actions.PushWaiting}})
		r := newVerifyRig(t, st, dir)
		req := r.submit(t, "ann@example.com", "ben@example.com", "cat@example.com")

		_, notes, err := r.svc.StartVerification(ctx, req.ID, requester, actions.VerifyTarget)
		if err != nil || len(notes) != 3 || !notes[0].Started {
			t.Fatalf("start target: %+v %v", notes, err)
		}
		if _, err := r.svc.AnswerVerification(ctx, req.ID, actions.Person{SlackID: "U0ANN"}, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.svc.StartVerification(ctx, req.ID, requester, actions.VerifyManager); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.AnswerVerification(ctx, req.ID, actions.Person{SlackID: "U0BOSS"}, true); err != nil {
			t.Fatal(err)
		}
		if got, err := r.svc.Approve(ctx, req.ID, approver); err != nil || got.State != actions.StatePending {
			t.Fatalf("approve: %s %v, want still pending", got.State, err)
		}
		// The third target is asked to verify but does not answer: nothing runs.
		if _, err := r.svc.PollVerifications(ctx); err != nil {
			t.Fatal(err)
		}
		if r.runnable(t) {
			t.Fatal("a request with an unverified target was claimed for execution")
		}
		// A push to the third target, approved: now it runs.
		_, notes, err = r.svc.StartVerification(ctx, req.ID, requester, actions.VerifyPush)
		if err != nil || len(notes) != 1 || notes[0].Target != 2 || !notes[0].Started || notes[0].Number == 0 {
			t.Fatalf("start push: %+v %v", notes, err)
		}
		if n, err := r.svc.PollVerifications(ctx); err != nil || n != 0 {
			t.Fatalf("poll while waiting: %d %v", n, err)
		}
		got, err := r.svc.Get(ctx, req.ID)
		if err != nil || got.State != actions.StatePending {
			t.Fatalf("still pending while the push waits: %s %v", got.State, err)
		}
		dir.AnswerPush("cat@example.com", actions.PushApproved)
		if n, err := r.svc.PollVerifications(ctx); err != nil || n != 1 {
			t.Fatalf("poll after the push was approved: %d %v", n, err)
		}
		if got, _ := r.svc.Get(ctx, req.ID); got.State != actions.StateApproved {
			t.Fatalf("state %s, want approved once all three are verified", got.State)
		}
		evs := events(t, st, req.ID)
		var methods []string
		for _, e := range evs {
			if e.Kind == actions.EventVerified {
				methods = append(methods, e.Method+" "+e.Target.Email)
			}
		}
		if want := "target ann@example.com,manager ben@example.com,push cat@example.com"; strings.Join(methods, ",") != want {
			t.Errorf("verified events %q, want %q", methods, want)
		}
		if !r.runnable(t) {
			t.Error("the approved, verified request cannot be claimed")
		}
	})
}

// TestVerifyOutcomes: a target's No denies and alerts; a manager who is
// the requester is unavailable; someone else's click is refused and
// audited; an unanswered verification fails after verification.ttl.
func TestVerifyOutcomes(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		dir := dryrun.New(dryrun.Options{Managers: map[string]string{"ann@example.com": "help@example.com", "ben@example.com": "nobody@example.com"}})
		r := newVerifyRig(t, st, dir)

		req := r.submit(t, "ann@example.com", "ben@example.com")
		_, notes, err := r.svc.StartVerification(ctx, req.ID, requester, actions.VerifyManager)
		if err != nil || len(notes) != 2 || notes[0].Started || !strings.Contains(notes[0].Problem, "is the requester") ||
			notes[1].Started || !strings.Contains(notes[1].Problem, "no active Slack account") {
			t.Fatalf("manager notes %+v %v: want the requester refused and no Slack account for nobody@", notes, err)
		}
		if _, _, err := r.svc.StartVerification(ctx, req.ID, actions.Person{SlackID: "U0AUTH1", Email: "auth1@example.com"}, actions.VerifyTarget); !errors.Is(err, actions.ErrForbidden) {
			t.Fatalf("start by someone else: %v, want ErrForbidden", err)
		}
		if _, _, err := r.svc.StartVerification(ctx, req.ID, requester, actions.VerifyTarget); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.AnswerVerification(ctx, req.ID, actions.Person{SlackID: "U0AUTH1"}, true); !errors.Is(err, actions.ErrForbidden) {
			t.Fatalf("answer by someone not asked: %v, want ErrForbidden", err)
		}
		r.now.Advance(31 * time.Minute)
		if n, err := r.svc.PollVerifications(ctx); err != nil || n != 1 {
			t.Fatalf("poll past the ttl: %d %v", n, err)
		}
		got, _ := r.svc.Get(ctx, req.ID)
		for _, v := range got.Verifications {
			if v.State == actions.VerificationWaiting {
				t.Errorf("verification %+v still waiting after the ttl", v)
			}
		}

		req2 := r.submit(t, "ann@example.com")
		if _, _, err := r.svc.StartVerification(ctx, req2.ID, requester, actions.VerifyTarget); err != nil {
			t.Fatal(err)
		}
		got, err = r.svc.AnswerVerification(ctx, req2.ID, actions.Person{SlackID: "U0ANN"}, false)
		if err != nil || got.State != actions.StateDenied || got.DecidedBy.SlackID != "U0ANN" {
			t.Fatalf("target's No: %s by %+v, %v; want denied by the target", got.State, got.DecidedBy, err)
		}
		if len(r.notify.alerts) != 1 || !strings.Contains(r.notify.alerts[0], req2.ID) || !strings.Contains(r.notify.alerts[0], "U0HELP1") {
			t.Errorf("alerts %q, want one naming the request and the requester", r.notify.alerts)
		}

		kinds := map[actions.EventKind]int{}
		for _, e := range events(t, st, req.ID) {
			kinds[e.Kind]++
			if e.Kind == actions.EventRefused && e.Actor != "U0AUTH1" {
				t.Errorf("refused event by %s", e.Actor)
			}
		}
		if kinds[actions.EventRefused] != 2 || kinds[actions.EventVerificationFailed] != 4 {
			t.Errorf("events %v: want 2 refused clicks and 4 failed verifications (2 unavailable managers, 2 unanswered)", kinds)
		}
	})
}

// TestVerifyOktaPush drives push verification against the Okta fake (paths
// checked against Okta's OpenAPI description): number matching, then
// SUCCESS, REJECTED or TIMEOUT; the transaction ID goes in the audit.
func TestVerifyOktaPush(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		answer string
		kind   actions.EventKind
		state  actions.State
	}{
		{"SUCCESS", actions.EventVerified, actions.StateApproved},
		{"REJECTED", actions.EventVerificationFailed, actions.StatePending},
		{"TIMEOUT", actions.EventVerificationFailed, actions.StatePending},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			t.Parallel()
			storagetest.Each(t, func(t *testing.T, st *storage.Store) {
				ctx := t.Context()
				f := fakeokta.New(t)
				f.AddUser(fakeokta.User{ID: "00uann", Login: "ann@example.com", Email: "ann@example.com", Factors: []string{"push"}, Push: tc.answer, PushPolls: 1})
				dir, err := okta.New(okta.Config{OrgURL: f.URL(), Token: fakeokta.Token, HTTPClient: f.Client()})
				if err != nil {
					t.Fatal(err)
				}
				r := newVerifyRig(t, st, dir)
				req := r.submit(t, "ann@example.com")
				if _, err := r.svc.Approve(ctx, req.ID, approver); err != nil {
					t.Fatal(err)
				}
				_, notes, err := r.svc.StartVerification(ctx, req.ID, requester, actions.VerifyPush)
				if err != nil || len(notes) != 1 || !notes[0].Started || notes[0].Number < 10 {
					t.Fatalf("start push: %+v %v", notes, err)
				}
				for _, want := range []int{0, 1} { // WAITING once, then the answer
					if n, err := r.svc.PollVerifications(ctx); err != nil || n != want {
						t.Fatalf("poll: %d %v, want %d decided", n, err, want)
					}
				}
				got, _ := r.svc.Get(ctx, req.ID)
				if got.State != tc.state {
					t.Errorf("state %s, want %s", got.State, tc.state)
				}
				evs := events(t, st, req.ID)
				last := evs[len(evs)-1]
				if last.Kind != tc.kind || last.Method != "push" || !strings.Contains(last.Detail, "transaction v2mst") || last.Actor != actions.BotActor {
					t.Errorf("last event %+v, want %s by mfadesk with the transaction", last, tc.kind)
				}
				for _, e := range evs {
					if strings.Contains(e.Detail, fmt.Sprint(notes[0].Number)+" ") || strings.Contains(e.Detail, "number "+fmt.Sprint(notes[0].Number)) {
						t.Errorf("the number to read to the caller reached the audit: %+v", e)
					}
				}
			})
		})
	}
}
