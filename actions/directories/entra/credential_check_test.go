package entra

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// A refused credential is one line in Authenticate, Check and the Graph
// calls: Entra's description, not azidentity's dump of the response.
func TestCredentialErrorsAreOneLine(t *testing.T) {
	g := fakegraph.New(t)
	auth := fakegraph.NewAuthority(t, testTenant, g.Token())
	auth.Refuse("AADSTS7000215: Invalid client secret provided.")
	cred, err := CredentialFromEnv(envOf(map[string]string{EnvTenantID: testTenant, EnvClientID: testClient,
		EnvClientSecret: testSecret, EnvAuthorityHost: auth.URL()}), auth.Client())
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{GraphURL: g.URL(), Credential: cred, Retry: httpapi.RetryPolicy{Attempts: 1, Base: 1, Max: 1}})
	if err != nil {
		t.Fatal(err)
	}
	const want = "ClientSecretCredential: HTTP 401 invalid_client: AADSTS7000215: Invalid client secret provided."
	aerr := d.Authenticate(context.Background(), false)
	_, rerr := d.ResolveUser(context.Background(), "ada@contoso.com")
	check := d.Check(context.Background(), actions.AllActions())
	if len(check) != 1 {
		t.Fatalf("Check = %q, want one line", check)
	}
	for name, msg := range map[string]string{"Authenticate": errString(aerr), "ResolveUser": errString(rerr), "Check": check[0]} {
		if !strings.Contains(msg, want) || strings.Contains(msg, "\n") || strings.Contains(msg, "RESPONSE") ||
			strings.Contains(msg, "Trace ID") || strings.Contains(msg, testSecret) {
			t.Errorf("%s: %q, want one line with %q", name, msg, want)
		}
	}
}

// With no app credential, a managed identity that does not answer gives one
// line naming the variables to set.
func TestNoCredentialsNamesTheVariables(t *testing.T) {
	fakegraph.RefuseManagedIdentity(t)
	env := envOf(map[string]string{})
	if !ManagedIdentityOnly(env) || ManagedIdentityOnly(envOf(map[string]string{EnvClientSecret: "x"})) {
		t.Fatal("ManagedIdentityOnly is wrong")
	}
	cred, err := CredentialFromEnv(env, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{GraphURL: "https://graph.microsoft.com", Credential: cred})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Authenticate(context.Background(), true)
	if !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("err = %v, want ErrNoCredentials", err)
	}
	for _, v := range []string{EnvTenantID, EnvClientID, EnvClientSecret} {
		if !strings.Contains(err.Error(), v) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want one line naming %s", err, v)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
