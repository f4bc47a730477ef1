package actions_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

func (d *fakeDir) setAdmin(id string, admin bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.admins[id] = admin
}

func (d *fakeDir) setPrivErr(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.privErr = err
}

func (d *fakeDir) setAlias(alias, primary string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.alias[alias] = primary
}

// lastEvent returns the last audit event of request id of kind k.
func lastEvent(t *testing.T, st *storage.Store, id string, k actions.EventKind) (actions.Event, bool) {
	t.Helper()
	evs := events(t, st, id)
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == k {
			return evs[i], true
		}
	}
	return actions.Event{}, false
}

// An approver whose Slack email is an alias of a target's directory account
// is that target; a requester who names their own directory account through
// a second Slack account is refused.
func TestIdentityThroughAliases(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		// auth3.alias@ is another address of the directory user auth3@.
		r.dir.setAlias("auth3.alias@example.com", "auth3@example.com")
		aliasApprover := actions.Person{SlackID: "U0AUTH3", Email: "auth3.alias@example.com"}
		// The policy names auth3@ by email; the approver's Slack profile says
		// auth3.alias@, so make the policy hold the Slack ID too.
		pol, err := actions.ParsePolicy("p.yaml", []byte(strings.Replace(policyYAML, "auth3@example.com", "auth3@example.com, U0AUTH3", 1)))
		if err != nil {
			t.Fatal(err)
		}
		r.svc.SetPolicy(pol)
		target := actions.Person{SlackID: "U0T3", Email: "auth3@example.com"}
		req := r.submit(t, actions.ResetPassword, []actions.Person{target})
		_, err = r.svc.Approve(t.Context(), req.ID, aliasApprover)
		if !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "target") {
			t.Fatalf("approver through an alias of the target: err = %v, want forbidden as a target", err)
		}
		if ev, ok := lastEvent(t, st, req.ID, actions.EventRefused); !ok || ev.Actor != "U0AUTH3" {
			t.Errorf("refusal not audited: %+v", ev)
		}
		// Nor may they deny it: the Deny button and the Deny form both
		// know them as the target.
		if _, err := r.svc.AuthorizeDeny(t.Context(), req.ID, aliasApprover); !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "target") {
			t.Errorf("deny button through an alias of the target: err = %v, want forbidden as a target", err)
		}
		if _, err := r.svc.Deny(t.Context(), req.ID, aliasApprover, "not needed"); !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "target") {
			t.Errorf("deny through an alias of the target: err = %v, want forbidden as a target", err)
		}
		if got, _ := r.svc.Get(t.Context(), req.ID); got.State != actions.StatePending {
			t.Errorf("after refused denials the request is %s, want pending", got.State)
		}

		// The requester's second Slack account has an alias of their address.
		r.dir.setAlias("help.second@example.com", "help@example.com")
		_, err = r.svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: actions.ResetPassword,
			Targets: []actions.Person{{SlackID: "U0HELP2", Email: "help.second@example.com"}}, Reason: "r"})
		var v *actions.ValidationError
		if !errors.As(err, &v) || !strings.Contains(v.Field(actions.FieldTargets), "yourself") {
			t.Fatalf("requester targeting their own directory account: err = %v", err)
		}

		// An approver whose directory ID is the requester's cannot approve.
		r.dir.setAlias("help.approver@example.com", "help@example.com")
		req2 := r.submit(t, actions.RevokeMFASessions, people(1))
		sameAsRequester := actions.Person{SlackID: "U0AUTH2", Email: "help.approver@example.com"}
		if _, err := r.svc.Approve(t.Context(), req2.ID, sameAsRequester); !errors.Is(err, actions.ErrForbidden) {
			t.Errorf("approver who is the requester's directory account: err = %v, want forbidden", err)
		}
	})
}

// A deny whose decider cannot be looked up in the directory is refused and
// audited, never decided unchecked.
func TestDenyRefusedWhenTheDirectoryCannotBeAsked(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		req := r.submit(t, actions.RevokeMFASessions, people(1))
		r.dir.mu.Lock()
		r.dir.lookupErr = fmt.Errorf("directory down: %w", actions.ErrUnavailable)
		r.dir.mu.Unlock()
		for name, deny := range map[string]func() error{
			"button": func() error { _, err := r.svc.AuthorizeDeny(t.Context(), req.ID, approver); return err },
			"form":   func() error { _, err := r.svc.Deny(t.Context(), req.ID, approver, "no"); return err },
		} {
			if err := deny(); !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "directory could not be checked") {
				t.Errorf("%s: err = %v, want forbidden because the directory could not be checked", name, err)
			}
			if ev, ok := lastEvent(t, st, req.ID, actions.EventRefused); !ok || !strings.Contains(ev.Detail, "directory could not be checked") {
				t.Errorf("%s: refusal not audited: %+v", name, ev)
			}
		}
		if got, _ := r.svc.Get(t.Context(), req.ID); got.State != actions.StatePending {
			t.Errorf("request is %s, want pending", got.State)
		}
	})
}

// A requester or approver the directory does not know may act; the audit
// log notes it. Two Slack accounts of one approver count once.
func TestIdentityUnknownAndDistinctApprovers(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		pol, err := actions.ParsePolicy("p.yaml", []byte(strings.Replace(policyYAML, "approvals: 1", "approvals: 2", 1)))
		if err != nil {
			t.Fatal(err)
		}
		r.svc.SetPolicy(pol)
		r.dir.unknown["help@example.com"] = true
		req := r.submit(t, actions.RevokeMFASessions, people(1))
		if ev, _ := lastEvent(t, st, req.ID, actions.EventCreated); !strings.Contains(ev.Detail, "requester help@example.com not found in the directory") {
			t.Errorf("created detail = %q, want the requester noted as not found", ev.Detail)
		}
		got, _ := r.svc.Get(t.Context(), req.ID)
		if got.Requester.DirectoryID != "" {
			t.Errorf("requester directory ID = %q, want empty", got.Requester.DirectoryID)
		}
		// U0AUTH1 and U0AUTH2 are two Slack accounts of one directory user.
		r.dir.setAlias("auth2@example.com", "auth1@example.com")
		if _, err := r.svc.Approve(t.Context(), req.ID, approver); err != nil {
			t.Fatal(err)
		}
		got, _ = r.svc.Get(t.Context(), req.ID)
		if got.Approvals[0].By.DirectoryID != "id-auth1@example.com" {
			t.Errorf("stored approver = %+v, want their directory ID", got.Approvals[0].By)
		}
		_, err = r.svc.Approve(t.Context(), req.ID, actions.Person{SlackID: "U0AUTH2", Email: "auth2@example.com"})
		if !errors.Is(err, actions.ErrDuplicate) {
			t.Errorf("second Slack account of the same approver: err = %v, want duplicate", err)
		}
		r.dir.unknown["glob@example.com"] = true
		if _, err := r.svc.Approve(t.Context(), req.ID, globalAdm); err != nil {
			t.Fatalf("approver not in the directory: %v", err)
		}
		if ev, _ := lastEvent(t, st, req.ID, actions.EventApproved); !strings.Contains(ev.Detail, "approver glob@example.com not found in the directory") {
			t.Errorf("approved detail = %q, want the approver noted as not found", ev.Detail)
		}
	})
}

// Whether a target holds an admin role is checked again at each approval.
func TestApprovalRechecksAdminStatus(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		ts := people(2)
		req := r.submit(t, actions.ResetPassword, ts)
		// The target becomes an admin after submission.
		r.dir.setAdmin("id-"+ts[1].Email, true)
		_, err := r.svc.Approve(t.Context(), req.ID, approver)
		if !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "privileged-authentication-admin") {
			t.Fatalf("authentication-admin approving a reset of a new admin: err = %v, want forbidden naming the privileged roles", err)
		}
		if ev, ok := lastEvent(t, st, req.ID, actions.EventRefused); !ok || ev.Actor != approver.SlackID {
			t.Errorf("refusal not audited: %+v", ev)
		}
		// A check that cannot be made refuses.
		r.dir.setPrivErr(errors.New("directory down"))
		_, err = r.svc.Approve(t.Context(), req.ID, globalAdm)
		if !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "directory down") {
			t.Fatalf("approval while the admin check fails: err = %v, want forbidden", err)
		}
		if ev, _ := lastEvent(t, st, req.ID, actions.EventRefused); ev.Actor != globalAdm.SlackID || !strings.Contains(ev.Detail, "could not be checked") {
			t.Errorf("failed check not audited: %+v", ev)
		}
		r.dir.setPrivErr(nil)
		// The requester (helpdesk) may not request it on an admin either.
		_, err = r.svc.Approve(t.Context(), req.ID, globalAdm)
		if !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "requester") {
			t.Fatalf("helpdesk request on a new admin approved by a global admin: err = %v, want forbidden naming the requester", err)
		}
		got, _ := r.svc.Get(t.Context(), req.ID)
		if got.State != actions.StatePending || len(got.Approvals) != 0 {
			t.Errorf("after refusals: state %s, %d approvals", got.State, len(got.Approvals))
		}
	})
}

// The requester's role is checked again at approval.
func TestApprovalRechecksRequesterRole(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		req := r.submit(t, actions.ResetPassword, people(1))
		pol, err := actions.ParsePolicy("p.yaml", []byte(strings.Replace(policyYAML, "helpdesk: [U0HELP1]", "helpdesk: [U0HELP9]", 1)))
		if err != nil {
			t.Fatal(err)
		}
		r.svc.SetPolicy(pol)
		_, err = r.svc.Approve(t.Context(), req.ID, approver)
		if !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "no longer holds") {
			t.Fatalf("approval after the requester left the policy: err = %v", err)
		}
		// Denying still works.
		if _, err := r.svc.Deny(t.Context(), req.ID, approver, "requester left"); err != nil {
			t.Errorf("deny: %v", err)
		}
	})
}

// Just before each target runs, the executor checks again whether it holds
// an admin role, and the requester's and approvers' roles under the current
// policy; a check that cannot be made fails that target. No secret reaches a
// requester who lost their role.
func TestExecutorRechecksBeforeEachTarget(t *testing.T) {
	t.Parallel()
	removeRequester := func(t *testing.T, r *rig) {
		t.Helper()
		pol, err := actions.ParsePolicy("p.yaml", []byte(strings.Replace(policyYAML, "helpdesk: [U0HELP1]", "helpdesk: [U0HELP9]", 1)))
		if err != nil {
			t.Fatal(err)
		}
		r.svc.SetPolicy(pol)
	}
	tests := []struct {
		name       string
		afterApprv func(t *testing.T, r *rig, ts []actions.Person)
		wantDetail string
	}{
		{"target became an admin", func(t *testing.T, r *rig, ts []actions.Person) {
			r.dir.setAdmin("id-"+ts[0].Email, true)
		}, "refused before running: the requester <@U0HELP1> no longer holds a role that may request reset-password on a user who holds an admin role"},
		{"admin check fails", func(t *testing.T, r *rig, ts []actions.Person) {
			r.dir.setPrivErr(errors.New("graph unreachable"))
		}, "refused before running: could not check whether the user holds an admin role: graph unreachable"},
		{"requester removed from the policy", func(t *testing.T, r *rig, ts []actions.Person) {
			removeRequester(t, r)
		}, "refused before running: the requester <@U0HELP1> no longer holds a role that may request reset-password"},
		{"approver removed from the policy", func(t *testing.T, r *rig, ts []actions.Person) {
			pol, err := actions.ParsePolicy("p.yaml", []byte(strings.Replace(policyYAML, "U0AUTH1, ", "", 1)))
			if err != nil {
				t.Fatal(err)
			}
			r.svc.SetPolicy(pol)
		}, "refused before running: the approver <@U0AUTH1> no longer holds a role that may approve reset-password"},
		{"requester removed while the password was set", func(t *testing.T, r *rig, ts []actions.Person) {
			r.dir.onPerform = func() { removeRequester(t, r) }
		}, "Temporary password was set but not delivered: the requester <@U0HELP1> no longer holds a role that may request reset-password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.Each(t, func(t *testing.T, st *storage.Store) {
				r := newRig(t, st)
				r.dir.secret = true
				ts := people(1)
				req := r.submit(t, actions.ResetPassword, ts)
				if _, err := r.svc.Approve(t.Context(), req.ID, approver); err != nil {
					t.Fatal(err)
				}
				tt.afterApprv(t, r, ts)
				if ran, err := r.exec.ExecuteOnce(t.Context()); !ran || err != nil {
					t.Fatalf("ExecuteOnce = %v, %v", ran, err)
				}
				got, _ := r.svc.Get(t.Context(), req.ID)
				if got.State != actions.StateFailed || got.Targets[0].Result == nil || got.Targets[0].Result.Detail != tt.wantDetail {
					t.Fatalf("state %s, result %+v; want failed with %q", got.State, got.Targets[0].Result, tt.wantDetail)
				}
				ev, _ := lastEvent(t, st, req.ID, actions.EventTargetResult)
				if ev.Outcome != string(actions.OutcomeFailed) || ev.Detail != tt.wantDetail {
					t.Errorf("audit target_result = %s %q", ev.Outcome, ev.Detail)
				}
				if len(r.notify.secrets) != 0 {
					t.Errorf("a secret was delivered: %d", len(r.notify.secrets))
				}
				wantCalls := 0
				if strings.Contains(tt.name, "while") {
					wantCalls = 1
				}
				if c := r.dir.callsTo("id-" + ts[0].Email); c != wantCalls {
					t.Errorf("directory performed %d times, want %d", c, wantCalls)
				}
			})
		})
	}
}

// flakyReadStore fails the next Request read, as a database blip would.
type flakyReadStore struct {
	*storage.Store
	fail *bool
}

func (s flakyReadStore) Request(ctx context.Context, id string) (actions.Request, error) {
	if *s.fail {
		*s.fail = false
		return actions.Request{}, errors.New("read request: connection reset by peer")
	}
	return s.Store.Request(ctx, id)
}

// An approval whose checks cannot even read the request is not recorded
// unchecked.
func TestApprovalFailsClosedWhenTheRequestCannotBeRead(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := newRig(t, st)
		fail := false
		svc := actions.NewService(flakyReadStore{st, &fail}, r.dir, r.pol, actions.ServiceOptions{Now: r.now.Now})
		req, err := svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: actions.ResetPassword, Targets: people(1), Reason: "r"})
		if err != nil {
			t.Fatal(err)
		}
		r.dir.setAdmin("id-"+people(1)[0].Email, true) // would refuse this approver, if checked
		fail = true
		if _, err := svc.Approve(t.Context(), req.ID, approver); err == nil {
			t.Fatal("approved while the request could not be read for its checks")
		}
		got, _ := svc.Get(t.Context(), req.ID)
		if got.State != actions.StatePending || len(got.Approvals) != 0 {
			t.Errorf("state %s, %d approvals; want pending with none", got.State, len(got.Approvals))
		}
	})
}

// On a step_up action an Approve click makes no directory call: it only
// answers ErrStepUpRequired (BeginStepUp looks the approver up, and the
// sign-in checks everything again). The domain's refusals still come first
// and are audited; a look-up that fails at BeginStepUp is audited too.
func TestApproveOnStepUpActionMakesNoDirectoryCall(t *testing.T) {
	t.Parallel()
	stepUpYAML := strings.Replace(policyYAML,
		"reset-password:         {request: [helpdesk], approve: [authentication-admin, global-admin]}",
		"reset-password:         {request: [helpdesk], approve: [authentication-admin, global-admin], step_up: true}", 1)
	tests := []struct {
		name       string
		by         actions.Person
		want       error
		wantRefuse bool
	}{
		{"approver", approver, actions.ErrStepUpRequired, false},
		{"requester", requester, actions.ErrForbidden, true},
	}
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		r := baseRig(t, st, stepUpYAML)
		if !r.pol.StepUp(actions.ResetPassword) {
			t.Fatal("test policy: reset-password has no step_up")
		}
		r.svc = actions.NewService(st, r.dir, r.pol, actions.ServiceOptions{Notifier: r.notify, Now: r.now.Now})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req := r.submit(t, actions.ResetPassword, people(3))
				before := r.dir.lookupCount()
				_, err := r.svc.Approve(t.Context(), req.ID, tt.by)
				if !errors.Is(err, tt.want) {
					t.Fatalf("Approve: err = %v, want %v", err, tt.want)
				}
				if n := r.dir.lookupCount() - before; n != 0 {
					t.Errorf("Approve made %d directory calls, want 0", n)
				}
				ev, refused := lastEvent(t, st, req.ID, actions.EventRefused)
				if refused != tt.wantRefuse || (refused && ev.Actor != tt.by.SlackID) {
					t.Errorf("refused event %+v (found %v), want found %v", ev, refused, tt.wantRefuse)
				}
				got, _ := r.svc.Get(t.Context(), req.ID)
				if got.State != actions.StatePending || len(got.Approvals) != 0 {
					t.Errorf("after Approve: state %s, %d approvals", got.State, len(got.Approvals))
				}
			})
		}
		// The look-up BeginStepUp makes instead: a failure is refused and audited.
		req := r.submit(t, actions.ResetPassword, people(1))
		r.dir.mu.Lock()
		r.dir.lookupErr = errors.New("directory down")
		r.dir.mu.Unlock()
		if _, _, err := r.svc.BeginStepUp(t.Context(), req.ID, approver); !errors.Is(err, actions.ErrForbidden) || !strings.Contains(err.Error(), "directory down") {
			t.Fatalf("BeginStepUp while the look-up fails: err = %v, want forbidden", err)
		}
		if ev, _ := lastEvent(t, st, req.ID, actions.EventRefused); ev.Actor != approver.SlackID || !strings.Contains(ev.Detail, "could not be checked") {
			t.Errorf("failed look-up not audited: %+v", ev)
		}
	})
}
