package actions

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testPolicyYAML = `
roles:
  helpdesk: [U0HELP1, agent@example.com]
  authentication-admin: [U0AUTH1, U0AUTH2, U0AUTH3]
  privileged-authentication-admin: [U0PAUTH]
  global-admin: [U0GLOB1]
actions:
  reset-password:         {request: [helpdesk, authentication-admin], approve: [authentication-admin, global-admin]}
  require-reregister-mfa: {request: [helpdesk, authentication-admin], approve: [authentication-admin, global-admin]}
  revoke-mfa-sessions:    {request: [helpdesk, authentication-admin], approve: [authentication-admin, global-admin]}
  delete-app-passwords:   {request: [global-admin, helpdesk], approve: [global-admin, authentication-admin]}
approval:
  approvals: 1
  ttl: 1h
limits:
  max_targets: 3
privileged:
  roles: [privileged-authentication-admin, global-admin]
`

func testPolicy(t *testing.T, mutate ...func(*Policy)) *Policy {
	t.Helper()
	p, err := ParsePolicy("test.yaml", []byte(testPolicyYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

var (
	t0       = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	helpdesk = Person{SlackID: "U0HELP1", Email: "help@example.com"}
	auth1    = Person{SlackID: "U0AUTH1", Email: "auth1@example.com"}
	auth2    = Person{SlackID: "U0AUTH2", Email: "auth2@example.com"}
	pauth    = Person{SlackID: "U0PAUTH", Email: "pauth@example.com"}
	glob     = Person{SlackID: "U0GLOB1", Email: "glob@example.com"}
	bob      = Person{SlackID: "U0BOB", Email: "bob@example.com"}
	// auth3 is an authentication admin who is also a target in targetAuth.
	auth3 = Person{SlackID: "U0AUTH3", Email: "auth3@example.com"}
)

func target(p Person, privileged bool) Target {
	return Target{SlackID: p.SlackID, Email: p.Email, DirectoryID: "dir-" + p.SlackID, Privileged: privileged}
}

// pending returns a pending request made by helpdesk at t0.
func pending(mods ...func(*Request)) Request {
	r := Request{
		ID: "RTEST", Requester: helpdesk, Action: ResetPassword,
		Targets: []Target{target(bob, false)}, Reason: "locked out", State: StatePending,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0, ApprovalsNeeded: 1,
	}
	for _, m := range mods {
		m(&r)
	}
	return r
}

func withState(s State) func(*Request)        { return func(r *Request) { r.State = s } }
func withNeeded(n int) func(*Request)         { return func(r *Request) { r.ApprovalsNeeded = n } }
func withTargets(ts ...Target) func(*Request) { return func(r *Request) { r.Targets = ts } }
func manual(r *Request)                       { r.Manual = true; r.Action = DeleteAppPasswords }
func withResults(outs ...Outcome) func(*Request) {
	return func(r *Request) {
		r.Targets = nil
		for i, o := range outs {
			tg := target(Person{SlackID: "U0T" + string(rune('A'+i)), Email: string(rune('a'+i)) + "@example.com"}, false)
			if o != "" {
				tg.Result = &TargetResult{Outcome: o, Detail: "x", At: t0}
			}
			r.Targets = append(r.Targets, tg)
		}
	}
}

func TestTransitions(t *testing.T) {
	pol := testPolicy(t)
	later := t0.Add(10 * time.Minute)
	type op func(Request) (Request, []Event, error)
	approve := func(by Person) op {
		return func(r Request) (Request, []Event, error) { return r.Approve(pol, by, later) }
	}
	approveAt := func(by Person, at time.Time) op {
		return func(r Request) (Request, []Event, error) { return r.Approve(pol, by, at) }
	}
	deny := func(by Person) op {
		return func(r Request) (Request, []Event, error) { return r.Deny(pol, by, "not verified", later) }
	}
	cancel := func(by Person) op { return func(r Request) (Request, []Event, error) { return r.Cancel(by, later) } }
	expire := func(at time.Time) op { return func(r Request) (Request, []Event, error) { return r.Expire(at) } }
	start := func(r Request) (Request, []Event, error) { return r.Start(later) }
	record := func(i int, o Outcome) op {
		return func(r Request) (Request, []Event, error) {
			return r.RecordResult(i, TargetResult{Outcome: o, Detail: "d"}, later)
		}
	}
	complete := func(r Request) (Request, []Event, error) { return r.Complete(later) }
	mark := func(by Person, done bool) op {
		return func(r Request) (Request, []Event, error) { return r.MarkManual(pol, by, done, "portal", later) }
	}

	tests := []struct {
		name       string
		req        Request
		op         op
		wantState  State
		wantEvents []EventKind
		wantErr    error
	}{
		// pending -> approved
		{"approve", pending(), approve(auth1), StateApproved, []EventKind{EventApproved}, nil},
		{"approve by global admin", pending(), approve(glob), StateApproved, []EventKind{EventApproved}, nil},
		{"approve first of two", pending(withNeeded(2)), approve(auth1), StatePending, []EventKind{EventApproved}, nil},
		{"approve second of two", pending(withNeeded(2), func(r *Request) { r.Approvals = []Approval{{By: auth1, At: t0}} }), approve(auth2), StateApproved, []EventKind{EventApproved}, nil},
		{"approve twice by one person", pending(withNeeded(2), func(r *Request) { r.Approvals = []Approval{{By: auth1, At: t0}} }), approve(Person{SlackID: "U0AUTH1", Email: "AUTH1@Example.com"}), "", nil, ErrDuplicate},
		{"approve manual step starts it", pending(manual), approve(auth1), StateRunning, []EventKind{EventApproved, EventStarted}, nil},
		{"self approval", pending(func(r *Request) { r.Requester = auth1 }), approve(auth1), "", nil, ErrForbidden},
		{"self approval by email", pending(func(r *Request) { r.Requester = Person{SlackID: "UOTHER", Email: "auth1@example.com"} }), approve(auth1), "", nil, ErrForbidden},
		{"target approves", pending(withTargets(target(auth3, false))), approve(auth3), "", nil, ErrForbidden},
		{"approver without role", pending(), approve(helpdesk2), "", nil, ErrForbidden},
		{"requester role is not approver role", pending(func(r *Request) { r.Requester = bob }), approve(helpdesk), "", nil, ErrForbidden},
		{"privileged target needs privileged approver", pending(withTargets(target(bob, true))), approve(auth1), "", nil, ErrForbidden},
		{"privileged target, privileged approver", pending(withTargets(target(bob, true))), approve(pauth), StateApproved, []EventKind{EventApproved}, nil},
		{"approve at deadline", pending(), approveAt(auth1, t0.Add(time.Hour)), "", nil, ErrExpired},
		{"approve approved", pending(withState(StateApproved)), approve(auth1), "", nil, ErrConflict},
		{"approve denied", pending(withState(StateDenied)), approve(auth1), "", nil, ErrConflict},
		{"approve running", pending(withState(StateRunning)), approve(auth1), "", nil, ErrConflict},
		// pending -> denied
		{"deny", pending(), deny(auth1), StateDenied, []EventKind{EventDenied}, nil},
		{"deny by requester", pending(), deny(helpdesk), "", nil, ErrForbidden},
		{"deny without role", pending(), deny(bob), "", nil, ErrForbidden},
		{"deny expired", pending(func(r *Request) { r.ExpiresAt = t0 }), deny(auth1), "", nil, ErrExpired},
		{"deny cancelled", pending(withState(StateCancelled)), deny(auth1), "", nil, ErrConflict},
		// pending -> cancelled
		{"cancel", pending(), cancel(helpdesk), StateCancelled, []EventKind{EventCancelled}, nil},
		{"cancel by someone else", pending(), cancel(auth1), "", nil, ErrForbidden},
		{"cancel approved", pending(withState(StateApproved)), cancel(helpdesk), "", nil, ErrConflict},
		// pending -> expired
		{"expire", pending(), expire(t0.Add(time.Hour)), StateExpired, []EventKind{EventExpired}, nil},
		{"expire early", pending(), expire(t0.Add(59 * time.Minute)), "", nil, ErrConflict},
		{"expire approved", pending(withState(StateApproved)), expire(t0.Add(2 * time.Hour)), "", nil, ErrConflict},
		// approved -> running
		{"start", pending(withState(StateApproved)), start, StateRunning, []EventKind{EventStarted}, nil},
		{"start pending", pending(), start, "", nil, ErrConflict},
		{"start manual", pending(manual, withState(StateApproved)), start, "", nil, ErrConflict},
		{"start running", pending(withState(StateRunning)), start, "", nil, ErrConflict},
		// running: results
		{"record", pending(withState(StateRunning)), record(0, OutcomeOK), StateRunning, []EventKind{EventTargetResult}, nil},
		{"record twice", pending(withState(StateRunning), withResults(OutcomeOK)), record(0, OutcomeFailed), "", nil, ErrDuplicate},
		{"record on approved", pending(withState(StateApproved)), record(0, OutcomeOK), "", nil, ErrConflict},
		// running -> terminal
		{"complete all ok", pending(withState(StateRunning), withResults(OutcomeOK, OutcomeOK)), complete, StateSucceeded, []EventKind{EventCompleted}, nil},
		{"complete ok and skipped", pending(withState(StateRunning), withResults(OutcomeOK, OutcomeSkipped)), complete, StateSucceeded, []EventKind{EventCompleted}, nil},
		{"complete mixed", pending(withState(StateRunning), withResults(OutcomeOK, OutcomeFailed)), complete, StatePartiallyFailed, []EventKind{EventCompleted}, nil},
		{"complete all failed", pending(withState(StateRunning), withResults(OutcomeFailed, OutcomeSkipped)), complete, StateFailed, []EventKind{EventCompleted}, nil},
		{"complete with target left", pending(withState(StateRunning), withResults(OutcomeOK, "")), complete, "", nil, ErrConflict},
		{"complete pending", pending(), complete, "", nil, ErrConflict},
		// running manual -> terminal
		{"manual done", pending(manual, withState(StateRunning), withTargets(target(bob, false), target(auth3, false))), mark(glob, true), StateSucceeded,
			[]EventKind{EventManualDone, EventTargetResult, EventTargetResult, EventCompleted}, nil},
		{"manual failed", pending(manual, withState(StateRunning)), mark(auth1, false), StateFailed, []EventKind{EventManualFailed, EventTargetResult, EventCompleted}, nil},
		{"manual by requester", pending(manual, withState(StateRunning), func(r *Request) { r.Requester = glob }), mark(glob, true), "", nil, ErrForbidden},
		{"manual by helpdesk", pending(manual, withState(StateRunning)), mark(helpdesk2, true), "", nil, ErrForbidden},
		{"manual twice", pending(manual, withState(StateSucceeded)), mark(glob, true), "", nil, ErrConflict},
		{"manual on automated", pending(withState(StateRunning)), mark(glob, true), "", nil, ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, events, err := applyPure(t, tt.req, tt.op)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if len(events) != 0 {
					t.Errorf("refused transition returned events %v", events)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got.State != tt.wantState {
				t.Errorf("state = %s, want %s", got.State, tt.wantState)
			}
			var kinds []EventKind
			for _, e := range events {
				kinds = append(kinds, e.Kind)
				if e.RequestID != tt.req.ID || e.Action != tt.req.Action || e.Time.IsZero() || e.Actor == "" {
					t.Errorf("event %s lacks request, action, time or actor: %+v", e.Kind, e)
				}
			}
			if diff := cmp.Diff(tt.wantEvents, kinds); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// applyPure runs the transition op on r and fails the test when op changed
// r: transitions are pure functions of their input.
func applyPure(t *testing.T, r Request, op func(Request) (Request, []Event, error)) (Request, []Event, error) {
	t.Helper()
	before := r.Clone()
	got, events, err := op(r)
	if diff := cmp.Diff(before, r); diff != "" {
		t.Fatalf("transition changed its input (-before +after):\n%s", diff)
	}
	return got, events, err
}

var helpdesk2 = Person{SlackID: "U0HELP9", Email: "agent@example.com"} // helpdesk by email

func TestTargetResultEvent(t *testing.T) {
	r := pending(withState(StateRunning), withTargets(target(bob, false)))
	got, events, err := r.RecordResult(0, TargetResult{Outcome: OutcomeFailed, Detail: "403 Forbidden (request-id abc)"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := Event{Time: t0, RequestID: "RTEST", Kind: EventTargetResult, Actor: BotActor, Action: ResetPassword,
		Target:  &TargetRef{SlackID: "U0BOB", Email: "bob@example.com", DirectoryID: "dir-U0BOB"},
		Outcome: "failed", Detail: "403 Forbidden (request-id abc)"}
	if diff := cmp.Diff([]Event{want}, events); diff != "" {
		t.Errorf("event (-want +got):\n%s", diff)
	}
	if got.Targets[0].Result == nil || got.Targets[0].Result.Outcome != OutcomeFailed {
		t.Errorf("result not recorded: %+v", got.Targets[0])
	}
}

func TestDraftValidate(t *testing.T) {
	pol := testPolicy(t)
	ok := Draft{Requester: helpdesk, Action: ResetPassword, Targets: []Person{bob}, Reason: "locked out"}
	tests := []struct {
		name  string
		mod   func(*Draft)
		field string
	}{
		{"valid", func(*Draft) {}, ""},
		{"unknown action", func(d *Draft) { d.Action = "wipe-device" }, FieldAction},
		{"action not in policy", func(d *Draft) { d.Action = BlockSignIn }, FieldAction},
		{"requester without role", func(d *Draft) { d.Requester = bob; d.Targets = []Person{helpdesk} }, FieldAction},
		{"no targets", func(d *Draft) { d.Targets = nil }, FieldTargets},
		{"too many targets", func(d *Draft) {
			d.Targets = []Person{{SlackID: "U1"}, {SlackID: "U2"}, {SlackID: "U3"}, {SlackID: "U4"}}
		}, FieldTargets},
		{"duplicate target", func(d *Draft) { d.Targets = []Person{bob, {SlackID: "UX", Email: "BOB@example.com"}} }, FieldTargets},
		{"self as target", func(d *Draft) { d.Targets = []Person{bob, helpdesk} }, FieldTargets},
		{"empty reason", func(d *Draft) { d.Reason = "   " }, FieldReason},
		{"long reason", func(d *Draft) { d.Reason = stringOf('x', MaxReasonLen+1) }, FieldReason},
		{"reason at limit", func(d *Draft) { d.Reason = stringOf('é', MaxReasonLen) }, ""},
		{"long ticket", func(d *Draft) { d.Ticket = stringOf('1', MaxTicketLen+1) }, FieldTicket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok
			tt.mod(&d)
			err := d.Validate(pol)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var v *ValidationError
			if !errors.As(err, &v) || v.Field(tt.field) == "" {
				t.Fatalf("err = %v, want a problem with %s", err, tt.field)
			}
		})
	}
}

func stringOf(r rune, n int) string {
	out := make([]rune, n)
	for i := range out {
		out[i] = r
	}
	return string(out)
}

func TestNewRequestPrivileged(t *testing.T) {
	pol := testPolicy(t)
	d := Draft{Requester: helpdesk, Action: ResetPassword, Targets: []Person{bob}, Reason: "locked out", Ticket: " INC-1 "}
	tests := []struct {
		name      string
		requester Person
		targets   []Target
		support   Support
		field     string
	}{
		{"ordinary", helpdesk, []Target{target(bob, false)}, Automated, ""},
		{"helpdesk on admin", helpdesk, []Target{target(bob, true)}, Automated, FieldTargets},
		{"privileged admin on admin", pauth, []Target{target(bob, true)}, Automated, ""},
		{"unsupported", helpdesk, []Target{target(bob, false)}, Unsupported, FieldAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := d
			d.Requester = tt.requester
			r, events, err := NewRequest(d, tt.targets, tt.support, pol, "R1", t0)
			if tt.field != "" {
				var v *ValidationError
				if !errors.As(err, &v) || v.Field(tt.field) == "" {
					t.Fatalf("err = %v, want a problem with %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.State != StatePending || !r.ExpiresAt.Equal(t0.Add(time.Hour)) || r.Ticket != "INC-1" || r.ApprovalsNeeded != 1 {
				t.Errorf("request = %+v", r)
			}
			if len(events) != 1 || events[0].Kind != EventCreated || len(events[0].Targets) != 1 ||
				events[0].Detail != "reason: locked out; ticket: INC-1" {
				t.Errorf("events = %+v", events)
			}
		})
	}
}
