package entra

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/actions/directories/internal/dirtest"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
	"github.com/mfadesk/mfadesk/actions/directories/internal/sleeprec"
)

var testNow = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// staticCred hands out a fixed token.
type staticCred struct {
	token string
	err   error
	calls *atomic.Int32
}

func (c staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if c.calls != nil {
		c.calls.Add(1)
	}
	if c.err != nil {
		return azcore.AccessToken{}, c.err
	}
	return azcore.AccessToken{Token: c.token, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// sleeps records the waits the client asked for instead of sleeping.
type sleeps = sleeprec.Recorder

// setup starts a fake Graph and points a real Directory at it, with fast
// retries (waits are recorded, not slept).
func setup(t *testing.T, mods ...func(*Config)) (*Directory, *fakegraph.Server, *sleeps) {
	t.Helper()
	g := fakegraph.New(t)
	s := &sleeps{}
	cfg := Config{
		GraphURL:   g.URL(),
		Credential: staticCred{token: g.Token()},
		Retry:      httpapi.RetryPolicy{Attempts: 4, Base: 100 * time.Millisecond, Max: 5 * time.Second},
		Sleep:      s.Sleep,
		Now:        func() time.Time { return testNow },
	}
	for _, m := range mods {
		m(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d, g, s
}

func asDirErr(t *testing.T, err error) *actions.DirectoryError {
	t.Helper()
	var de *actions.DirectoryError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *actions.DirectoryError", err, err)
	}
	return de
}

func TestNew(t *testing.T) {
	cred := staticCred{token: "x"}
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"no credential", Config{}, "credential"},
		{"plain http to a remote host", Config{Credential: cred, GraphURL: "http://graph.example.com"}, "https"},
		{"version in URL", Config{Credential: cred, GraphURL: "https://graph.microsoft.com/v1.0"}, "version"},
		{"relative URL", Config{Credential: cred, GraphURL: "graph.microsoft.com"}, "absolute"},
		{"TAP too short", Config{Credential: cred, TAPLifetime: 5 * time.Minute}, "10m..43200m"},
		{"TAP too long", Config{Credential: cred, TAPLifetime: 43201 * time.Minute}, "10m..43200m"},
		{"TAP not whole minutes", Config{Credential: cred, TAPLifetime: 90 * time.Second}, "whole number"},
		{"bad retry", Config{Credential: cred, Retry: httpapi.RetryPolicy{Attempts: 0, Base: time.Second, Max: time.Second}}, "retry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New() error = %v, want one mentioning %q", err, tc.wantErr)
			}
		})
	}

	d, err := New(Config{Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	if d.api.BaseURL != "https://graph.microsoft.com" || d.scope != "https://graph.microsoft.com/.default" ||
		d.cfg.TAPLifetime != time.Hour || d.api.Retry != httpapi.DefaultRetry || d.api.Timeout != 30*time.Second {
		t.Errorf("defaults: base %q scope %q TAP %s retry %+v timeout %s", d.api.BaseURL, d.scope, d.cfg.TAPLifetime, d.api.Retry, d.api.Timeout)
	}
	us, err := New(Config{Credential: cred, GraphURL: "https://graph.microsoft.us/"})
	if err != nil {
		t.Fatal(err)
	}
	if us.scope != "https://graph.microsoft.us/.default" || us.api.BaseURL != "https://graph.microsoft.us" {
		t.Errorf("national cloud: scope %q base %q", us.scope, us.api.BaseURL)
	}
	if d.Name() != "entra" {
		t.Errorf("Name() = %q", d.Name())
	}
}

func TestResolveUser(t *testing.T) {
	d, g, _ := setup(t)
	g.SetPageSize(2)
	ada := g.AddUser(fakegraph.User{UPN: "ada@contoso.com", Mail: "ada.lovelace@contoso.com", DisplayName: "Ada"})
	dollar := g.AddUser(fakegraph.User{UPN: "$adele@contoso.com", DisplayName: "Adele"})
	guest := g.AddUser(fakegraph.User{UPN: "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com", Mail: "bob@fabrikam.com", DisplayName: "Bob"})
	obrien := g.AddUser(fakegraph.User{UPN: "sean@contoso.com", Mail: "o'brien@x.com", DisplayName: "Seán"})
	for i := range 3 {
		g.AddUser(fakegraph.User{UPN: "shared" + strings.Repeat("x", 4+i) + "@contoso.com", Mail: "team@contoso.com"})
	}

	for _, tc := range []struct {
		name     string
		email    string
		want     actions.DirectoryUser
		wantCall string
		wantErr  string
		is       error // the sentinel the error must be
	}{
		{"by UPN", "ada@contoso.com", actions.DirectoryUser{ID: ada.ID, Email: "ada.lovelace@contoso.com", DisplayName: "Ada"},
			"GET /users/ada@contoso.com?$select=id%2CuserPrincipalName%2Cmail%2CdisplayName", "", nil},
		{"UPN case-insensitive", " ADA@contoso.com ", actions.DirectoryUser{ID: ada.ID, Email: "ada.lovelace@contoso.com", DisplayName: "Ada"}, "", "", nil},
		{"UPN starting with $", "$adele@contoso.com", actions.DirectoryUser{ID: dollar.ID, Email: "$adele@contoso.com", DisplayName: "Adele"},
			"GET /users('$adele@contoso.com')?", "", nil},
		{"guest UPN with #", "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com", actions.DirectoryUser{ID: guest.ID, Email: "bob@fabrikam.com", DisplayName: "Bob"},
			"GET /users/bob_fabrikam.com%23EXT%23@contoso.onmicrosoft.com?", "", nil},
		{"mail with a quote", "o'brien@x.com", actions.DirectoryUser{ID: obrien.ID, Email: "o'brien@x.com", DisplayName: "Seán"},
			"GET /users?$filter=mail%20eq%20%27o%27%27brien%40x.com%27", "", nil},
		{"unknown", "nobody@contoso.com", actions.DirectoryUser{}, "", "no user", actions.ErrUnknownUser},
		{"several with the mail (paged)", "team@contoso.com", actions.DirectoryUser{}, "skiptoken=2", "3 users", nil},
		{"empty", "  ", actions.DirectoryUser{}, "", "empty", actions.ErrUnknownUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.ResolveUser(context.Background(), tc.email)
			dirtest.User(t, got, err, tc.want, tc.wantErr, tc.is)
			if tc.wantCall != "" && !hasCall(g.Calls(), tc.wantCall) {
				t.Errorf("no call starting %q in\n%s", tc.wantCall, strings.Join(g.Calls(), "\n"))
			}
		})
	}
}

// hasCall reports whether the fake saw a request whose log line contains s.
func hasCall(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestResolveUserGraphFailure(t *testing.T) {
	d, g, _ := setup(t)
	g.Inject("GET /users?", 403, "", 1)
	_, err := d.ResolveUser(context.Background(), "x@contoso.com")
	if de := asDirErr(t, err); de.Status != 403 || errors.Is(err, actions.ErrUnknownUser) {
		t.Fatalf("error = %v", err)
	}
}

// IsPrivileged counts every way a user holds a Microsoft Entra role: active
// built-in or custom roles at tenant or administrative-unit scope, PIM
// eligibility, and either through a group.
func TestIsPrivileged(t *testing.T) {
	d, g, _ := setup(t)
	g.SetPageSize(1)
	tenant := func(role string) fakegraph.Assignment {
		return fakegraph.Assignment{RoleDefinitionID: role, DirectoryScopeID: "/"}
	}
	plain := g.AddUser(fakegraph.User{UPN: "plain@contoso.com", Groups: []string{"group-plain"}})
	builtin := g.AddUser(fakegraph.User{UPN: "admin@contoso.com", Roles: []string{"Helpdesk Administrator", "Global Reader", "User Administrator"}})
	custom := g.AddUser(fakegraph.User{UPN: "custom@contoso.com"})
	g.AssignRole(custom.ID, tenant("custom-role-7f3a"))
	scoped := g.AddUser(fakegraph.User{UPN: "au@contoso.com"})
	g.AssignRole(scoped.ID, fakegraph.Assignment{RoleDefinitionID: "helpdesk-admin", DirectoryScopeID: "/administrativeUnits/au-emea"})
	eligible := g.AddUser(fakegraph.User{UPN: "pim@contoso.com"})
	g.MakeEligible(eligible.ID, tenant("privileged-auth-admin"))
	viaGroup := g.AddUser(fakegraph.User{UPN: "group@contoso.com", Groups: []string{"group-plain", "group-admins"}})
	g.AssignRole("group-admins", tenant("user-admin"))
	viaGroupPIM := g.AddUser(fakegraph.User{UPN: "grouppim@contoso.com", Groups: []string{"group-pim"}})
	g.MakeEligible("group-pim", fakegraph.Assignment{RoleDefinitionID: "auth-admin", DirectoryScopeID: "/administrativeUnits/au-1"})
	for _, tc := range []struct {
		name    string
		id      string
		want    bool
		wantErr int
	}{
		{"no role", plain.ID, false, 0},
		{"active built-in roles", builtin.ID, true, 0},
		{"custom role", custom.ID, true, 0},
		{"administrative-unit scope", scoped.ID, true, 0},
		{"PIM eligible", eligible.ID, true, 0},
		{"through a role-assignable group", viaGroup.ID, true, 0},
		{"PIM eligible through a group", viaGroupPIM.ID, true, 0},
		{"unknown user", "missing", false, 404},
	} {
		got, err := d.IsPrivileged(context.Background(), tc.id)
		if tc.wantErr != 0 {
			if de := asDirErr(t, err); de.Status != tc.wantErr {
				t.Errorf("%s: IsPrivileged status %d, want %d", tc.name, de.Status, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: IsPrivileged = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	// The first page answers; no need for the others.
	n := 0
	for _, c := range g.Calls() {
		if strings.Contains(c, "/roleManagement/directory/roleAssignments?") && strings.Contains(c, builtin.ID) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d role assignment pages read for the admin, want 1", n)
	}
	// A check that cannot be made is an error, never "not an admin".
	g.Inject("roleEligibilityScheduleInstances", 403, "", 1)
	if got, err := d.IsPrivileged(context.Background(), plain.ID); err == nil || got {
		t.Errorf("IsPrivileged with eligibilities refused = %v, %v; want an error", got, err)
	}
}

func TestGraphErrorMapping(t *testing.T) {
	d, g, s := setup(t)
	u := g.AddUser(fakegraph.User{UPN: "u@contoso.com", AccountEnabled: true})
	g.Inject("PATCH /users/"+u.ID, 403, "", 1)
	_, err := d.Perform(context.Background(), actions.BlockSignIn, actions.Target{DirectoryID: u.ID})
	de := asDirErr(t, err)
	want := &actions.DirectoryError{Op: "block sign-in", Status: 403, Code: "Authorization_RequestDenied",
		Message: "Injected failure.", RequestID: de.RequestID}
	if diff := cmp.Diff(want, de); diff != "" || !strings.HasPrefix(de.RequestID, "req-") {
		t.Errorf("DirectoryError (-want +got):\n%s", diff)
	}
	if len(s.All()) != 0 || len(g.Calls()) != 1 {
		t.Errorf("a 403 was retried: sleeps %v calls %v", s.All(), g.Calls())
	}
	if !strings.Contains(err.Error(), "(request-id req-") {
		t.Errorf("message %q lacks the request-id", err)
	}
}

func TestRequestIDFromInnerError(t *testing.T) {
	d, _, _ := setup(t)
	de := d.answerError("op", 400, http.Header{}, []byte(`{"error":{"code":"badRequest","message":"no","innerError":{"request-id":"inner-1"}}}`))
	if de.RequestID != "inner-1" || de.Code != "badRequest" || de.Message != "no" {
		t.Errorf("got %+v", de)
	}
	de = d.answerError("op", 502, http.Header{"Retry-After": {"7"}}, []byte("<html>bad gateway</html>"))
	if de.Status != 502 || de.RetryAfter != 7*time.Second || de.Code != "" {
		t.Errorf("got %+v", de)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		times      int
		wantErr    bool
		wantSleeps func([]time.Duration) bool
	}{
		{"429 honours Retry-After", 429, "3", 2, false, func(d []time.Duration) bool {
			return cmp.Equal(d, []time.Duration{3 * time.Second, 3 * time.Second})
		}},
		{"Retry-After capped by the policy", 429, "120", 1, false, func(d []time.Duration) bool {
			return cmp.Equal(d, []time.Duration{5 * time.Second})
		}},
		{"503 backs off exponentially", 503, "", 2, false, func(d []time.Duration) bool {
			return len(d) == 2 && d[0] >= 50*time.Millisecond && d[0] <= 100*time.Millisecond &&
				d[1] >= 100*time.Millisecond && d[1] <= 200*time.Millisecond
		}},
		{"504 retried", 504, "1", 1, false, func(d []time.Duration) bool { return len(d) == 1 }},
		{"attempts run out", 429, "2", 10, true, func(d []time.Duration) bool { return len(d) == 3 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, g, s := setup(t)
			u := g.AddUser(fakegraph.User{UPN: "u@contoso.com"})
			g.Inject("/revokeSignInSessions", tc.status, tc.retryAfter, tc.times)
			_, err := d.Perform(context.Background(), actions.RevokeMFASessions, actions.Target{DirectoryID: u.ID})
			if tc.wantErr {
				de := asDirErr(t, err)
				if de.Status != tc.status || !de.Retryable() || de.RetryAfter != 2*time.Second {
					t.Errorf("last error %+v", de)
				}
				if g.User(u.ID).Revoked != 0 {
					t.Error("revoked although every attempt was throttled")
				}
			} else if err != nil || g.User(u.ID).Revoked != 1 {
				t.Fatalf("err %v, revoked %d", err, g.User(u.ID).Revoked)
			}
			if !tc.wantSleeps(s.All()) {
				t.Errorf("sleeps %v", s.All())
			}
		})
	}
}

func TestCallTimeoutIsRetried(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if n.Add(1) == 1 { // the first call gets no answer in time
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		w.Header().Set("request-id", "second")
		w.WriteHeader(204)
	}))
	t.Cleanup(srv.Close)
	s := &sleeps{}
	d, err := New(Config{GraphURL: srv.URL, Credential: staticCred{token: "t"}, CallTimeout: 100 * time.Millisecond,
		Retry: httpapi.RetryPolicy{Attempts: 2, Base: time.Millisecond, Max: time.Second}, Sleep: s.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Perform(context.Background(), actions.UnblockSignIn, actions.Target{DirectoryID: "u1"})
	if err != nil || !strings.Contains(p.Detail, "request-id second") || n.Load() != 2 {
		t.Fatalf("Perform = %+v, %v after %d calls", p, err, n.Load())
	}
}

func TestTokenErrorIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	d, g, s := setup(t, func(c *Config) {
		c.Credential = staticCred{err: errors.New("AADSTS7000215: invalid client secret"), calls: &calls}
	})
	u := g.AddUser(fakegraph.User{UPN: "u@contoso.com"})
	_, err := d.Perform(context.Background(), actions.RevokeMFASessions, actions.Target{DirectoryID: u.ID})
	if err == nil || !strings.Contains(err.Error(), "get Graph token") || calls.Load() != 1 || len(s.All()) != 0 {
		t.Fatalf("err %v after %d token calls and sleeps %v", err, calls.Load(), s.All())
	}
	if ok, _ := httpapi.Retryable(err); ok {
		t.Error("a refused credential is retryable")
	}
}

func TestNextLinkStaysOnGraph(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value":[],"@odata.nextLink":"https://attacker.example/v1.0/users?$skiptoken=1"}`))
	}))
	t.Cleanup(srv.Close)
	d, err := New(Config{GraphURL: srv.URL, Credential: staticCred{token: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.IsPrivileged(context.Background(), "u1")
	if err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("err = %v, want a refusal to follow the link", err)
	}
}
