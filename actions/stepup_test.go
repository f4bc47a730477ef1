package actions

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func stepUpPolicy(t *testing.T) *Policy {
	t.Helper()
	p := testPolicy(t)
	rule := p.Actions[ResetPassword]
	rule.StepUp = true
	p.Actions[ResetPassword] = rule
	return p
}

func TestParsePolicyStepUp(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []Action
		maxAge  time.Duration
		wantErr string
	}{
		{"on one action, max age set", `
roles: {a: [U0AAA], b: [U0BBB]}
actions:
  reset-password: {request: [a], approve: [b], step_up: true}
  revoke-mfa-sessions: {request: [a], approve: [b], step_up: false}
approval: {step_up_max_age: 10m}
`, []Action{ResetPassword}, 10 * time.Minute, ""},
		{"default max age, none", `
roles: {a: [U0AAA], b: [U0BBB]}
actions: {reset-password: {request: [a], approve: [b]}}
`, nil, DefaultStepUpMaxAge, ""},
		{"not a boolean", `
roles: {a: [U0AAA], b: [U0BBB]}
actions: {reset-password: {request: [a], approve: [b], step_up: maybe}}
`, nil, 0, `test.yaml:3: actions.reset-password.step_up must be true or false, not "maybe"`},
		{"max age too long", `
roles: {a: [U0AAA], b: [U0BBB]}
actions: {reset-password: {request: [a], approve: [b]}}
approval: {step_up_max_age: 2h}
`, nil, 0, `test.yaml:4: approval.step_up_max_age must be a duration from 1m to 1h such as 5m, not "2h"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy("test.yaml", []byte(tt.yaml))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.StepUpActions(); len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("StepUpActions %v, want %v", got, tt.want)
			}
			if p.StepUpMaxAge != tt.maxAge {
				t.Errorf("StepUpMaxAge %s, want %s", p.StepUpMaxAge, tt.maxAge)
			}
		})
	}
}

func TestStepUpCheck(t *testing.T) {
	click := t0.Add(10 * time.Minute)
	now := click.Add(time.Minute)
	att := StepUp{Approver: auth1, ApproverDirectoryID: "00uAUTH1", CreatedAt: click}
	entra := StepUp{Approver: auth1, ApproverDirectoryID: "6F1C2A9E-0000-4000-8000-000000000001", CreatedAt: click}
	noDir := StepUp{Approver: auth1, CreatedAt: click}
	good := SignIn{Subject: "00uAUTH1", Email: auth1.Email, EmailVerified: true, AMR: []string{"pwd", "mfa"}, AuthTime: click.Add(20 * time.Second)}
	with := func(mod func(*SignIn)) SignIn { s := good; mod(&s); return s }
	rule := StepUpRule{MaxAge: 5 * time.Minute}
	acr := StepUpRule{MaxAge: 5 * time.Minute, ACR: "c1"}
	tests := []struct {
		name string
		att  StepUp
		in   SignIn
		rule StepUpRule
		want StepUpProblem // "" for success
	}{
		{"fresh MFA by the approver", att, good, rule, ""},
		{"auth_time cut to whole seconds just before the click", att, with(func(s *SignIn) { s.AuthTime = click.Add(-time.Second) }), rule, ""},
		{"no mfa in amr", att, with(func(s *SignIn) { s.AMR = []string{"pwd"} }), rule, StepUpNoMFA},
		{"no amr at all", att, with(func(s *SignIn) { s.AMR = nil }), rule, StepUpNoMFA},
		{"stale: before the click", att, with(func(s *SignIn) { s.AuthTime = click.Add(-10 * time.Minute) }), StepUpRule{MaxAge: 20 * time.Minute}, StepUpStale},
		{"stale: beyond max age", att, with(func(s *SignIn) { s.AuthTime = now.Add(-6 * time.Minute) }), rule, StepUpStale},
		{"no auth_time", att, with(func(s *SignIn) { s.AuthTime = time.Time{} }), rule, StepUpStale},
		{"auth_time in the future", att, with(func(s *SignIn) { s.AuthTime = now.Add(time.Hour) }), rule, StepUpStale},
		{"another user", att, with(func(s *SignIn) { s.Subject = "00uOTHER" }), rule, StepUpWrongPerson},
		{"another user with the approver's email", att, with(func(s *SignIn) { s.Subject = "00uOTHER" }), rule, StepUpWrongPerson},
		{"Entra oid, case-insensitive", entra, with(func(s *SignIn) { s.Subject = "pairwise"; s.ObjectID = "6f1c2a9e-0000-4000-8000-000000000001" }), rule, ""},
		{"Entra: oid decides, not sub", entra, with(func(s *SignIn) { s.Subject = entra.ApproverDirectoryID; s.ObjectID = "other" }), rule, StepUpWrongPerson},
		{"acr required and present", att, with(func(s *SignIn) { s.AMR = nil; s.ACR = "c1" }), acr, ""},
		{"acr required, found in acrs", entra, with(func(s *SignIn) { s.ObjectID = entra.ApproverDirectoryID; s.ACRS = []string{"c2", "c1"} }), acr, ""},
		{"acr required, mfa in amr is not enough", att, good, acr, StepUpNoMFA},
		{"no directory ID: verified email matches", noDir, with(func(s *SignIn) { s.Email = "AUTH1@example.com" }), rule, ""},
		{"no directory ID: email not verified", noDir, with(func(s *SignIn) { s.EmailVerified = false }), rule, StepUpWrongPerson},
		{"no directory ID: other email", noDir, with(func(s *SignIn) { s.Email = "mallory@example.com" }), rule, StepUpWrongPerson},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.att.Check(tt.in, tt.rule, now)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var se *StepUpError
			if !errors.As(err, &se) || se.Problem != tt.want || !errors.Is(err, ErrForbidden) {
				t.Fatalf("error %v, want a %s StepUpError wrapping ErrForbidden", err, tt.want)
			}
		})
	}
}

func TestApproveStepUp(t *testing.T) {
	pol := stepUpPolicy(t)
	now := t0.Add(time.Minute)
	r := pending()
	att, token := NewStepUp(r, auth1, "00uAUTH1", now)
	if token == "" || att.TokenHash != HashSecret(token) || strings.Contains(att.TokenHash, token) || att.ExpiresAt != now.Add(StepUpLinkTTL) {
		t.Fatalf("NewStepUp: %+v", att)
	}
	in := SignIn{Subject: "00uAUTH1", AMR: []string{"pwd", "mfa"}, AuthTime: now}

	// A plain click on a step_up action does not approve.
	if _, _, err := r.Approve(pol, auth1, now); !errors.Is(err, ErrStepUpRequired) {
		t.Fatalf("Approve on a step_up action: %v, want ErrStepUpRequired", err)
	}
	// The usual refusals come first.
	if _, _, err := r.Approve(pol, helpdesk, now); !errors.Is(err, ErrForbidden) {
		t.Fatalf("Approve by the requester: %v, want ErrForbidden", err)
	}

	n, evs, err := r.ApproveStepUp(pol, att, in, now)
	if err != nil {
		t.Fatal(err)
	}
	if n.State != StateApproved || len(evs) != 1 || evs[0].Kind != EventApproved || evs[0].Actor != auth1.SlackID {
		t.Fatalf("got %s with %+v", n.State, evs)
	}
	const wantDetail = "approval 1 of 1; step-up sign-in: sub=00uAUTH1 amr=pwd,mfa auth_time=2026-11-23T09:01:00Z"
	if evs[0].Detail != wantDetail {
		t.Errorf("detail %q, want %q", evs[0].Detail, wantDetail)
	}

	tests := []struct {
		name string
		r    Request
		att  StepUp
		want error
	}{
		{"targets changed", pending(withTargets(target(auth2, false))), att, ErrForbidden},
		{"decided meanwhile", pending(withState(StateDenied)), att, ErrConflict},
		{"approved by them already", n, att, ErrConflict},
		{"expired", pending(func(r *Request) { r.ExpiresAt = now }), att, ErrExpired},
		{"approver lost the role", r, func() StepUp { a := att; a.Approver = bob; return a }(), ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := tt.r.ApproveStepUp(pol, tt.att, in, now); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}
