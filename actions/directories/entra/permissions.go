package entra

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/mfadesk/mfadesk/actions"
)

// need is one thing mfadesk does in Graph and the application permissions
// that let it: any one of the sets in anyOf, each set wholly granted.
type need struct {
	what   string
	action actions.Action // "" when every enabled action needs it
	anyOf  [][]string
}

// The least privileged application permissions, as Microsoft's Graph v1.0
// reference pages give them (the "Permissions" table of each page; a later
// set in anyOf is a higher privileged permission that includes the first):
//
//   - "Get user" and "List users": User.Read.All.
//   - "List a user's memberships (direct and transitive)": User.Read.All (the
//     groups whose role assignments count for the user).
//   - "List unifiedRoleAssignments" (roleManagement/directory/roleAssignments):
//     RoleManagement.Read.Directory (Directory.Read.All and the ReadWrite
//     variants are higher).
//   - "List roleEligibilityScheduleInstances": RoleEligibilitySchedule.Read.Directory,
//     or RoleManagement.Read.Directory, which covers both lists and is what
//     the README asks for.
//   - "Update user", passwordProfile: User-PasswordProfile.ReadWrite.All
//     (User.ReadWrite.All, Directory.ReadWrite.All are higher). App-only
//     password resets also need a Microsoft Entra role on the app: User
//     Administrator, or Privileged Authentication Administrator for
//     administrators; Check cannot see roles.
//   - "Update user", accountEnabled: User.EnableDisableAccount.All with
//     User.Read.All (User.ReadWrite.All, Directory.ReadWrite.All are higher).
//     Disabling an administrator also needs a sufficiently privileged role.
//   - "user: revokeSignInSessions": User.RevokeSessions.All; the page lists no
//     higher application permission.
//   - "List methods" (authentication): UserAuthenticationMethod.Read.All;
//     "Delete phoneAuthenticationMethod", "Delete
//     microsoftAuthenticatorAuthenticationMethod", "Delete
//     emailAuthenticationMethod", "Delete fido2AuthenticationMethod", "Delete
//     temporaryAccessPassAuthenticationMethod" and the other per-type deletes:
//     UserAuthenticationMethod.ReadWrite.All, or the per-method
//     UserAuthMethod-Phone, -MicrosoftAuthApp, -Email, -Passkey (FIDO2),
//     -TAP, -SoftwareOATH, -WindowsHello, -PlatformCred .ReadWrite.All.
//   - "Create temporaryAccessPassMethod": UserAuthMethod-TAP.ReadWrite.All or
//     UserAuthenticationMethod.ReadWrite.All.
var needs = []need{
	{what: "read users", anyOf: [][]string{{"User.Read.All"}, {"User.ReadWrite.All"}, {"Directory.Read.All"}, {"Directory.ReadWrite.All"}}},
	{what: "read directory roles (privileged targets)", anyOf: [][]string{{"RoleManagement.Read.Directory"}, {"Directory.Read.All"},
		{"RoleManagement.ReadWrite.Directory"}, {"Directory.ReadWrite.All"}, {"RoleManagement.Read.All"}}},
	{what: "read PIM-eligible role assignments (privileged targets)", anyOf: [][]string{{"RoleManagement.Read.Directory"},
		{"RoleEligibilitySchedule.Read.Directory"}, {"RoleManagement.ReadWrite.Directory"},
		{"RoleEligibilitySchedule.ReadWrite.Directory"}, {"RoleManagement.Read.All"}}},
	{what: "reset passwords", action: actions.ResetPassword,
		anyOf: [][]string{{"User-PasswordProfile.ReadWrite.All"}, {"User.ReadWrite.All"}, {"Directory.ReadWrite.All"}}},
	{what: "remove authentication methods", action: actions.RequireReregisterMFA,
		anyOf: [][]string{{"UserAuthenticationMethod.ReadWrite.All"}, {
			"UserAuthenticationMethod.Read.All",
			"UserAuthMethod-Phone.ReadWrite.All", "UserAuthMethod-MicrosoftAuthApp.ReadWrite.All",
			"UserAuthMethod-SoftwareOATH.ReadWrite.All", "UserAuthMethod-Passkey.ReadWrite.All",
			"UserAuthMethod-WindowsHello.ReadWrite.All", "UserAuthMethod-PlatformCred.ReadWrite.All",
			"UserAuthMethod-Email.ReadWrite.All", "UserAuthMethod-TAP.ReadWrite.All",
		}}},
	{what: "revoke sign-in sessions", action: actions.RevokeMFASessions, anyOf: [][]string{{"User.RevokeSessions.All"}}},
	{what: "issue Temporary Access Passes", action: actions.IssueTemporaryAccessPass,
		anyOf: [][]string{{"UserAuthMethod-TAP.ReadWrite.All"}, {"UserAuthenticationMethod.ReadWrite.All"}}},
	{what: "block sign-in", action: actions.BlockSignIn,
		anyOf: [][]string{{"User.EnableDisableAccount.All"}, {"User.ReadWrite.All"}, {"Directory.ReadWrite.All"}}},
	{what: "unblock sign-in", action: actions.UnblockSignIn,
		anyOf: [][]string{{"User.EnableDisableAccount.All"}, {"User.ReadWrite.All"}, {"Directory.ReadWrite.All"}}},
}

// Check gets a Graph token and returns one line per application permission
// the token lacks for the enabled actions (reading users and directory roles
// is always needed), or a line saying why no token came. It returns nil when
// all is well. It never prints the token.
func (d *Directory) Check(ctx context.Context, enabled []actions.Action) []string {
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}})
	if err != nil {
		return []string{fmt.Sprintf("entra: cannot get a token for %s: %s", d.scope, credentialProblem(err))}
	}
	roles, err := tokenRoles(tok.Token)
	if err != nil {
		return []string{"entra: " + err.Error()}
	}
	on := make(map[actions.Action]bool, len(enabled))
	for _, a := range enabled {
		on[a] = true
	}
	var lines []string
	for _, n := range needs {
		if n.action != "" && !on[n.action] {
			continue
		}
		if satisfied(roles, n.anyOf) {
			continue
		}
		line := fmt.Sprintf("entra: missing application permission %s (to %s", n.anyOf[0][0], n.what)
		if n.action != "" {
			line += " for " + string(n.action)
		}
		if len(n.anyOf) > 1 {
			var alts []string
			for _, set := range n.anyOf[1:] {
				alts = append(alts, strings.Join(set, " + "))
			}
			line += "; or " + strings.Join(alts, ", or ")
		}
		lines = append(lines, line+"); grant it and give admin consent")
	}
	return lines
}

func satisfied(roles map[string]bool, anyOf [][]string) bool {
	for _, set := range anyOf {
		all := true
		for _, p := range set {
			if !roles[p] {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// tokenRoles reads the roles claim (the application permissions) of an
// access token. The signature is not verified, and needn't be: the token came
// straight from the credential over TLS, and it is only read to tell an
// administrator what to grant; Graph verifies it on every call.
func tokenRoles(token string) (map[string]bool, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("the Graph token is not a JWT; cannot read its permissions")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("cannot decode the Graph token's claims: %w", err)
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("cannot read the Graph token's claims: %w", err)
	}
	if len(claims.Roles) == 0 {
		return nil, errors.New("the Graph token has no application permissions (no roles claim): add Microsoft Graph application permissions to the app registration and grant admin consent")
	}
	roles := make(map[string]bool, len(claims.Roles))
	for _, r := range claims.Roles {
		roles[r] = true
	}
	return roles, nil
}
