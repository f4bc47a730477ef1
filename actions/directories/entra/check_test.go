package entra

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
)

func TestCheck(t *testing.T) {
	perMethod := []string{"User.Read.All", "Directory.Read.All", "RoleEligibilitySchedule.Read.Directory", "UserAuthenticationMethod.Read.All",
		"UserAuthMethod-Phone.ReadWrite.All", "UserAuthMethod-MicrosoftAuthApp.ReadWrite.All",
		"UserAuthMethod-SoftwareOATH.ReadWrite.All", "UserAuthMethod-Passkey.ReadWrite.All",
		"UserAuthMethod-WindowsHello.ReadWrite.All", "UserAuthMethod-PlatformCred.ReadWrite.All",
		"UserAuthMethod-Email.ReadWrite.All", "UserAuthMethod-TAP.ReadWrite.All"}
	for _, tc := range []struct {
		name    string
		roles   []string
		enabled []actions.Action
		want    []string // substrings, one per line
	}{
		{"everything granted", fakegraph.AllRoles, actions.AllActions(), nil},
		{"nothing enabled still reads users and roles", []string{"User.Read.All"}, nil,
			[]string{"missing application permission RoleManagement.Read.Directory (to read directory roles",
				"missing application permission RoleManagement.Read.Directory (to read PIM-eligible role assignments"}},
		{"only what is enabled", []string{"User.Read.All", "RoleManagement.Read.Directory", "User.RevokeSessions.All"},
			[]actions.Action{actions.RevokeMFASessions, actions.DeleteAppPasswords}, nil},
		{"missing per action", []string{"User.Read.All", "RoleManagement.Read.Directory"},
			[]actions.Action{actions.ResetPassword, actions.RevokeMFASessions, actions.IssueTemporaryAccessPass, actions.BlockSignIn},
			[]string{
				"User-PasswordProfile.ReadWrite.All (to reset passwords for reset-password; or User.ReadWrite.All, or Directory.ReadWrite.All)",
				"User.RevokeSessions.All (to revoke sign-in sessions for revoke-mfa-sessions)",
				"UserAuthMethod-TAP.ReadWrite.All (to issue Temporary Access Passes for issue-temporary-access-pass; or UserAuthenticationMethod.ReadWrite.All)",
				"User.EnableDisableAccount.All (to block sign-in for block-sign-in",
			}},
		{"Directory.Read.All does not read PIM eligibilities", []string{"Directory.Read.All"}, nil,
			[]string{"missing application permission RoleManagement.Read.Directory (to read PIM-eligible role assignments"}},
		{"higher permissions count", []string{"Directory.ReadWrite.All", "RoleManagement.Read.All", "UserAuthenticationMethod.ReadWrite.All"},
			[]actions.Action{actions.ResetPassword, actions.BlockSignIn, actions.UnblockSignIn, actions.IssueTemporaryAccessPass, actions.RequireReregisterMFA}, nil},
		{"per-method permissions cover re-registration", perMethod,
			[]actions.Action{actions.RequireReregisterMFA, actions.IssueTemporaryAccessPass}, nil},
		{"one per-method permission short", perMethod[:len(perMethod)-2],
			[]actions.Action{actions.RequireReregisterMFA},
			[]string{"UserAuthenticationMethod.ReadWrite.All (to remove authentication methods for require-reregister-mfa; or UserAuthenticationMethod.Read.All + UserAuthMethod-Phone"}},
		{"no roles claim", nil, actions.AllActions(), []string{"no application permissions (no roles claim)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _, _ := setup(t, func(c *Config) { c.Credential = staticCred{token: fakegraph.Token(tc.roles...)} })
			got := d.Check(context.Background(), tc.enabled)
			if len(got) != len(tc.want) {
				t.Fatalf("Check = %s\nwant %d lines", strings.Join(got, "\n"), len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) || !strings.HasPrefix(got[i], "entra: ") {
					t.Errorf("line %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestCheckBadTokens(t *testing.T) {
	for _, tc := range []struct {
		name string
		cred staticCred
		want string
	}{
		{"refused credential", staticCred{err: errors.New("AADSTS700016: application not found")},
			"entra: cannot get a token for http://"},
		{"opaque token", staticCred{token: "not-a-jwt"}, "entra: the Graph token is not a JWT"},
		{"garbled claims", staticCred{token: "a.%%%.c"}, "entra: cannot decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _, _ := setup(t, func(c *Config) { c.Credential = tc.cred })
			got := d.Check(context.Background(), actions.AllActions())
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("Check = %q, want one line starting %q", got, tc.want)
			}
		})
	}
}

func TestTokenRoles(t *testing.T) {
	roles, err := tokenRoles(fakegraph.Token("User.Read.All", "User.RevokeSessions.All"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]bool{"User.Read.All": true, "User.RevokeSessions.All": true}, roles); diff != "" {
		t.Error(diff)
	}
}
