package entra

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

const (
	testTenant = "11111111-2222-3333-4444-555555555555"
	testClient = "66666666-7777-8888-9999-000000000000"
	testSecret = "s3cr3t-value-never-printed"
)

// lastForm is the last token request that reached auth.
func lastForm(t *testing.T, auth *fakegraph.Authority) url.Values {
	t.Helper()
	forms := auth.Forms()
	if len(forms) == 0 {
		t.Fatal("no token request reached the authority")
	}
	return forms[len(forms)-1]
}

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestTokenFromLocalAuthority gets a real token through azidentity from a
// local TLS authority and checks that Graph receives it.
func TestTokenFromLocalAuthority(t *testing.T) {
	certPath, _ := writeCert(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("kubernetes-sa-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(t *testing.T, f url.Values)
	}{
		{"client secret", map[string]string{EnvClientSecret: testSecret}, func(t *testing.T, f url.Values) {
			if f.Get("client_secret") != testSecret {
				t.Errorf("client_secret %q", f.Get("client_secret"))
			}
		}},
		{"client certificate", map[string]string{EnvCertificatePath: certPath}, func(t *testing.T, f url.Values) {
			if strings.Count(f.Get("client_assertion"), ".") != 2 {
				t.Errorf("client_assertion %q is not a JWT", f.Get("client_assertion"))
			}
		}},
		{"workload identity", map[string]string{EnvFederatedTokenFile: tokenFile}, func(t *testing.T, f url.Values) {
			if f.Get("client_assertion") != "kubernetes-sa-token" {
				t.Errorf("client_assertion %q", f.Get("client_assertion"))
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := fakegraph.New(t)
			auth := fakegraph.NewAuthority(t, testTenant, g.Token())
			env := map[string]string{EnvTenantID: testTenant, EnvClientID: testClient, EnvAuthorityHost: auth.URL()}
			for k, v := range tc.env {
				env[k] = v
			}
			cred, err := CredentialFromEnv(envOf(env), auth.Client())
			if err != nil {
				t.Fatal(err)
			}
			d, err := New(Config{GraphURL: g.URL(), Credential: cred})
			if err != nil {
				t.Fatal(err)
			}
			u := g.AddUser(fakegraph.User{UPN: "ada@contoso.com"})
			got, err := d.ResolveUser(context.Background(), "ada@contoso.com")
			if err != nil || got.ID != u.ID {
				t.Fatalf("ResolveUser = %+v, %v (the fake accepts only the authority's token)", got, err)
			}
			f := lastForm(t, auth)
			if f.Get("client_id") != testClient || f.Get("grant_type") != "client_credentials" ||
				!slices.Contains(strings.Fields(f.Get("scope")), g.URL()+"/.default") {
				t.Errorf("token request client_id %q grant_type %q scope %q", f.Get("client_id"), f.Get("grant_type"), f.Get("scope"))
			}
			tc.check(t, f)
			if auth.Discoveries() == 0 {
				t.Error("the authority's OpenID configuration was not read")
			}
			// Check reads the same token.
			if lines := d.Check(context.Background(), actions.AllActions()); len(lines) != 0 {
				t.Errorf("Check = %q", lines)
			}
		})
	}
}

func TestScopeOfNationalCloud(t *testing.T) {
	_, scope, err := graphRoot("https://graph.microsoft.us")
	if err != nil || scope != "https://graph.microsoft.us/.default" {
		t.Errorf("scope %q, %v", scope, err)
	}
	_, scope, _ = graphRoot("https://microsoftgraph.chinacloudapi.cn/")
	if scope != "https://microsoftgraph.chinacloudapi.cn/.default" {
		t.Errorf("scope %q", scope)
	}
}

func TestCredentialFromEnvKinds(t *testing.T) {
	certPath, _ := writeCert(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tokenFile, []byte("x"), 0o600)
	app := map[string]string{EnvTenantID: testTenant, EnvClientID: testClient}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range app {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want any
	}{
		{"secret", with(map[string]string{EnvClientSecret: testSecret}), &azidentity.ClientSecretCredential{}},
		{"secret wins over certificate", with(map[string]string{EnvClientSecret: testSecret, EnvCertificatePath: certPath}), &azidentity.ClientSecretCredential{}},
		{"certificate", with(map[string]string{EnvCertificatePath: certPath}), &azidentity.ClientCertificateCredential{}},
		{"workload identity", with(map[string]string{EnvFederatedTokenFile: tokenFile}), &azidentity.WorkloadIdentityCredential{}},
		{"system-assigned managed identity", map[string]string{}, &azidentity.ManagedIdentityCredential{}},
		{"user-assigned managed identity", map[string]string{EnvClientID: testClient}, &azidentity.ManagedIdentityCredential{}},
		{"sovereign authority", with(map[string]string{EnvClientSecret: testSecret, EnvAuthorityHost: "https://login.microsoftonline.us/"}), &azidentity.ClientSecretCredential{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := CredentialFromEnv(envOf(tc.env), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := fmt.Sprintf("%T", cred), fmt.Sprintf("%T", tc.want); got != want {
				t.Errorf("credential %s, want %s", got, want)
			}
		})
	}
}

func TestCredentialFromEnvErrors(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	_ = os.WriteFile(garbage, []byte("not a certificate"), 0o600)
	pemCert, _ := writeCert(t)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"secret without tenant", map[string]string{EnvClientSecret: testSecret, EnvClientID: testClient}, EnvTenantID},
		{"secret without client", map[string]string{EnvClientSecret: testSecret, EnvTenantID: testTenant}, EnvClientID},
		{"malformed client ID", map[string]string{EnvClientSecret: testSecret, EnvClientID: "my-app", EnvTenantID: testTenant}, EnvClientID},
		{"malformed managed identity ID", map[string]string{EnvClientID: "my-app"}, EnvClientID},
		{"malformed tenant", map[string]string{EnvClientSecret: testSecret, EnvClientID: testClient, EnvTenantID: "contoso/../x"}, EnvTenantID},
		{"authority not https", map[string]string{EnvClientSecret: testSecret, EnvClientID: testClient, EnvTenantID: testTenant,
			EnvAuthorityHost: "http://login.example.com/"}, EnvAuthorityHost},
		{"missing certificate file", map[string]string{EnvCertificatePath: "/nonexistent/cert.pem", EnvClientID: testClient, EnvTenantID: testTenant}, EnvCertificatePath},
		{"unreadable certificate", map[string]string{EnvCertificatePath: garbage, EnvClientID: testClient, EnvTenantID: testTenant}, EnvCertificatePath},
		// With a password, azidentity reads PKCS#12 only.
		{"password for a PEM certificate", map[string]string{EnvCertificatePath: pemCert, EnvCertificatePassword: "wrong-" + testSecret,
			EnvClientID: testClient, EnvTenantID: testTenant}, EnvCertificatePath},
		{"token file without tenant", map[string]string{EnvFederatedTokenFile: garbage, EnvClientID: testClient}, EnvTenantID},
		{"missing token file", map[string]string{EnvFederatedTokenFile: "/nonexistent/token", EnvClientID: testClient, EnvTenantID: testTenant}, EnvFederatedTokenFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CredentialFromEnv(envOf(tc.env), nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantVar) {
				t.Fatalf("error %v, want one naming %s", err, tc.wantVar)
			}
			fakeapi.NoSecrets(t, "error", err.Error(), testSecret)
		})
	}
}

func TestInstanceDiscoveryOnlyForPublicClouds(t *testing.T) {
	// A private authority must not trigger a request to
	// login.microsoftonline.com: with discovery off, the only requests go to
	// the local authority (the token test above would fail otherwise, since
	// the transport trusts only the local server). Here: the public hosts.
	for host, public := range map[string]bool{
		"login.microsoftonline.com": true, "login.microsoftonline.us": true, "login.chinacloudapi.cn": true,
		"login.example.com": false, "127.0.0.1": false,
	} {
		if publicAuthorities[host] != public {
			t.Errorf("%s public = %v", host, !public)
		}
	}
}

// writeCert writes a self-signed certificate and its RSA key as PEM.
func writeCert(t *testing.T) (path string, cert *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mfadesk test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyBlock := &pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(keyBlock)...)
	path = filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return path, c
}
