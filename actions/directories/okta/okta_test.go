package okta

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/dirtest"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
	"github.com/mfadesk/mfadesk/actions/directories/internal/sleeprec"
	"github.com/mfadesk/mfadesk/actions/directories/okta/fakeokta"
	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// sleeps records the waits the client asked for instead of sleeping.
type sleeps = sleeprec.Recorder

// setup starts a fake Okta org with a few users and points a real client at
// it, with waits recorded rather than slept.
func setup(t *testing.T) (*Directory, *fakeokta.Server, *sleeps) {
	t.Helper()
	f := fakeokta.New(t)
	f.AddUser(fakeokta.User{ID: "00uadmin", Login: "admin@example.com", Email: "admin@example.com", First: "Ada", Last: "Admin", Roles: []string{"SUPER_ADMIN"}})
	f.SetMe("00uadmin")
	f.AddUser(fakeokta.User{ID: "00ualice", Login: "alice@example.com", Email: "alice@example.com", First: "Alice", Last: "A", Factors: []string{"push", "sms"}})
	f.AddUser(fakeokta.User{ID: "00ubob", Login: "bob", Email: "bob@example.com", First: "Bob", Last: "B"})
	f.AddUser(fakeokta.User{ID: "00ucarol", Login: "carol@example.com", Email: "carol@example.com", Status: "SUSPENDED"})
	f.AddUser(fakeokta.User{ID: "00ughost", Login: "ghost@example.com", Email: "ghost@example.com", Status: "DEPROVISIONED"})
	f.AddUser(fakeokta.User{ID: "00utwin1", Login: "twin1", Email: "twin@example.com"})
	f.AddUser(fakeokta.User{ID: "00utwin2", Login: "twin2", Email: "twin@example.com"})
	f.AddUser(fakeokta.User{ID: "00uquote", Login: "quote", Email: `o"b\q@example.com`})
	f.AddUser(fakeokta.User{ID: "00uhelp", Login: "help@example.com", Email: "help@example.com", Roles: []string{"HELP_DESK_ADMIN"}})
	d, err := New(Config{
		OrgURL: f.URL(), Token: fakeokta.Token, HTTPClient: f.Client(),
		Retry: httpapi.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := &sleeps{}
	d.api.Sleep = rec.Sleep
	return d, f, rec
}

func TestNew(t *testing.T) {
	const token = "00abcSECRETxyz"
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"ok", Config{OrgURL: "https://example.okta.com", Token: token}, ""},
		{"trailing slash", Config{OrgURL: "https://example.okta.com/", Token: token}, ""},
		{"loopback http for tests", Config{OrgURL: "http://127.0.0.1:8080", Token: token}, ""},
		{"no url", Config{Token: token}, "OKTA_ORG_URL is required"},
		{"plain http", Config{OrgURL: "http://example.okta.com", Token: token}, "OKTA_ORG_URL: must use https"},
		{"relative", Config{OrgURL: "example.okta.com", Token: token}, "OKTA_ORG_URL"},
		{"path", Config{OrgURL: "https://example.okta.com/oauth2/default", Token: token}, "OKTA_ORG_URL: want the org's base URL"},
		{"admin domain", Config{OrgURL: "https://example-admin.okta.com", Token: token}, "not the -admin console domain"},
		{"no token", Config{OrgURL: "https://example.okta.com"}, "OKTA_API_TOKEN is required"},
		{"header pasted", Config{OrgURL: "https://example.okta.com", Token: "SSWS " + token}, "OKTA_API_TOKEN: want the bare token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || d == nil {
					t.Fatalf("New: %v", err)
				}
				if d.Name() != "okta" {
					t.Errorf("Name = %q", d.Name())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.wantErr)
			}
			fakeapi.NoSecrets(t, "error", err.Error(), token)
		})
	}
}

func TestSupports(t *testing.T) {
	d, err := New(Config{OrgURL: "https://example.okta.com", Token: "x"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[actions.Action]actions.Support{
		actions.ResetPassword: actions.Automated, actions.RequireReregisterMFA: actions.Automated,
		actions.RevokeMFASessions: actions.Automated, actions.BlockSignIn: actions.Automated,
		actions.UnblockSignIn: actions.Automated, actions.DeleteAppPasswords: actions.Unsupported,
		actions.IssueTemporaryAccessPass: actions.Unsupported, actions.Action("bogus"): actions.Unsupported,
	}
	dirtest.Supports(t, d, want)
}

func TestResolveUser(t *testing.T) {
	tests := []struct {
		name      string
		email     string
		want      actions.DirectoryUser
		wantErr   error  // errors.Is target
		errSubstr string // when wantErr is nil but an error is expected
		calls     []string
	}{
		{
			name: "login is the email", email: "alice@example.com",
			want:  actions.DirectoryUser{ID: "00ualice", Email: "alice@example.com", DisplayName: "Alice A"},
			calls: []string{"GET /api/v1/users/alice@example.com"},
		},
		{
			name: "login differs: found by email search", email: " bob@example.com ",
			want: actions.DirectoryUser{ID: "00ubob", Email: "bob@example.com", DisplayName: "Bob B"},
			calls: []string{
				"GET /api/v1/users/bob@example.com",
				"GET /api/v1/users?limit=10&search=profile.email+eq+%22bob%40example.com%22",
			},
		},
		{name: "unknown", email: "nobody@example.com", wantErr: actions.ErrUnknownUser},
		{name: "deactivated only", email: "ghost@example.com", wantErr: actions.ErrUnknownUser},
		{name: "empty", email: "  ", wantErr: actions.ErrUnknownUser},
		{name: "two users share the email", email: "twin@example.com", errSubstr: "ambiguous"},
		{
			name: "quotes and backslashes are escaped", email: `o"b\q@example.com`,
			want: actions.DirectoryUser{ID: "00uquote", Email: `o"b\q@example.com`},
		},
		{
			name: "a slash goes straight to search", email: "a/b@example.com", wantErr: actions.ErrUnknownUser,
			calls: []string{"GET /api/v1/users?limit=10&search=profile.email+eq+%22a%2Fb%40example.com%22"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f, _ := setup(t)
			got, err := d.ResolveUser(context.Background(), tt.email)
			dirtest.User(t, got, err, tt.want, tt.errSubstr, tt.wantErr)
			if tt.calls != nil {
				if diff := cmp.Diff(tt.calls, f.Calls()); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestResolveUserServerError(t *testing.T) {
	d, f, _ := setup(t)
	f.FailNext("GET /api/v1/users/{id}", fakeokta.Failure{Status: http.StatusForbidden, Code: "E0000006", Detail: "You do not have permission to perform the requested action"})
	_, err := d.ResolveUser(context.Background(), "alice@example.com")
	var de *actions.DirectoryError
	if !errors.As(err, &de) || de.Status != http.StatusForbidden || de.Code != "E0000006" || errors.Is(err, actions.ErrUnknownUser) {
		t.Fatalf("err = %v, want the 403 as a DirectoryError", err)
	}
}

func TestIsPrivileged(t *testing.T) {
	d, _, _ := setup(t)
	for id, want := range map[string]bool{"00uadmin": true, "00uhelp": true, "00ualice": false} {
		got, err := d.IsPrivileged(context.Background(), id)
		if err != nil || got != want {
			t.Errorf("IsPrivileged(%s) = %v, %v; want %v", id, got, err, want)
		}
	}
	_, err := d.IsPrivileged(context.Background(), "00unone")
	var de *actions.DirectoryError
	if !errors.As(err, &de) || de.Status != http.StatusNotFound || de.Code != "E0000007" {
		t.Errorf("unknown user: err = %v", err)
	}
}

func TestPerform(t *testing.T) {
	tests := []struct {
		name        string
		action      actions.Action
		id          string
		fail        map[string]fakeokta.Failure
		wantOutcome actions.Outcome
		wantDetail  string
		wantSecret  bool
		wantErr     string // substring; the error must be a DirectoryError unless unsupported
		wantStatus  string // the user's status afterwards
		wantCalls   []string
	}{
		{
			name: "reset password", action: actions.ResetPassword, id: "00ualice",
			wantOutcome: actions.OutcomeOK, wantDetail: "temporary password", wantSecret: true, wantStatus: "PASSWORD_EXPIRED",
			wantCalls: []string{"POST /api/v1/users/00ualice/lifecycle/expire_password_with_temp_password"},
		},
		{
			name: "reset password of a suspended user", action: actions.ResetPassword, id: "00ucarol",
			wantErr: "403 Forbidden E0000038", wantStatus: "SUSPENDED",
		},
		{
			name: "require re-register MFA", action: actions.RequireReregisterMFA, id: "00ualice",
			wantOutcome: actions.OutcomeOK, wantDetail: "factors reset",
			wantCalls: []string{"POST /api/v1/users/00ualice/lifecycle/reset_factors"},
		},
		{
			name: "require re-register MFA with no factor", action: actions.RequireReregisterMFA, id: "00ubob",
			wantOutcome: actions.OutcomeSkipped, wantDetail: "no MFA factor enrolled",
			wantCalls: []string{"POST /api/v1/users/00ubob/lifecycle/reset_factors", "GET /api/v1/users/00ubob/factors"},
		},
		{
			name: "require re-register MFA forbidden with factors", action: actions.RequireReregisterMFA, id: "00ualice",
			fail:    map[string]fakeokta.Failure{"POST /api/v1/users/{id}/lifecycle/reset_factors": {Status: 403, Code: "E0000006", Detail: "You do not have permission to perform the requested action"}},
			wantErr: "E0000006",
		},
		{
			name: "revoke sessions", action: actions.RevokeMFASessions, id: "00ualice",
			wantOutcome: actions.OutcomeOK, wantDetail: "remembered devices forgotten",
			wantCalls: []string{"DELETE /api/v1/users/00ualice/sessions?forgetDevices=true&oauthTokens=true"},
		},
		{
			name: "block", action: actions.BlockSignIn, id: "00ualice",
			wantOutcome: actions.OutcomeOK, wantDetail: "suspended", wantStatus: "SUSPENDED",
		},
		{
			name: "block an already suspended user", action: actions.BlockSignIn, id: "00ucarol",
			wantOutcome: actions.OutcomeSkipped, wantDetail: "already suspended", wantStatus: "SUSPENDED",
			wantCalls: []string{"POST /api/v1/users/00ucarol/lifecycle/suspend", "GET /api/v1/users/00ucarol"},
		},
		{
			name: "block a deactivated user", action: actions.BlockSignIn, id: "00ughost",
			wantErr: "user status DEPROVISIONED", wantStatus: "DEPROVISIONED",
		},
		{
			name: "unblock", action: actions.UnblockSignIn, id: "00ucarol",
			wantOutcome: actions.OutcomeOK, wantDetail: "unsuspended", wantStatus: "ACTIVE",
		},
		{
			name: "unblock an active user", action: actions.UnblockSignIn, id: "00ualice",
			wantOutcome: actions.OutcomeSkipped, wantDetail: "not suspended (status ACTIVE)", wantStatus: "ACTIVE",
		},
		{
			name: "unblock a deactivated user", action: actions.UnblockSignIn, id: "00ughost",
			wantErr: "Cannot unsuspend", wantStatus: "DEPROVISIONED",
		},
		{
			name: "unknown user", action: actions.BlockSignIn, id: "00unone",
			wantErr: "404 Not Found E0000007",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f, _ := setup(t)
			for k, fl := range tt.fail {
				f.FailNext(k, fl)
			}
			p, err := d.Perform(context.Background(), tt.action, actions.Target{DirectoryID: tt.id, Email: "x@example.com"})
			if tt.wantErr != "" {
				var de *actions.DirectoryError
				if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a DirectoryError containing %q", err, tt.wantErr)
				}
				if de.RequestID == "" {
					t.Errorf("error has no request ID: %v", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if p.Outcome != tt.wantOutcome || !strings.Contains(p.Detail, tt.wantDetail) {
					t.Errorf("Performed = %+v, want %s with %q", p, tt.wantOutcome, tt.wantDetail)
				}
				if (p.Secret != nil) != tt.wantSecret {
					t.Fatalf("secret = %v, want one: %v", p.Secret, tt.wantSecret)
				}
				if p.Secret != nil {
					if p.Secret.Reveal() == "" || strings.Contains(p.Detail, p.Secret.Reveal()) {
						t.Errorf("secret %q empty or in the detail %q", p.Secret.Reveal(), p.Detail)
					}
				}
				if p.Outcome == actions.OutcomeOK && !strings.Contains(p.Detail, "(request-id req-") {
					t.Errorf("detail %q lacks Okta's request ID", p.Detail)
				}
			}
			if tt.wantStatus != "" {
				if got := f.User(tt.id).Status; got != tt.wantStatus {
					t.Errorf("user status = %s, want %s", got, tt.wantStatus)
				}
			}
			if tt.wantCalls != nil {
				if diff := cmp.Diff(tt.wantCalls, f.Calls()); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestPerformUnsupported(t *testing.T) {
	for _, a := range []actions.Action{actions.DeleteAppPasswords, actions.IssueTemporaryAccessPass} {
		d, f, _ := setup(t)
		_, err := d.Perform(context.Background(), a, actions.Target{DirectoryID: "00ualice"})
		if !errors.Is(err, actions.ErrUnsupported) {
			t.Errorf("%s: err = %v, want ErrUnsupported", a, err)
		}
		if n := len(f.Calls()); n != 0 {
			t.Errorf("%s: %d calls made", a, n)
		}
	}
}

func TestThrottling(t *testing.T) {
	rateLimited := fakeokta.Failure{Status: http.StatusTooManyRequests, Code: "E0000047",
		Detail: "API call exceeded rate limit due to too many requests.",
		Header: http.Header{"X-Rate-Limit-Remaining": {"0"}}}
	tests := []struct {
		name       string
		fails      []fakeokta.Failure
		resetIn    time.Duration
		wantErr    string
		wantSleeps int
		minSleep   time.Duration // the first wait at least this
	}{
		{name: "429 then success waits for the reset", fails: []fakeokta.Failure{rateLimited}, resetIn: 20 * time.Second,
			wantSleeps: 1, minSleep: 18 * time.Second},
		{name: "500 and 503 are retried", fails: []fakeokta.Failure{
			{Status: 500, Code: "E0000009", Detail: "Internal Server Error"},
			{Status: 503, Code: "E0000010", Detail: "Service is in read only mode"}},
			wantSleeps: 2},
		{name: "429 until attempts run out", fails: []fakeokta.Failure{rateLimited, rateLimited, rateLimited}, resetIn: 5 * time.Second,
			wantErr: "429 Too Many Requests E0000047", wantSleeps: 2, minSleep: 3 * time.Second},
		{name: "400 is not retried", fails: []fakeokta.Failure{{Status: 400, Code: "E0000001", Detail: "Api validation failed"}},
			wantErr: "400 Bad Request E0000001", wantSleeps: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f, rec := setup(t)
			if tt.resetIn > 0 {
				f.SetResetIn(tt.resetIn)
			}
			f.FailNext("POST /api/v1/users/{id}/lifecycle/suspend", tt.fails...)
			p, err := d.Perform(context.Background(), actions.BlockSignIn, actions.Target{DirectoryID: "00ualice"})
			if tt.wantErr != "" {
				var de *actions.DirectoryError
				if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.wantErr) || de.RequestID == "" {
					t.Fatalf("err = %v, want a DirectoryError with a request ID containing %q", err, tt.wantErr)
				}
				if de.Status == http.StatusTooManyRequests && (!de.Retryable() || de.RetryAfter < tt.minSleep) {
					t.Errorf("429 error: retryable %v, RetryAfter %v", de.Retryable(), de.RetryAfter)
				}
			} else if err != nil || p.Outcome != actions.OutcomeOK {
				t.Fatalf("Perform = %+v, %v", p, err)
			}
			got := rec.All()
			if len(got) != tt.wantSleeps {
				t.Fatalf("waits = %v, want %d", got, tt.wantSleeps)
			}
			if tt.minSleep > 0 && (got[0] < tt.minSleep || got[0] > tt.resetIn+2*time.Second) {
				t.Errorf("first wait = %v, want about %v", got[0], tt.resetIn)
			}
		})
	}
}

func TestPacingWhenRemainingIsZero(t *testing.T) {
	d, f, rec := setup(t)
	f.SetRemaining(0)
	f.SetResetIn(30 * time.Second)
	ctx := context.Background()
	if _, err := d.ResolveUser(ctx, "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	if got := rec.All(); len(got) != 0 {
		t.Fatalf("waited before the first call: %v", got)
	}
	if _, err := d.IsPrivileged(ctx, "00ualice"); err != nil {
		t.Fatal(err)
	}
	got := rec.All()
	if len(got) != 1 || got[0] < 28*time.Second || got[0] > 32*time.Second {
		t.Fatalf("waits = %v, want one of about 30s before the second call", got)
	}

	// The pause is capped by the retry policy's Max.
	d2, f2, rec2 := setup(t)
	d2.api.Retry.Max = 5 * time.Second
	f2.SetRemaining(0)
	f2.SetResetIn(time.Hour)
	_, _ = d2.ResolveUser(ctx, "alice@example.com")
	_, _ = d2.ResolveUser(ctx, "alice@example.com")
	if got := rec2.All(); len(got) != 1 || got[0] != 5*time.Second {
		t.Fatalf("capped waits = %v, want [5s]", got)
	}
}

func TestCheck(t *testing.T) {
	d, _, _ := setup(t)
	dirtest.NoProblems(t, d, actions.ResetPassword, actions.BlockSignIn)
	dirtest.NoProblems(t, d, actions.DeleteAppPasswords) // unsupported
	t.Run("bad token", func(t *testing.T) {
		_, f, _ := setup(t)
		d, err := New(Config{OrgURL: f.URL(), Token: "wrong-token-123", HTTPClient: f.Client()})
		if err != nil {
			t.Fatal(err)
		}
		got := d.Check(context.Background(), nil)
		if len(got) != 1 || !strings.Contains(got[0], "OKTA_API_TOKEN was refused") || !strings.Contains(got[0], "E0000011") {
			t.Fatalf("problems = %q", got)
		}
		fakeapi.NoSecrets(t, "problem", got[0], "wrong-token-123")
	})
	t.Run("token owner holds no role", func(t *testing.T) {
		d, f, _ := setup(t)
		f.SetMe("00ualice")
		got := d.Check(context.Background(), nil)
		if len(got) != 1 || !strings.Contains(got[0], "holds no admin role") {
			t.Errorf("problems = %q", got)
		}
	})
}

// TestSecretsNeverLogged runs the secret-producing action through retries
// with debug logging on and looks for the token and the password in the log.
func TestSecretsNeverLogged(t *testing.T) {
	f := fakeokta.New(t)
	f.AddUser(fakeokta.User{ID: "00ualice", Login: "alice@example.com", Email: "alice@example.com"})
	logger, log := fakeapi.DebugLogger()
	d, err := New(Config{OrgURL: f.URL(), Token: fakeokta.Token, HTTPClient: f.Client(), Logger: logger,
		Retry: httpapi.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	f.FailNext("POST /api/v1/users/{id}/lifecycle/expire_password_with_temp_password",
		fakeokta.Failure{Status: 500, Code: "E0000009", Detail: "Internal Server Error"})
	dirtest.SecretsNeverLogged(t, d, "00ualice", log, "may retry", func() []string { return []string{fakeokta.Token} })
}
