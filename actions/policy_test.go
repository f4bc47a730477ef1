package actions

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParsePolicyContractExample(t *testing.T) {
	pol := testPolicy(t)
	if pol.Approvals != 1 || pol.TTL != time.Hour || pol.MaxTargets != 3 {
		t.Errorf("numbers = %d %s %d", pol.Approvals, pol.TTL, pol.MaxTargets)
	}
	if got := pol.Roles["helpdesk"]; !cmp.Equal(got, []string{"U0HELP1", "agent@example.com"}) {
		t.Errorf("helpdesk members = %v", got)
	}
	if diff := cmp.Diff([]Action{ResetPassword, RequireReregisterMFA, RevokeMFASessions, DeleteAppPasswords}, pol.Enabled()); diff != "" {
		t.Errorf("enabled (-want +got):\n%s", diff)
	}
}

func TestParsePolicyDefaults(t *testing.T) {
	pol, err := ParsePolicy("p.yaml", []byte("roles: {a: [U0A]}\nactions:\n  block-sign-in: {request: [a], approve: [a]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if pol.Approvals != DefaultApprovals || pol.TTL != DefaultTTL || pol.MaxTargets != DefaultMaxTargets {
		t.Errorf("defaults = %d %s %d", pol.Approvals, pol.TTL, pol.MaxTargets)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	base := "roles:\n  a: [U0A]\nactions:\n  reset-password: {request: [a], approve: [a]}\n"
	tests := []struct {
		name string
		yaml string
		want []string // substrings of the error, each with file and line
	}{
		{"unknown top key", base + "approvers: 2\n", []string{`p.yaml:5: unknown key "approvers" in the policy`}},
		{"unknown action", base + "  wipe-device: {request: [a], approve: [a]}\n", []string{`p.yaml:5: actions: unknown action "wipe-device"`}},
		{"unknown role in action", "roles:\n  a: [U0A]\nactions:\n  reset-password: {request: [a], approve: [b]}\n", []string{`p.yaml:4: unknown role "b"`}},
		{"unknown rule key", "roles:\n  a: [U0A]\nactions:\n  reset-password: {request: [a], approve: [a], deny: [a]}\n", []string{`p.yaml:4: unknown key "deny" in actions.reset-password`}},
		{"missing approve", "roles:\n  a: [U0A]\nactions:\n  reset-password: {request: [a]}\n", []string{`p.yaml:4: actions.reset-password: approve must name at least one role`}},
		{"bad member", "roles:\n  a: [U0A, bob]\n", []string{`p.yaml:2: roles.a: "bob" is neither`}},
		{"bad approvals", base + "approval:\n  approvals: zero\n", []string{`p.yaml:6: approval.approvals must be a whole number`}},
		{"bad ttl", base + "approval:\n  ttl: soon\n", []string{`p.yaml:6: approval.ttl must be a duration`}},
		{"unknown approval key", base + "approval:\n  quorum: 2\n", []string{`p.yaml:6: unknown key "quorum" in approval`}},
		{"bad max_targets", base + "limits:\n  max_targets: -1\n", []string{`p.yaml:6: limits.max_targets`}},
		{"unknown privileged role", base + "privileged:\n  roles: [root]\n", []string{`p.yaml:6: unknown role "root"`}},
		{"several at once", base + "approvers: 2\nlimits: {max: 1}\n", []string{`p.yaml:5: unknown key "approvers"`, `p.yaml:6: unknown key "max" in limits`}},
		{"not yaml", "roles: [", []string{"p.yaml"}},
		{"empty", "", []string{"p.yaml: the policy file is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantPolicyError(t, tt.yaml, tt.want) })
	}
}

// wantPolicyError checks that the policy in yaml, as file p.yaml, is
// refused with an error holding each of want.
func wantPolicyError(t *testing.T, yaml string, want []string) {
	t.Helper()
	_, err := ParsePolicy("p.yaml", []byte(yaml))
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q\nlacks %q", err, w)
		}
	}
}

func TestPolicyRoles(t *testing.T) {
	pol := testPolicy(t)
	tests := []struct {
		name             string
		p                Person
		a                Action
		privileged       bool
		request, approve bool
	}{
		{"helpdesk by id", helpdesk, ResetPassword, false, true, false},
		{"helpdesk by email, any case", Person{SlackID: "UZZ", Email: "Agent@Example.com"}, ResetPassword, false, true, false},
		{"helpdesk on admin", helpdesk, ResetPassword, true, false, false},
		{"auth admin", auth1, RevokeMFASessions, false, true, true},
		{"auth admin on admin", auth1, RevokeMFASessions, true, false, false},
		{"privileged auth admin on admin", pauth, RevokeMFASessions, true, true, true},
		{"privileged auth admin on ordinary", pauth, RevokeMFASessions, false, false, false},
		{"global admin", glob, ResetPassword, false, false, true},
		{"action not in policy", glob, BlockSignIn, false, false, false},
		{"stranger", bob, ResetPassword, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pol.CanRequest(tt.p, tt.a, tt.privileged); got != tt.request {
				t.Errorf("CanRequest = %v, want %v", got, tt.request)
			}
			if got := pol.CanApprove(tt.p, tt.a, tt.privileged); got != tt.approve {
				t.Errorf("CanApprove = %v, want %v", got, tt.approve)
			}
		})
	}
	if diff := cmp.Diff([]Action{ResetPassword, RequireReregisterMFA, RevokeMFASessions, DeleteAppPasswords}, pol.Requestable(helpdesk)); diff != "" {
		t.Errorf("Requestable(helpdesk) (-want +got):\n%s", diff)
	}
}
