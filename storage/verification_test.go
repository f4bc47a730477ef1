package storage_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

const verifyPolicy = `
roles:
  helpdesk: [U0HELP1]
  authentication-admin: [UAPPR00, UAPPR01]
actions:
  reset-password: {request: [helpdesk], approve: [authentication-admin], verify: [target, manager, push]}
verification: {ttl: 10m}
`

// TestVerificationLifecycle stores a request through caller verification
// on both databases: the methods it needs, verifications started, answered
// and refused, and the events with their method.
func TestVerificationLifecycle(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		t.Parallel()
		ctx := t.Context()
		pol, err := actions.ParsePolicy("p.yaml", []byte(verifyPolicy))
		if err != nil {
			t.Fatal(err)
		}
		at := func(d time.Duration) time.Time { return t0.Add(d) }
		tgt := []actions.Target{
			{SlackID: "UTGT000", Email: "target0@example.com", DirectoryID: "dir-0"},
			{SlackID: "UTGT001", Email: "target1@example.com", DirectoryID: "dir-1"},
		}
		d := actions.Draft{Requester: requester, Action: actions.ResetPassword, Reason: "lost phone",
			Targets: []actions.Person{{SlackID: "UTGT000", Email: "target0@example.com"}, {SlackID: "UTGT001", Email: "target1@example.com"}}}
		r, events, err := actions.NewRequest(d, tgt, actions.Automated, pol, actions.NewRequestID(), t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRequest(ctx, r, events); err != nil {
			t.Fatal(err)
		}
		manager := actions.Person{SlackID: "UMGR001", Email: "boss@example.com", DirectoryID: "dir-boss"}
		steps := []struct {
			name  string
			fn    func(actions.Request) (actions.Request, []actions.Event, error)
			state actions.State
			kinds []actions.EventKind
		}{
			{"target method for both", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.StartVerification(pol, requester, actions.VerifyTarget, []actions.VerifierCandidate{
					{Target: 0, Verifier: actions.Person{SlackID: "UTGT000", Email: "target0@example.com"}},
					{Target: 1, Unavailable: "no Slack account"},
				}, at(time.Minute))
			}, actions.StatePending, []actions.EventKind{actions.EventVerificationStarted, actions.EventVerificationFailed}},
			{"target 0 says yes", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.AnswerVerification(actions.Person{SlackID: "UTGT000"}, true, at(2*time.Minute))
			}, actions.StatePending, []actions.EventKind{actions.EventVerified}},
			{"approved, target 1 not verified", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.Approve(pol, approver(0), at(3*time.Minute))
			}, actions.StatePending, []actions.EventKind{actions.EventApproved}},
			{"manager of target 1", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.StartVerification(pol, requester, actions.VerifyManager, []actions.VerifierCandidate{{Target: 1, Verifier: manager}}, at(4*time.Minute))
			}, actions.StatePending, []actions.EventKind{actions.EventVerificationStarted}},
			{"manager says yes", func(r actions.Request) (actions.Request, []actions.Event, error) {
				return r.AnswerVerification(manager, true, at(5*time.Minute))
			}, actions.StateApproved, []actions.EventKind{actions.EventVerified}},
		}
		want := []actions.EventKind{actions.EventCreated}
		for _, st := range steps {
			got := updateStored(t, s, r.ID, st.name, st.fn)
			if got.State != st.state {
				t.Fatalf("%s: state %s, want %s", st.name, got.State, st.state)
			}
			want = append(want, st.kinds...)
		}
		var got []actions.EventKind
		methods := map[actions.EventKind][]string{}
		for _, e := range allEvents(t, s) {
			got = append(got, e.Kind)
			if e.Method != "" {
				methods[e.Kind] = append(methods[e.Kind], e.Method+":"+e.Target.Email)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		wantMethods := map[actions.EventKind][]string{
			actions.EventVerificationStarted: {"target:target0@example.com", "manager:target1@example.com"},
			actions.EventVerificationFailed:  {"target:target1@example.com"},
			actions.EventVerified:            {"target:target0@example.com", "manager:target1@example.com"},
		}
		if diff := cmp.Diff(wantMethods, methods); diff != "" {
			t.Errorf("methods on events (-want +got):\n%s", diff)
		}
		final, _ := s.Request(ctx, r.ID)
		if diff := cmp.Diff([]actions.VerifyMethod{actions.VerifyTarget, actions.VerifyManager, actions.VerifyPush}, final.Verify); diff != "" {
			t.Errorf("verify methods (-want +got):\n%s", diff)
		}
		// The manager is kept by directory identity too, so that a second
		// Slack account of theirs is still known as the verifier.
		if got := final.Verifications[len(final.Verifications)-1].Verifier; got != manager {
			t.Errorf("stored verifier %+v, want %+v", got, manager)
		}

		// A decided verification never changes, and none is dropped.
		before := len(allEvents(t, s))
		for name, fn := range map[string]func(actions.Request) (actions.Request, []actions.Event, error){
			"decided verification changed": func(r actions.Request) (actions.Request, []actions.Event, error) {
				n := r.Clone()
				n.Verifications[0].State = actions.VerificationFailed
				return n, nil, nil
			},
			"verification dropped": func(r actions.Request) (actions.Request, []actions.Event, error) {
				n := r.Clone()
				n.Verifications = n.Verifications[:1]
				return n, nil, nil
			},
			"method tried twice on a target": func(r actions.Request) (actions.Request, []actions.Event, error) {
				n := r.Clone()
				v := n.Verifications[0]
				v.State = actions.VerificationWaiting
				n.Verifications = append(n.Verifications, v)
				return n, nil, nil
			},
		} {
			_, err := s.Update(ctx, r.ID, fn)
			wantErr(t, name, err, actions.ErrDuplicate)
		}
		if after := len(allEvents(t, s)); after != before {
			t.Errorf("refused updates wrote %d events", after-before)
		}
	})
}
