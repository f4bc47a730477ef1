package google

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/google/fakegoogle"
	"github.com/mfadesk/mfadesk/actions/directories/internal/dirtest"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
	"github.com/mfadesk/mfadesk/actions/directories/internal/sleeprec"
	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

const (
	adminEmail  = "admin@example.com"
	clientEmail = "mfadesk@project.iam.gserviceaccount.com"
	keyID       = "kid-0001"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// serviceAccountKey returns a service-account key file, as the Cloud console
// hands it out, around an RSA key generated for the tests.
func serviceAccountKey(t *testing.T) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	b, err := fakegoogle.ServiceAccountKey(testKey, clientEmail, keyID, "https://oauth2.googleapis.com/token")
	if err != nil {
		t.Fatal(err)
	}
	return b, testKey
}

// sleeps records the waits the client asked for instead of sleeping.
type sleeps = sleeprec.Recorder

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	d     *Directory
	f     *fakegoogle.Server
	rec   *sleeps
	clock *clock
	key   []byte
	cfg   Config
}

// setup starts a fake Workspace account and token endpoint, and points a
// real client at them that authenticates with the JWT flow.
func setup(t *testing.T) env {
	t.Helper()
	key, priv := serviceAccountKey(t)
	f := fakegoogle.New(t, &priv.PublicKey)
	f.AddUser(fakegoogle.User{ID: "100", Email: adminEmail, FullName: "Ada Admin", Admin: true, Enrolled2SV: true, Enforced2SV: true})
	f.AddUser(fakegoogle.User{ID: "101", Email: "alice@example.com", FullName: "Alice A", Aliases: []string{"ali@example.com"},
		Enrolled2SV: true, Enforced2SV: true, BackupCodesValid: true,
		ASPs: []fakegoogle.ASP{{CodeID: 11, Name: "Thunderbird"}, {CodeID: 12, Name: "iPhone Mail"}, {CodeID: 13, Name: "Outlook"}}})
	f.AddUser(fakegoogle.User{ID: "102", Email: "bob+tag@example.com", FullName: "Bob B", Enrolled2SV: true})
	f.AddUser(fakegoogle.User{ID: "103", Email: "carol@example.com", Suspended: true, SuspensionReason: "ADMIN"})
	f.AddUser(fakegoogle.User{ID: "104", Email: "dan@example.com", Delegated: true})
	c := &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	cfg := Config{
		APIURL: f.URL(), Admin: adminEmail, CredentialsJSON: key, TokenURL: f.TokenURL(),
		HTTPClient: f.Client(), Now: c.now,
		Retry: httpapi.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Minute},
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &sleeps{}
	d.api.Sleep = rec.Sleep
	return env{d: d, f: f, rec: rec, clock: c, key: key, cfg: cfg}
}

func TestNew(t *testing.T) {
	key, _ := serviceAccountKey(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.json")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	userCreds := []byte(`{"type":"authorized_user","client_id":"x","client_secret":"y","refresh_token":"z"}`)
	ts := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"key file", Config{Admin: adminEmail, CredentialsFile: keyFile}, ""},
		{"key JSON", Config{Admin: adminEmail, CredentialsJSON: key}, ""},
		{"token source", Config{Admin: adminEmail, TokenSource: ts}, ""},
		{"loopback http API", Config{APIURL: "http://127.0.0.1:9", Admin: adminEmail, TokenSource: ts}, ""},
		{"no admin", Config{CredentialsJSON: key}, "MFADESK_GOOGLE_ADMIN is required"},
		{"admin not an email", Config{Admin: "admin", CredentialsJSON: key}, "MFADESK_GOOGLE_ADMIN: want an admin user's email"},
		{"no credentials", Config{Admin: adminEmail}, "MFADESK_GOOGLE_CREDENTIALS is required"},
		{"missing file", Config{Admin: adminEmail, CredentialsFile: filepath.Join(dir, "nope.json")}, "MFADESK_GOOGLE_CREDENTIALS: open"},
		{"not a service account", Config{Admin: adminEmail, CredentialsJSON: userCreds}, "not a service-account key"},
		{"not JSON", Config{Admin: adminEmail, CredentialsJSON: []byte("-----BEGIN PRIVATE KEY-----")}, "not a service-account key"},
		{"plain http API", Config{APIURL: "http://admin.example.com", Admin: adminEmail, TokenSource: ts}, "MFADESK_GOOGLE_API_URL: must use https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || d.Name() != "google" {
					t.Fatalf("New = %v, %v", d, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") && tt.name != "not JSON" {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}

func TestSupports(t *testing.T) {
	d, err := New(Config{Admin: adminEmail, TokenSource: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})})
	if err != nil {
		t.Fatal(err)
	}
	want := map[actions.Action]actions.Support{}
	for _, a := range actions.AllActions() {
		want[a] = actions.Automated
	}
	want[actions.IssueTemporaryAccessPass] = actions.Unsupported
	dirtest.Supports(t, d, want)
}

// TestJWTDelegation checks the token request: a JWT signed with the
// service account's key, acting as the admin, asking for both scopes.
func TestJWTDelegation(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for range 2 {
		if _, err := e.d.ResolveUser(ctx, "alice@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	got := e.f.TokenRequests()
	if len(got) != 1 {
		t.Fatalf("%d token requests, want 1 (the token is reused)", len(got))
	}
	c := got[0]
	want := fakegoogle.Claims{Iss: clientEmail, Sub: adminEmail, Prn: adminEmail, Aud: e.f.TokenURL(), Kid: keyID}
	if diff := cmp.Diff(want, c, cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".Scope" || n == ".Exp" || n == ".Iat"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("assertion claims (-want +got):\n%s", diff)
	}
	scopes := strings.Fields(c.Scope)
	for _, s := range []string{ScopeUser, ScopeUserSecurity} {
		if !slices.Contains(scopes, s) {
			t.Errorf("scope %q lacks %s", c.Scope, s)
		}
	}
	if c.Exp <= c.Iat {
		t.Errorf("exp %d not after iat %d", c.Exp, c.Iat)
	}
}

func TestTokenRefused(t *testing.T) {
	e := setup(t)
	e.f.SetGranted(ScopeUser) // the security scope was not delegated
	_, err := e.d.ResolveUser(context.Background(), "alice@example.com")
	var de *actions.DirectoryError
	if !errors.As(err, &de) || de.Op != "get access token" || de.Status != http.StatusUnauthorized ||
		de.Code != "unauthorized_client" || de.Retryable() {
		t.Fatalf("err = %v, want a final DirectoryError from the token endpoint", err)
	}
	if n := len(e.f.TokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1 (a refusal is not retried)", n)
	}
	if calls := e.f.Calls(); len(calls) != 0 {
		t.Errorf("API called without a token: %v", calls)
	}
	problems := e.d.Check(context.Background(), nil)
	if len(problems) != 1 || !strings.Contains(problems[0], "domain-wide delegation") || !strings.Contains(problems[0], "unauthorized_client") {
		t.Errorf("Check = %q", problems)
	}
}

func TestTokenEndpointThrottled(t *testing.T) {
	e := setup(t)
	e.f.FailToken(fakegoogle.Failure{Status: 503, Reason: "temporarily_unavailable", Message: "try later"})
	if _, err := e.d.ResolveUser(context.Background(), "alice@example.com"); err != nil {
		t.Fatalf("a 503 from the token endpoint is retried: %v", err)
	}
	if n := len(e.rec.All()); n != 1 {
		t.Errorf("%d waits, want 1", n)
	}
}

func TestResolveUser(t *testing.T) {
	tests := []struct {
		name    string
		email   string
		want    actions.DirectoryUser
		wantErr error
		call    string
	}{
		{name: "primary email", email: "alice@example.com",
			want: actions.DirectoryUser{ID: "101", Email: "alice@example.com", DisplayName: "Alice A"},
			call: "GET /admin/directory/v1/users/alice@example.com"},
		{name: "alias gives the primary", email: " ALI@example.com",
			want: actions.DirectoryUser{ID: "101", Email: "alice@example.com", DisplayName: "Alice A"}},
		{name: "plus sign", email: "bob+tag@example.com",
			want: actions.DirectoryUser{ID: "102", Email: "bob+tag@example.com", DisplayName: "Bob B"},
			call: "GET /admin/directory/v1/users/bob+tag@example.com"},
		{name: "unknown", email: "nobody@example.com", wantErr: actions.ErrUnknownUser},
		{name: "empty", email: "", wantErr: actions.ErrUnknownUser},
		{name: "slash", email: "a/b@example.com", wantErr: actions.ErrUnknownUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			got, err := e.d.ResolveUser(context.Background(), tt.email)
			dirtest.User(t, got, err, tt.want, "", tt.wantErr)
			if tt.call != "" {
				if calls := e.f.Calls(); len(calls) != 1 || calls[0] != tt.call {
					t.Errorf("calls = %q, want [%q]", calls, tt.call)
				}
			}
		})
	}
}

func TestIsPrivileged(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for id, want := range map[string]bool{"100": true, "104": true, "101": false} {
		got, err := e.d.IsPrivileged(ctx, id)
		if err != nil || got != want {
			t.Errorf("IsPrivileged(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	if _, err := e.d.IsPrivileged(ctx, "999"); !errors.As(err, new(*actions.DirectoryError)) {
		t.Errorf("unknown ID: err = %v", err)
	}

	// A user just resolved is answered from the cache, for a minute.
	e = setup(t)
	u, err := e.d.ResolveUser(ctx, "dan@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := e.d.IsPrivileged(ctx, u.ID); !ok || err != nil {
		t.Fatalf("IsPrivileged = %v, %v", ok, err)
	}
	if n := len(e.f.Calls()); n != 1 {
		t.Errorf("%d calls, want 1 (cached)", n)
	}
	e.clock.add(2 * time.Minute)
	if ok, err := e.d.IsPrivileged(ctx, u.ID); !ok || err != nil {
		t.Fatalf("IsPrivileged = %v, %v", ok, err)
	}
	if n := len(e.f.Calls()); n != 2 {
		t.Errorf("%d calls, want 2 (cache expired)", n)
	}
}

func TestPerform(t *testing.T) {
	tests := []struct {
		name        string
		action      actions.Action
		id          string
		prepare     func(f *fakegoogle.Server)
		wantOutcome actions.Outcome
		wantDetail  string
		wantErr     string
		wantCalls   []string
		check       func(t *testing.T, f *fakegoogle.Server, p actions.Performed)
	}{
		{
			name: "reset password", action: actions.ResetPassword, id: "101",
			wantOutcome: actions.OutcomeOK, wantDetail: "temporary password",
			wantCalls: []string{"PUT /admin/directory/v1/users/101"},
			check: func(t *testing.T, f *fakegoogle.Server, p actions.Performed) {
				u := f.User("101")
				if p.Secret == nil || p.Secret.Reveal() != u.Password || len(u.Password) < 16 || !u.ChangeAtNext || u.HashFunction != "" {
					t.Errorf("secret %v, stored %q (change at next %v, hash %q)", p.Secret, u.Password, u.ChangeAtNext, u.HashFunction)
				}
				if strings.Contains(p.Detail, u.Password) {
					t.Errorf("detail shows the password")
				}
				if keys := sortedKeys(f.Body(0)); !cmp.Equal(keys, []string{"changePasswordAtNextLogin", "password"}) {
					t.Errorf("update body keys = %v", keys)
				}
			},
		},
		{
			name: "require re-register MFA", action: actions.RequireReregisterMFA, id: "101",
			wantOutcome: actions.OutcomeOK, wantDetail: "2SV is enforced",
			wantCalls: []string{
				"GET /admin/directory/v1/users/101",
				"POST /admin/directory/v1/users/101/twoStepVerification/turnOff",
				"POST /admin/directory/v1/users/101/verificationCodes/invalidate",
			},
			check: func(t *testing.T, f *fakegoogle.Server, _ actions.Performed) {
				if u := f.User("101"); u.Enrolled2SV || u.BackupCodesValid {
					t.Errorf("2SV %v, backup codes valid %v", u.Enrolled2SV, u.BackupCodesValid)
				}
			},
		},
		{
			name: "require re-register MFA, 2SV not enforced", action: actions.RequireReregisterMFA, id: "102",
			wantOutcome: actions.OutcomeOK, wantDetail: "NOT enforced",
		},
		{
			name: "require re-register MFA, not enrolled", action: actions.RequireReregisterMFA, id: "104",
			wantOutcome: actions.OutcomeSkipped, wantDetail: "not enrolled in 2-Step Verification",
			wantCalls: []string{
				"GET /admin/directory/v1/users/104",
				"POST /admin/directory/v1/users/104/verificationCodes/invalidate",
			},
		},
		{
			name: "require re-register MFA, backup codes fail", action: actions.RequireReregisterMFA, id: "101",
			prepare: func(f *fakegoogle.Server) {
				f.FailNext("POST /admin/directory/v1/users/{userKey}/verificationCodes/invalidate",
					fakegoogle.Failure{Status: 400, Reason: "invalid", Message: "Invalid Input"})
			},
			wantErr: "turned off, but backup codes not invalidated",
		},
		{
			name: "revoke sessions", action: actions.RevokeMFASessions, id: "101",
			wantOutcome: actions.OutcomeOK, wantDetail: "signed out",
			wantCalls: []string{"POST /admin/directory/v1/users/101/signOut"},
			check: func(t *testing.T, f *fakegoogle.Server, _ actions.Performed) {
				if f.User("101").SignOuts != 1 {
					t.Error("not signed out")
				}
			},
		},
		{
			name: "delete app passwords", action: actions.DeleteAppPasswords, id: "101",
			wantOutcome: actions.OutcomeOK, wantDetail: `deleted 3 app password(s): "Thunderbird", "iPhone Mail", "Outlook"`,
			wantCalls: []string{
				"GET /admin/directory/v1/users/101/asps",
				"DELETE /admin/directory/v1/users/101/asps/11",
				"DELETE /admin/directory/v1/users/101/asps/12",
				"DELETE /admin/directory/v1/users/101/asps/13",
			},
			check: func(t *testing.T, f *fakegoogle.Server, _ actions.Performed) {
				if n := len(f.User("101").ASPs); n != 0 {
					t.Errorf("%d app passwords left", n)
				}
			},
		},
		{
			name: "delete app passwords, one gone meanwhile", action: actions.DeleteAppPasswords, id: "101",
			prepare: func(f *fakegoogle.Server) {
				f.FailNext("DELETE /admin/directory/v1/users/{userKey}/asps/{codeId}",
					fakegoogle.Failure{Status: 404, Reason: "notFound", Message: "Resource Not Found: codeId"})
			},
			wantOutcome: actions.OutcomeOK, wantDetail: "deleted 3 app password(s)",
		},
		{
			name: "delete app passwords, none", action: actions.DeleteAppPasswords, id: "102",
			wantOutcome: actions.OutcomeSkipped, wantDetail: "no app password",
		},
		{
			name: "block", action: actions.BlockSignIn, id: "101",
			wantOutcome: actions.OutcomeOK, wantDetail: "suspended",
			wantCalls: []string{"GET /admin/directory/v1/users/101", "PUT /admin/directory/v1/users/101"},
			check: func(t *testing.T, f *fakegoogle.Server, _ actions.Performed) {
				if !f.User("101").Suspended {
					t.Error("not suspended")
				}
				if keys := sortedKeys(f.Body(0)); !cmp.Equal(keys, []string{"suspended"}) {
					t.Errorf("update body keys = %v", keys)
				}
			},
		},
		{
			name: "block an already suspended user", action: actions.BlockSignIn, id: "103",
			wantOutcome: actions.OutcomeSkipped, wantDetail: "already suspended for ADMIN",
			wantCalls: []string{"GET /admin/directory/v1/users/103"},
		},
		{
			name: "unblock", action: actions.UnblockSignIn, id: "103",
			wantOutcome: actions.OutcomeOK, wantDetail: "unsuspended",
			check: func(t *testing.T, f *fakegoogle.Server, _ actions.Performed) {
				if f.User("103").Suspended {
					t.Error("still suspended")
				}
				if v, ok := f.Body(0)["suspended"]; !ok || v != false {
					t.Errorf("body = %v, want suspended: false sent", f.Body(0))
				}
			},
		},
		{
			name: "unblock a user who is not suspended", action: actions.UnblockSignIn, id: "101",
			wantOutcome: actions.OutcomeSkipped, wantDetail: "not suspended",
		},
		{
			name: "unknown user", action: actions.RevokeMFASessions, id: "999",
			wantErr: "404 Not Found notFound: Resource Not Found: userKey",
		},
		{
			name: "forbidden", action: actions.RevokeMFASessions, id: "101",
			prepare: func(f *fakegoogle.Server) {
				f.FailNext("POST /admin/directory/v1/users/{userKey}/signOut",
					fakegoogle.Failure{Status: 403, Reason: "forbidden", Message: "Not Authorized to access this resource/api"})
			},
			wantErr: "403 Forbidden forbidden",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			if tt.prepare != nil {
				tt.prepare(e.f)
			}
			p, err := e.d.Perform(context.Background(), tt.action, actions.Target{DirectoryID: tt.id})
			if tt.wantErr != "" {
				if !errors.As(err, new(*actions.DirectoryError)) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a DirectoryError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Outcome != tt.wantOutcome || !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("Performed = %+v, want %s with %q", p, tt.wantOutcome, tt.wantDetail)
			}
			if (p.Secret != nil) != (tt.action == actions.ResetPassword) {
				t.Errorf("secret = %v", p.Secret)
			}
			if tt.wantCalls != nil {
				if diff := cmp.Diff(tt.wantCalls, e.f.Calls()); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
			}
			if tt.check != nil {
				tt.check(t, e.f, p)
			}
		})
	}
}

// TestDeleteAppPasswordsPartialFailure: a delete that fails for good says
// how far it got; performing again finishes the job.
func TestDeleteAppPasswordsPartialFailure(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.f.FailNext("DELETE /admin/directory/v1/users/101/asps/12",
		fakegoogle.Failure{Status: 403, Reason: "forbidden", Message: "Not Authorized to access this resource/api"})
	_, err := e.d.Perform(ctx, actions.DeleteAppPasswords, actions.Target{DirectoryID: "101"})
	var de *actions.DirectoryError
	if !errors.As(err, &de) || de.Status != http.StatusForbidden || !strings.Contains(err.Error(), "deleted 1 of 3 app passwords, then:") {
		t.Fatalf("err = %v", err)
	}
	p, err := e.d.Perform(ctx, actions.DeleteAppPasswords, actions.Target{DirectoryID: "101"})
	if err != nil || p.Outcome != actions.OutcomeOK || !strings.Contains(p.Detail, `deleted 2 app password(s): "iPhone Mail", "Outlook"`) {
		t.Fatalf("second Perform = %+v, %v", p, err)
	}
	if n := len(e.f.User("101").ASPs); n != 0 {
		t.Errorf("%d app passwords left", n)
	}
}

// TestRequireReregisterRetried: when invalidating backup codes fails after
// 2SV was turned off, performing again still invalidates them.
func TestRequireReregisterRetried(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.f.FailNext("POST /admin/directory/v1/users/{userKey}/verificationCodes/invalidate",
		fakegoogle.Failure{Status: 503, Reason: "backendError", Message: "Backend Error"},
		fakegoogle.Failure{Status: 503, Reason: "backendError", Message: "Backend Error"},
		fakegoogle.Failure{Status: 503, Reason: "backendError", Message: "Backend Error"})
	_, err := e.d.Perform(ctx, actions.RequireReregisterMFA, actions.Target{DirectoryID: "101"})
	if ok, _ := httpapi.Retryable(err); !ok {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	p, err := e.d.Perform(ctx, actions.RequireReregisterMFA, actions.Target{DirectoryID: "101"})
	if err != nil || p.Outcome != actions.OutcomeSkipped || !strings.Contains(p.Detail, "backup codes invalidated") {
		t.Fatalf("second Perform = %+v, %v", p, err)
	}
	if u := e.f.User("101"); u.Enrolled2SV || u.BackupCodesValid {
		t.Errorf("2SV %v, backup codes valid %v", u.Enrolled2SV, u.BackupCodesValid)
	}
}

func TestThrottling(t *testing.T) {
	tests := []struct {
		name      string
		fails     []fakegoogle.Failure
		wantErr   string
		wantWaits []time.Duration // exact waits; nil means only the count matters
		nWaits    int
	}{
		{name: "429 with Retry-After", fails: []fakegoogle.Failure{{Status: 429, Reason: "rateLimitExceeded", Message: "Rate Limit Exceeded",
			Header: http.Header{"Retry-After": {"7"}}}}, wantWaits: []time.Duration{7 * time.Second}, nWaits: 1},
		{name: "503 then 500", fails: []fakegoogle.Failure{{Status: 503, Reason: "backendError", Message: "Backend Error"},
			{Status: 500, Reason: "backendError", Message: "Backend Error"}}, nWaits: 2},
		{name: "403 rateLimitExceeded is throttling", fails: []fakegoogle.Failure{{Status: 403, Reason: "rateLimitExceeded", Message: "Rate Limit Exceeded"}}, nWaits: 1},
		{name: "403 userRateLimitExceeded until attempts run out", fails: []fakegoogle.Failure{
			{Status: 403, Reason: "userRateLimitExceeded", Message: "User Rate Limit Exceeded"},
			{Status: 403, Reason: "userRateLimitExceeded", Message: "User Rate Limit Exceeded"},
			{Status: 403, Reason: "userRateLimitExceeded", Message: "User Rate Limit Exceeded"}},
			wantErr: "429 Too Many Requests userRateLimitExceeded: User Rate Limit Exceeded (HTTP 403)", nWaits: 2},
		{name: "403 forbidden is final", fails: []fakegoogle.Failure{{Status: 403, Reason: "forbidden", Message: "Not Authorized to access this resource/api"}},
			wantErr: "403 Forbidden forbidden", nWaits: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.f.FailNext("POST /admin/directory/v1/users/{userKey}/signOut", tt.fails...)
			p, err := e.d.Perform(context.Background(), actions.RevokeMFASessions, actions.Target{DirectoryID: "101"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || p.Outcome != actions.OutcomeOK {
				t.Fatalf("Perform = %+v, %v", p, err)
			}
			got := e.rec.All()
			if len(got) != tt.nWaits {
				t.Fatalf("waits = %v, want %d", got, tt.nWaits)
			}
			if tt.wantWaits != nil && !cmp.Equal(got, tt.wantWaits) {
				t.Errorf("waits = %v, want %v", got, tt.wantWaits)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	dirtest.NoProblems(t, setup(t).d, actions.DeleteAppPasswords)
	dirtest.NoProblems(t, setup(t).d, actions.IssueTemporaryAccessPass) // unsupported
	for _, tc := range []struct {
		name, admin string
		want        []string // in the one problem
	}{
		{"admin is not an admin", "alice@example.com", []string{"cannot read MFADESK_GOOGLE_ADMIN", "403"}},
		{"unknown admin", "ghost@example.com", []string{"cannot get an access token", "invalid_grant"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := setup(t).cfg
			cfg.Admin = tc.admin
			d, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := d.Check(context.Background(), nil)
			if len(got) != 1 {
				t.Fatalf("problems = %q, want one", got)
			}
			for _, w := range tc.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("problem %q lacks %q", got[0], w)
				}
			}
			fakeapi.NoSecrets(t, "problem", got[0], "PRIVATE KEY")
		})
	}
}

// TestSecretsNeverLogged resets a password through a retry with debug
// logging and looks for the password, the access token and the key.
func TestSecretsNeverLogged(t *testing.T) {
	e := setup(t)
	cfg := e.cfg
	logger, log := fakeapi.DebugLogger()
	cfg.Logger = logger
	cfg.Retry = httpapi.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.f.FailNext("PUT /admin/directory/v1/users/{userKey}", fakegoogle.Failure{Status: 503, Reason: "backendError", Message: "Backend Error"})
	dirtest.SecretsNeverLogged(t, d, "101", log, "may retry", func() []string { return append(e.f.AccessTokens(), "PRIVATE KEY") })
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := newPassword(passwordLength)
		if err != nil {
			t.Fatal(err)
		}
		if len(pw) != passwordLength || seen[pw] {
			t.Fatalf("password %q: wrong length or repeated", pw)
		}
		seen[pw] = true
		for _, class := range passwordClasses {
			if !strings.ContainsAny(pw, class) {
				t.Fatalf("password %q lacks one of %q", pw, class)
			}
		}
	}
}

// sortedKeys is for stable failure messages.
func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
