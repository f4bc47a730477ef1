package actions

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	carol   = Person{SlackID: "U0CAROL", Email: "carol@example.com"}
	dave    = Person{SlackID: "U0DAVE", Email: "dave@example.com"}
	manager = Person{SlackID: "U0MGR", Email: "mgr@example.com"}
)

// verifying returns a pending request by helpdesk on bob and carol that
// needs target, manager or push verification.
func verifying(mods ...func(*Request)) Request {
	return pending(append([]func(*Request){func(r *Request) {
		r.Targets = []Target{target(bob, false), target(carol, false)}
		r.Verify = []VerifyMethod{VerifyTarget, VerifyManager, VerifyPush}
	}}, mods...)...)
}

func waitingFor(i int, m VerifyMethod, who Person) func(*Request) {
	return func(r *Request) {
		r.Verifications = append(r.Verifications, Verification{Target: i, Method: m, State: VerificationWaiting,
			Verifier: who, StartedAt: t0, Deadline: t0.Add(30 * time.Minute)})
	}
}

func verifiedBy(i int, m VerifyMethod) func(*Request) {
	return func(r *Request) {
		r.Verifications = append(r.Verifications, Verification{Target: i, Method: m, State: VerificationVerified,
			StartedAt: t0, Deadline: t0.Add(30 * time.Minute), DecidedAt: t0})
	}
}

func approvedBy(p Person) func(*Request) {
	return func(r *Request) { r.Approvals = append(r.Approvals, Approval{By: p, At: t0}) }
}

func TestVerificationTransitions(t *testing.T) {
	pol := testPolicy(t, func(p *Policy) { p.VerificationTTL = 30 * time.Minute })
	now := t0.Add(time.Minute)
	cand := func(i int, p Person) VerifierCandidate { return VerifierCandidate{Target: i, Verifier: p} }
	type result struct {
		state  State
		kinds  []EventKind
		actors []string
		err    error
	}
	tests := []struct {
		name string
		r    Request
		fn   func(Request) (Request, []Event, error)
		want result
	}{
		{"requester starts target method for both", verifying(),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyTarget, []VerifierCandidate{cand(0, bob), cand(1, carol)}, now)
			}, result{StatePending, []EventKind{EventVerificationStarted, EventVerificationStarted}, []string{"U0HELP1", "U0HELP1"}, nil}},
		{"someone else may not start it", verifying(),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, auth1, VerifyTarget, []VerifierCandidate{cand(0, bob)}, now)
			}, result{err: ErrForbidden}},
		{"a method the policy does not list", verifying(func(r *Request) { r.Verify = []VerifyMethod{VerifyPush} }),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyTarget, []VerifierCandidate{cand(0, bob)}, now)
			}, result{err: ErrForbidden}},
		{"manager who is the requester is unavailable", verifying(),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyManager, []VerifierCandidate{cand(0, helpdesk)}, now)
			}, result{StatePending, []EventKind{EventVerificationFailed}, []string{BotActor}, nil}},
		{"manager who is the requester by email only", verifying(),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyManager, []VerifierCandidate{cand(0, Person{Email: "HELP@example.com"})}, now)
			}, result{StatePending, []EventKind{EventVerificationFailed}, []string{BotActor}, nil}},
		{"manager who approved is unavailable", verifying(approvedBy(auth1)),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyManager, []VerifierCandidate{cand(0, auth1)}, now)
			}, result{StatePending, []EventKind{EventVerificationFailed}, []string{BotActor}, nil}},
		{"manager who is another target is unavailable", verifying(),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyManager, []VerifierCandidate{cand(0, carol)}, now)
			}, result{StatePending, []EventKind{EventVerificationFailed}, []string{BotActor}, nil}},
		{"manager who is another target by directory ID only (an alias)", verifying(),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyManager, []VerifierCandidate{cand(0, Person{SlackID: "U0ALIAS", Email: "alias@example.com", DirectoryID: "dir-U0CAROL"})}, now)
			}, result{StatePending, []EventKind{EventVerificationFailed}, []string{BotActor}, nil}},
		{"manager who is the requester by directory ID only", verifying(func(r *Request) { r.Requester.DirectoryID = "dir-help" }),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyManager, []VerifierCandidate{cand(0, Person{SlackID: "U0ALT", Email: "alt@example.com", DirectoryID: "dir-help"})}, now)
			}, result{StatePending, []EventKind{EventVerificationFailed}, []string{BotActor}, nil}},
		{"no manager in the directory", verifying(),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyManager, []VerifierCandidate{{Target: 0, Unavailable: "no manager"}}, now)
			}, result{StatePending, []EventKind{EventVerificationFailed}, []string{BotActor}, nil}},
		{"a tried method is not started again", verifying(waitingFor(0, VerifyTarget, bob), verifiedBy(1, VerifyPush)),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyTarget, []VerifierCandidate{cand(0, bob), cand(1, carol)}, now)
			}, result{err: ErrConflict}},
		{"not pending", verifying(withState(StateDenied)),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyTarget, []VerifierCandidate{cand(0, bob)}, now)
			}, result{err: ErrConflict}},
		{"past the approval deadline", verifying(),
			func(r Request) (Request, []Event, error) {
				return r.StartVerification(pol, helpdesk, VerifyTarget, []VerifierCandidate{cand(0, bob)}, t0.Add(2*time.Hour))
			}, result{err: ErrExpired}},
		{"target's yes verifies, not yet approved", verifying(waitingFor(0, VerifyTarget, bob), verifiedBy(1, VerifyPush)),
			func(r Request) (Request, []Event, error) { return r.AnswerVerification(bob, true, now) },
			result{StatePending, []EventKind{EventVerified}, []string{"U0BOB"}, nil}},
		{"last verification after approval approves", verifying(approvedBy(auth1), waitingFor(0, VerifyTarget, bob), verifiedBy(1, VerifyPush)),
			func(r Request) (Request, []Event, error) { return r.AnswerVerification(bob, true, now) },
			result{StateApproved, []EventKind{EventVerified}, []string{"U0BOB"}, nil}},
		{"target's no denies at once", verifying(approvedBy(auth1), waitingFor(0, VerifyTarget, bob)),
			func(r Request) (Request, []Event, error) { return r.AnswerVerification(bob, false, now) },
			result{StateDenied, []EventKind{EventVerificationFailed, EventDenied}, []string{"U0BOB", "U0BOB"}, nil}},
		{"manager's no fails that method only", verifying(waitingFor(0, VerifyManager, manager)),
			func(r Request) (Request, []Event, error) { return r.AnswerVerification(manager, false, now) },
			result{StatePending, []EventKind{EventVerificationFailed}, []string{"U0MGR"}, nil}},
		{"manager answers for both their reports", verifying(approvedBy(auth1), waitingFor(0, VerifyManager, manager), waitingFor(1, VerifyManager, manager)),
			func(r Request) (Request, []Event, error) { return r.AnswerVerification(manager, true, now) },
			result{StateApproved, []EventKind{EventVerified, EventVerified}, []string{"U0MGR", "U0MGR"}, nil}},
		{"someone not asked is refused", verifying(waitingFor(0, VerifyTarget, bob)),
			func(r Request) (Request, []Event, error) { return r.AnswerVerification(dave, true, now) },
			result{err: ErrForbidden}},
		{"the requester cannot answer for the target", verifying(waitingFor(0, VerifyTarget, bob)),
			func(r Request) (Request, []Event, error) { return r.AnswerVerification(helpdesk, true, now) },
			result{err: ErrForbidden}},
		{"same email, other Slack account, is refused", verifying(waitingFor(0, VerifyTarget, bob)),
			func(r Request) (Request, []Event, error) {
				return r.AnswerVerification(Person{SlackID: "U0EVIL", Email: bob.Email}, true, now)
			}, result{err: ErrForbidden}},
		{"a second answer conflicts", verifying(func(r *Request) {
			r.Verifications = []Verification{{Target: 0, Method: VerifyTarget, State: VerificationVerified, Verifier: bob}}
		}), func(r Request) (Request, []Event, error) { return r.AnswerVerification(bob, true, now) },
			result{err: ErrConflict}},
		{"an answer after the deadline conflicts", verifying(waitingFor(0, VerifyTarget, bob)),
			func(r Request) (Request, []Event, error) {
				return r.AnswerVerification(bob, true, t0.Add(31*time.Minute))
			},
			result{err: ErrConflict}},
		{"push approved", verifying(approvedBy(auth1), waitingFor(0, VerifyPush, Person{}), verifiedBy(1, VerifyTarget)),
			func(r Request) (Request, []Event, error) { return r.RecordPush(0, true, "transaction v2mst1", now) },
			result{StateApproved, []EventKind{EventVerified}, []string{BotActor}, nil}},
		{"push rejected", verifying(waitingFor(0, VerifyPush, Person{})),
			func(r Request) (Request, []Event, error) { return r.RecordPush(0, false, "rejected", now) },
			result{StatePending, []EventKind{EventVerificationFailed}, []string{BotActor}, nil}},
		{"no push waiting", verifying(),
			func(r Request) (Request, []Event, error) { return r.RecordPush(0, true, "x", now) },
			result{err: ErrConflict}},
		{"unanswered verification fails after the ttl", verifying(waitingFor(0, VerifyTarget, bob), waitingFor(1, VerifyManager, manager)),
			func(r Request) (Request, []Event, error) { return r.ExpireVerifications(t0.Add(30 * time.Minute)) },
			result{StatePending, []EventKind{EventVerificationFailed, EventVerificationFailed}, []string{BotActor, BotActor}, nil}},
		{"nothing overdue", verifying(waitingFor(0, VerifyTarget, bob)),
			func(r Request) (Request, []Event, error) { return r.ExpireVerifications(t0.Add(29 * time.Minute)) },
			result{err: ErrConflict}},
		{"approval before verification stays pending", verifying(),
			func(r Request) (Request, []Event, error) { return r.Approve(pol, auth1, now) },
			result{StatePending, []EventKind{EventApproved}, []string{"U0AUTH1"}, nil}},
		{"no more approvals while waiting for verification", verifying(approvedBy(auth1)),
			func(r Request) (Request, []Event, error) { return r.Approve(pol, auth2, now) },
			result{err: ErrConflict}},
		{"approval after verification approves", verifying(verifiedBy(0, VerifyTarget), verifiedBy(1, VerifyManager)),
			func(r Request) (Request, []Event, error) { return r.Approve(pol, auth1, now) },
			result{StateApproved, []EventKind{EventApproved}, []string{"U0AUTH1"}, nil}},
		{"the manager asked to verify may not approve", verifying(waitingFor(0, VerifyManager, auth2)),
			func(r Request) (Request, []Event, error) { return r.Approve(pol, auth2, now) },
			result{err: ErrForbidden}},
		{"without verify, approval approves as before", pending(),
			func(r Request) (Request, []Event, error) { return r.Approve(pol, auth1, now) },
			result{StateApproved, []EventKind{EventApproved}, []string{"U0AUTH1"}, nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, events, err := applyPure(t, tc.r, tc.fn)
			if tc.want.err != nil {
				if !errors.Is(err, tc.want.err) || events != nil {
					t.Fatalf("err = %v, events %v; want %v and none", err, events, tc.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.want.state {
				t.Errorf("state %s, want %s", got.State, tc.want.state)
			}
			var kinds []EventKind
			var actors []string
			for _, e := range events {
				kinds, actors = append(kinds, e.Kind), append(actors, e.Actor)
				switch e.Kind {
				case EventVerificationStarted, EventVerified, EventVerificationFailed:
					if e.Target == nil || e.Method == "" || e.Detail == "" {
						t.Errorf("%s event without target, method or detail: %+v", e.Kind, e)
					}
				}
			}
			if diff := cmp.Diff(tc.want.kinds, kinds); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want.actors, actors); diff != "" {
				t.Errorf("actors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerificationDetails(t *testing.T) {
	pol := testPolicy(t, func(p *Policy) { p.VerificationTTL = 30 * time.Minute })
	r := verifying()
	n, _, err := r.StartVerification(pol, helpdesk, VerifyManager, []VerifierCandidate{{Target: 0, Verifier: helpdesk}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if v := n.Verifications[0]; v.State != VerificationFailed || !strings.Contains(v.Detail, "is the requester") {
		t.Errorf("verification %+v, want failed because the manager is the requester", v)
	}
	n, _, err = r.StartVerification(pol, helpdesk, VerifyTarget, []VerifierCandidate{{Target: 0, Verifier: bob}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if v := n.Verifications[0]; !v.Deadline.Equal(t0.Add(30*time.Minute)) || v.State != VerificationWaiting {
		t.Errorf("verification %+v, want waiting until t0+30m", v)
	}
	n, events, err := n.AnswerVerification(bob, false, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n.DecidedBy != bob || events[1].Kind != EventDenied || !strings.Contains(events[1].Detail, "did not ask") {
		t.Errorf("denied by %+v with %+v", n.DecidedBy, events)
	}
}

func TestVerificationPolicy(t *testing.T) {
	base := "roles: {h: [U0HELP1]}\nactions:\n  reset-password: {request: [h], approve: [h], verify: %s}\n%s"
	for _, tc := range []struct {
		name, verify, extra, wantErr string
		want                         []VerifyMethod
		ttl                          time.Duration
	}{
		{"all three", "[target, manager, push]", "", "", []VerifyMethod{VerifyTarget, VerifyManager, VerifyPush}, DefaultVerificationTTL},
		{"ttl", "[target]", "verification: {ttl: 10m}", "", []VerifyMethod{VerifyTarget}, 10 * time.Minute},
		{"unknown method", "[target, phone]", "", `unknown verification method "phone"`, nil, 0},
		{"twice", "[target, target]", "", "target is listed twice", nil, 0},
		{"not a list", "target", "", "must be a list", nil, 0},
		{"ttl too short", "[target]", "verification: {ttl: 10s}", "verification.ttl must be", nil, 0},
		{"unknown key", "[target]", "verification: {timeout: 10m}", `unknown key "timeout"`, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol, err := ParsePolicy("p.yaml", []byte(strings.ReplaceAll(
				strings.Replace(strings.Replace(base, "%s", tc.verify, 1), "%s", tc.extra, 1), "\t", "  ")))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, pol.VerifyMethods(ResetPassword)); diff != "" {
				t.Errorf("methods (-want +got):\n%s", diff)
			}
			if pol.VerificationTTL != tc.ttl {
				t.Errorf("ttl %s, want %s", pol.VerificationTTL, tc.ttl)
			}
		})
	}
}

// TestVerificationEventHash checks that the method field is covered by the
// hash, and that events without it hash as they did before it existed.
func TestVerificationEventHash(t *testing.T) {
	e := Event{Seq: 1, Time: t0, RequestID: "R1", Kind: EventApproved, Actor: "U1", Action: ResetPassword, Detail: "approval 1 of 1"}
	// The hash of this event as computed before events had a method (the
	// hashedEvent of commit 943c6dc, without the field).
	const before = "93c7d1d6bc79e3d3ac4a1965e8dfa3f96ad3bc1e4767f626823cb52b01e08669"
	if got := e.ComputeHash(); got != before {
		t.Errorf("hash of an event without a method = %s, want the hash it always had %s", got, before)
	}
	v := e
	v.Kind, v.Method = EventVerified, "target"
	w := v
	w.Method = "manager"
	if v.ComputeHash() == w.ComputeHash() {
		t.Error("the method is not covered by the hash")
	}
}
