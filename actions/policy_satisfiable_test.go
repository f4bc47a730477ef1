package actions

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPolicyUnsatisfiable(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"satisfiable", `
roles: {help: [U0H], auth: [U0A]}
actions:
  reset-password: {request: [help], approve: [auth]}
`, nil},
		{"role with no members", `
roles: {help: [U0H], auth: [U0A], spare: []}
actions:
  reset-password: {request: [help], approve: [auth]}
`, []string{"roles.spare has no members"}},
		{"no one may approve", `
roles: {help: [U0H], auth: []}
actions:
  reset-password: {request: [help], approve: [auth]}
`, []string{"roles.auth has no members", "actions.reset-password: no one may approve it (its approve roles have no members)"}},
		{"no one may request", `
roles: {help: [], auth: [U0A]}
actions:
  reset-password: {request: [help], approve: [auth]}
`, []string{"roles.help has no members", "actions.reset-password: no one may request it (its request roles have no members)"}},
		{"two approvals, one approver", `
roles: {help: [U0H], auth: [U0A]}
actions:
  reset-password: {request: [help], approve: [auth]}
approval: {approvals: 2}
`, []string{"actions.reset-password: approval.approvals is 2 but only 1 person may approve it"}},
		{"requested only by its own approvers", `
roles: {admins: [U0A, U0B]}
actions:
  revoke-mfa-sessions: {request: [admins], approve: [admins]}
approval: {approvals: 2}
`, []string{"actions.revoke-mfa-sessions: every requester is one of its approvers, so a request can get at most 1 of the 2 approvals it needs (a requester never approves their own request): U0A, U0B"}},
		{"own approvers, but enough of them", `
roles: {admins: [U0A, U0B]}
actions:
  revoke-mfa-sessions: {request: [admins], approve: [admins]}
`, nil},
		{"privileged roles too small", `
roles: {help: [U0H], auth: [U0A], glob: [U0G]}
actions:
  reset-password: {request: [help], approve: [auth]}
privileged: {roles: [glob]}
`, []string{"privileged.roles (for targets who hold an admin role): every requester is one of its approvers, so a request can get at most 0 of the 1 approvals it needs (a requester never approves their own request): U0G"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol, err := ParsePolicy("p.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, pol.Unsatisfiable()); diff != "" {
				t.Errorf("Unsatisfiable (-want +got):\n%s", diff)
			}
		})
	}
}
