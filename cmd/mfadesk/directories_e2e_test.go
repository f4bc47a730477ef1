package main

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/actions/directories/google/fakegoogle"
	"github.com/mfadesk/mfadesk/actions/directories/okta/fakeokta"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// The end-to-end tests below run `mfadesk serve` as a child process against
// bot/fakeslack and one fake directory, and drive it only as Slack would:
// signed slash commands, view submissions and button clicks. Every flow
// asks for one action on its own user; the flows of a directory run side
// by side, so that one directory takes about as long as its slowest flow.

const (
	e2eSecret   = "e2e-signing-secret"
	e2eChannel  = "C0APPROVE"
	e2eHelpdesk = "U0HELP1" // requests
	e2eApprover = "U0AUTH1" // approves, and marks manual steps
)

// The fake Entra tenant's app registration.
const entraTenant, entraClient, entraSecret = "11111111-2222-3333-4444-555555555555", "66666666-7777-8888-9999-000000000000", "e2e-client-secret-value"

// fakeEntra starts the fake Graph and its TLS token authority, and returns
// them with the environment that points mfadesk at them: the child trusts
// the authority through SSL_CERT_FILE.
func fakeEntra(t *testing.T) (*fakegraph.Server, *fakegraph.Authority, env) {
	t.Helper()
	g := fakegraph.New(t)
	auth := fakegraph.NewAuthority(t, entraTenant, g.Token())
	ca := filepath.Join(t.TempDir(), "authority.pem")
	if err := os.WriteFile(ca, auth.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return g, auth, env{
		"MFADESK_DIRECTORY": "entra", "MFADESK_GRAPH_URL": g.URL(), "SSL_CERT_FILE": ca,
		"AZURE_AUTHORITY_HOST": auth.URL(), "AZURE_TENANT_ID": entraTenant, "AZURE_CLIENT_ID": entraClient, "AZURE_CLIENT_SECRET": entraSecret,
	}
}

// TestEntraEndToEnd: MFADESK_DIRECTORY=entra against the fake Graph, with
// app-only tokens from a local TLS authority that the child trusts through
// SSL_CERT_FILE.
func TestEntraEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		g, auth, dirEnv := fakeEntra(t)
		user := func(upn string, mods ...func(*fakegraph.User)) fakegraph.User {
			u := fakegraph.User{UPN: upn, Mail: upn, DisplayName: upn, AccountEnabled: true}
			for _, m := range mods {
				m(&u)
			}
			return g.AddUser(u)
		}
		rita, remy, rosa := user("rita@example.com"), user("remy@example.com", func(u *fakegraph.User) {
			u.Methods = []*fakegraph.Method{{ID: "p-1", Type: "phoneAuthenticationMethod", PhoneType: "mobile"},
				{ID: "app-1", Type: "microsoftAuthenticatorAuthenticationMethod", Name: "Pixel"}}
			u.DefaultMethod = "p-1"
		}), user("rosa@example.com")
		tara, bea, uma := user("tara@example.com"), user("bea@example.com"), user("uma@example.com", func(u *fakegraph.User) { u.AccountEnabled = false })
		dora, theo, fred := user("dora@example.com"), user("theo@example.com"), user("fred@example.com")
		g.Inject("/users/"+theo.ID+"/revokeSignInSessions", 429, "1", 1)
		g.Inject("PATCH /users/"+fred.ID, 403, "", 1)

		flows := []*flow{
			{name: "reset-password", action: actions.ResetPassword, email: rita.UPN, dirID: rita.ID, detail: "password", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, g.Calls(), "PATCH /users/"+rita.ID)
					if u := g.User(rita.ID); u.Password == "" || !u.ForceChange {
						t.Errorf("password %q, force change %v", u.Password, u.ForceChange)
					}
				}, secret: func() string { return g.User(rita.ID).Password }},
			{name: "require-reregister-mfa", action: actions.RequireReregisterMFA, email: remy.UPN, dirID: remy.ID, detail: "removed 2 of 2",
				check: func(t *testing.T) {
					wantCalls(t, g.Calls(), "GET /users/"+remy.ID+"/authentication/methods",
						"DELETE /users/"+remy.ID+"/authentication/microsoftAuthenticatorMethods/app-1",
						"DELETE /users/"+remy.ID+"/authentication/phoneMethods/p-1")
					if left := g.MethodTypes(remy.ID); len(left) != 0 {
						t.Errorf("methods left: %v", left)
					}
				}},
			{name: "revoke-mfa-sessions", action: actions.RevokeMFASessions, email: rosa.UPN, dirID: rosa.ID, detail: "revoked", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, g.Calls(), "POST /users/"+rosa.ID+"/revokeSignInSessions")
					if n := g.User(rosa.ID).Revoked; n != 1 {
						t.Errorf("revoked %d times", n)
					}
				}},
			{name: "issue-temporary-access-pass", action: actions.IssueTemporaryAccessPass, email: tara.UPN, dirID: tara.ID, detail: "Temporary Access Pass", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, g.Calls(), "POST /users/"+tara.ID+"/authentication/temporaryAccessPassMethods")
				}, secret: func() string {
					for _, m := range g.User(tara.ID).Methods {
						if m.Type == "temporaryAccessPassAuthenticationMethod" {
							return m.Secret
						}
					}
					return ""
				}},
			{name: "block-sign-in", action: actions.BlockSignIn, email: bea.UPN, dirID: bea.ID, detail: "sign-in blocked", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, g.Calls(), "PATCH /users/"+bea.ID)
					if g.User(bea.ID).AccountEnabled {
						t.Error("still enabled")
					}
				}},
			{name: "unblock-sign-in", action: actions.UnblockSignIn, email: uma.UPN, dirID: uma.ID, detail: "unblocked", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, g.Calls(), "PATCH /users/"+uma.ID)
					if !g.User(uma.ID).AccountEnabled {
						t.Error("still disabled")
					}
				}},
			{name: "delete-app-passwords is a manual step", action: actions.DeleteAppPasswords, email: dora.UPN, dirID: dora.ID,
				manual: true, detail: "manual step marked done",
				check: func(t *testing.T) {
					for _, c := range g.Calls() {
						if strings.Contains(c, dora.ID) && !strings.HasPrefix(c, "GET ") {
							t.Errorf("Graph changed the user of a manual step: %s", c)
						}
					}
				}},
			{name: "throttled once", action: actions.RevokeMFASessions, email: theo.UPN, dirID: theo.ID, detail: "revoked", requestID: true,
				check: func(t *testing.T) {
					if n := calls(g.Calls(), "/users/"+theo.ID+"/revokeSignInSessions"); n != 2 {
						t.Errorf("%d revokeSignInSessions calls, want the 429 and one more", n)
					}
					if n := g.User(theo.ID).Revoked; n != 1 {
						t.Errorf("revoked %d times", n)
					}
				}},
			{name: "refused", action: actions.BlockSignIn, email: fred.UPN, dirID: fred.ID, fail: true,
				detail: "403 Forbidden Authorization_RequestDenied", requestID: true,
				check: func(t *testing.T) {
					if !g.User(fred.ID).AccountEnabled {
						t.Error("blocked although Graph refused")
					}
				}},
		}
		h := startE2E(t, db, dirEnv, []actions.Action{actions.ResetPassword, actions.RequireReregisterMFA, actions.RevokeMFASessions,
			actions.IssueTemporaryAccessPass, actions.BlockSignIn, actions.UnblockSignIn, actions.DeleteAppPasswords}, flows)
		h.run(flows)
		h.finish(flows)
		if len(auth.Forms()) == 0 {
			t.Error("no token request reached the authority")
		}

		h.wantCheckOK(runMain) // in a process of its own for SSL_CERT_FILE
		lacking := fakegraph.Token(slices.DeleteFunc(slices.Clone(fakegraph.AllRoles), func(r string) bool { return r == "User.RevokeSessions.All" })...)
		auth.SetToken(lacking)
		g.SetToken(lacking)
		code, out, _ := runMain(t, h.env, "check")
		if code != 1 || !strings.Contains(out, "MFADESK_DIRECTORY=entra: entra: missing application permission User.RevokeSessions.All") ||
			strings.Contains(out, "\nok") || strings.Contains(out, entraSecret) {
			t.Errorf("check with a token lacking User.RevokeSessions.All: exit %d\n%s", code, out)
		}

		// Entra has no admin-initiated push: check refuses a policy whose
		// caller verification lists it.
		pushPolicy := filepath.Join(t.TempDir(), "push.yaml")
		if err := os.WriteFile(pushPolicy, []byte("roles: {a: [U0A], b: [U0B]}\nactions:\n  reset-password: {request: [a], approve: [b], verify: [target, push]}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, _ = runMain(t, h.env.with("MFADESK_POLICY_FILE", pushPolicy), "check")
		if code != 1 || !strings.Contains(out, "policy: actions.reset-password.verify lists push, which the entra directory cannot do") {
			t.Errorf("check with push on Entra: exit %d\n%s", code, out)
		}
	})
}

// TestGoogleEndToEnd: MFADESK_DIRECTORY=google against the fake Admin SDK,
// with delegated tokens from the fake's JWT endpoint (the key's token_uri),
// delete-app-passwords included.
func TestGoogleEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		f := fakegoogle.New(t, &key.PublicKey)
		keyJSON, err := fakegoogle.ServiceAccountKey(key, "mfadesk@project.iam.gserviceaccount.com", "kid-e2e", f.TokenURL())
		if err != nil {
			t.Fatal(err)
		}
		keyFile := filepath.Join(t.TempDir(), "key.json")
		if err := os.WriteFile(keyFile, keyJSON, 0o600); err != nil {
			t.Fatal(err)
		}
		f.AddUser(fakegoogle.User{ID: "100", Email: "admin@example.com", FullName: "Ada Admin", Admin: true})
		n := 200
		user := func(email string, mods ...func(*fakegoogle.User)) string {
			n++
			u := fakegoogle.User{ID: fmt.Sprint(n), Email: email, FullName: email}
			for _, m := range mods {
				m(&u)
			}
			f.AddUser(u)
			return u.ID
		}
		const api = "/admin/directory/v1/users/"
		rita := user("rita@example.com")
		remy := user("remy@example.com", func(u *fakegoogle.User) { u.Enrolled2SV, u.Enforced2SV, u.BackupCodesValid = true, true, true })
		rosa := user("rosa@example.com")
		ada := user("ada@example.com", func(u *fakegoogle.User) {
			u.ASPs = []fakegoogle.ASP{{CodeID: 31, Name: "Thunderbird"}, {CodeID: 32, Name: "iPhone Mail"}}
		})
		bea := user("bea@example.com")
		uma := user("uma@example.com", func(u *fakegoogle.User) { u.Suspended, u.SuspensionReason = true, "ADMIN" })
		theo, fred := user("theo@example.com"), user("fred@example.com")
		f.FailNext("POST "+api+theo+"/signOut", fakegoogle.Failure{Status: 429, Reason: "rateLimitExceeded", Message: "Rate Limit Exceeded",
			Header: http.Header{"Retry-After": {"1"}}})
		f.FailNext("PUT "+api+fred, fakegoogle.Failure{Status: 403, Reason: "forbidden", Message: "Not Authorized to access this resource/api"})

		flows := []*flow{
			{name: "reset-password", action: actions.ResetPassword, email: "rita@example.com", dirID: rita, detail: "temporary password",
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "PUT "+api+rita)
					if u := f.User(rita); u.Password == "" || !u.ChangeAtNext {
						t.Errorf("password %q, change at next login %v", u.Password, u.ChangeAtNext)
					}
				}, secret: func() string { return f.User(rita).Password }},
			{name: "require-reregister-mfa", action: actions.RequireReregisterMFA, email: "remy@example.com", dirID: remy, detail: "2SV",
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "POST "+api+remy+"/twoStepVerification/turnOff", "POST "+api+remy+"/verificationCodes/invalidate")
					if u := f.User(remy); u.Enrolled2SV || u.BackupCodesValid {
						t.Errorf("2SV %v, backup codes valid %v", u.Enrolled2SV, u.BackupCodesValid)
					}
				}},
			{name: "revoke-mfa-sessions", action: actions.RevokeMFASessions, email: "rosa@example.com", dirID: rosa, detail: "signed out",
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "POST "+api+rosa+"/signOut")
					if n := f.User(rosa).SignOuts; n != 1 {
						t.Errorf("signed out %d times", n)
					}
				}},
			{name: "delete-app-passwords", action: actions.DeleteAppPasswords, email: "ada@example.com", dirID: ada,
				detail: `deleted 2 app password(s): "Thunderbird", "iPhone Mail"`,
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "GET "+api+ada+"/asps", "DELETE "+api+ada+"/asps/31", "DELETE "+api+ada+"/asps/32")
					if left := f.User(ada).ASPs; len(left) != 0 {
						t.Errorf("app passwords left: %v", left)
					}
				}},
			{name: "block-sign-in", action: actions.BlockSignIn, email: "bea@example.com", dirID: bea, detail: "suspended",
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "PUT "+api+bea)
					if !f.User(bea).Suspended {
						t.Error("not suspended")
					}
				}},
			{name: "unblock-sign-in", action: actions.UnblockSignIn, email: "uma@example.com", dirID: uma, detail: "unsuspended",
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "PUT "+api+uma)
					if f.User(uma).Suspended {
						t.Error("still suspended")
					}
				}},
			{name: "throttled once", action: actions.RevokeMFASessions, email: "theo@example.com", dirID: theo, detail: "signed out",
				check: func(t *testing.T) {
					if n := calls(f.Calls(), "POST "+api+theo+"/signOut"); n != 2 {
						t.Errorf("%d signOut calls, want the 429 and one more", n)
					}
					if n := f.User(theo).SignOuts; n != 1 {
						t.Errorf("signed out %d times", n)
					}
				}},
			{name: "refused", action: actions.BlockSignIn, email: "fred@example.com", dirID: fred, fail: true,
				detail: "403 Forbidden forbidden: Not Authorized to access this resource/api",
				check: func(t *testing.T) {
					if f.User(fred).Suspended {
						t.Error("suspended although Google refused")
					}
				}},
		}
		dirEnv := env{"MFADESK_DIRECTORY": "google", "MFADESK_GOOGLE_CREDENTIALS": keyFile,
			"MFADESK_GOOGLE_ADMIN": "admin@example.com", "MFADESK_GOOGLE_API_URL": f.URL()}
		h := startE2E(t, db, dirEnv, []actions.Action{actions.ResetPassword, actions.RequireReregisterMFA, actions.RevokeMFASessions,
			actions.DeleteAppPasswords, actions.BlockSignIn, actions.UnblockSignIn}, flows)
		h.run(flows)
		h.finish(flows)
		if len(f.TokenRequests()) == 0 {
			t.Error("no token request reached the token endpoint")
		}
		h.wantCheckOK(runCmd)
	})
}

// TestOktaEndToEnd: MFADESK_DIRECTORY=okta against the OpenAPI-checked fake
// org.
func TestOktaEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		f := fakeokta.New(t)
		f.AddUser(fakeokta.User{ID: "00uadmin", Login: "admin@example.com", Email: "admin@example.com", Roles: []string{"SUPER_ADMIN"}})
		f.SetMe("00uadmin")
		f.SetResetIn(time.Second) // a 429 waits for the window's reset: a second
		user := func(id, email string, mods ...func(*fakeokta.User)) string {
			u := fakeokta.User{ID: id, Login: email, Email: email}
			for _, m := range mods {
				m(&u)
			}
			f.AddUser(u)
			return id
		}
		const api = "/api/v1/users/"
		rita, remy := user("00urita", "rita@example.com"), user("00uremy", "remy@example.com", func(u *fakeokta.User) { u.Factors = []string{"push", "sms"} })
		rosa, bea := user("00urosa", "rosa@example.com"), user("00ubea", "bea@example.com")
		uma := user("00uuma", "uma@example.com", func(u *fakeokta.User) { u.Status = "SUSPENDED" })
		theo, fred := user("00utheo", "theo@example.com"), user("00ufred", "fred@example.com")
		f.FailNext("DELETE "+api+theo+"/sessions", fakeokta.Failure{Status: 429, Code: "E0000047",
			Detail: "API call exceeded rate limit due to too many requests.", Header: http.Header{"X-Rate-Limit-Remaining": {"0"}}})
		f.FailNext("POST "+api+fred+"/lifecycle/suspend", fakeokta.Failure{Status: 403, Code: "E0000006",
			Detail: "You do not have permission to perform the requested action"})
		status := func(t *testing.T, id, want string) {
			t.Helper()
			if got := f.User(id).Status; got != want {
				t.Errorf("status %s, want %s", got, want)
			}
		}
		const sessions = "/sessions?forgetDevices=true&oauthTokens=true"
		flows := []*flow{
			{name: "reset-password", action: actions.ResetPassword, email: "rita@example.com", dirID: rita, detail: "temporary password", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "POST "+api+rita+"/lifecycle/expire_password_with_temp_password")
					status(t, rita, "PASSWORD_EXPIRED")
				}, secret: func() string { return f.User(rita).TempPassword }},
			{name: "require-reregister-mfa", action: actions.RequireReregisterMFA, email: "remy@example.com", dirID: remy, detail: "factors reset", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "POST "+api+remy+"/lifecycle/reset_factors")
					if fs := f.User(remy).Factors; len(fs) != 0 {
						t.Errorf("factors left: %v", fs)
					}
				}},
			{name: "revoke-mfa-sessions", action: actions.RevokeMFASessions, email: "rosa@example.com", dirID: rosa,
				detail: "remembered devices forgotten", requestID: true,
				check: func(t *testing.T) { wantCalls(t, f.Calls(), "DELETE "+api+rosa+sessions) }},
			{name: "block-sign-in", action: actions.BlockSignIn, email: "bea@example.com", dirID: bea, detail: "suspended", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "POST "+api+bea+"/lifecycle/suspend")
					status(t, bea, "SUSPENDED")
				}},
			{name: "unblock-sign-in", action: actions.UnblockSignIn, email: "uma@example.com", dirID: uma, detail: "unsuspended", requestID: true,
				check: func(t *testing.T) {
					wantCalls(t, f.Calls(), "POST "+api+uma+"/lifecycle/unsuspend")
					status(t, uma, "ACTIVE")
				}},
			{name: "throttled once", action: actions.RevokeMFASessions, email: "theo@example.com", dirID: theo,
				detail: "remembered devices forgotten", requestID: true,
				check: func(t *testing.T) {
					if n := calls(f.Calls(), "DELETE "+api+theo+sessions); n != 2 {
						t.Errorf("%d session deletions, want the 429 and one more", n)
					}
				}},
			{name: "refused", action: actions.BlockSignIn, email: "fred@example.com", dirID: fred, fail: true,
				detail: "403 Forbidden E0000006", requestID: true,
				check: func(t *testing.T) { status(t, fred, "ACTIVE") }},
		}
		dirEnv := env{"MFADESK_DIRECTORY": "okta", "OKTA_ORG_URL": f.URL(), "OKTA_API_TOKEN": fakeokta.Token}
		h := startE2E(t, db, dirEnv, []actions.Action{actions.ResetPassword, actions.RequireReregisterMFA, actions.RevokeMFASessions,
			actions.BlockSignIn, actions.UnblockSignIn}, flows)
		h.run(flows)
		h.finish(flows)
		h.wantCheckOK(runCmd)
	})
}
