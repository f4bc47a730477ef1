package fakegraph

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// Authority is a local Microsoft Entra token authority over TLS for one
// tenant: the OpenID configuration azidentity reads and a v2.0 token
// endpoint that hands out one access token to every client-credentials
// request. Its certificate is httptest's, valid for 127.0.0.1: trust it with
// Client, or, in another process, with CertPEM written to the file
// SSL_CERT_FILE names.
type Authority struct {
	srv    *httptest.Server
	tenant string

	token     fakeapi.Var[string]
	refuse    fakeapi.Var[string] // error_description of a refused client, "" to issue tokens
	forms     fakeapi.Log[url.Values]
	discovery atomic.Int64
}

// NewAuthority starts an authority for tenant that issues token, stopped
// when t ends.
func NewAuthority(t testing.TB, tenant, token string) *Authority {
	t.Helper()
	a := &Authority{tenant: tenant}
	a.token.Set(token)
	a.srv = fakeapi.StartTLS(t, http.HandlerFunc(a.serve))
	return a
}

// RefuseManagedIdentity makes azidentity find, until t ends, a managed
// identity endpoint (App Service's, through IDENTITY_ENDPOINT and
// IDENTITY_HEADER) that refuses every request, as one with no identity
// assigned does. Like t.Setenv, it cannot be used in parallel tests.
func RefuseManagedIdentity(t testing.TB) {
	t.Helper()
	mi := fakeapi.Start(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"invalid_request","error_description":"no identity"}`, http.StatusBadRequest)
	}))
	t.Setenv("IDENTITY_ENDPOINT", mi.URL)
	t.Setenv("IDENTITY_HEADER", "h")
}

// URL is the authority host with a trailing slash, as AZURE_AUTHORITY_HOST
// takes it.
func (a *Authority) URL() string { return a.srv.URL + "/" }

// Client is an HTTP client that trusts the authority's certificate.
func (a *Authority) Client() *http.Client { return a.srv.Client() }

// CertPEM is the authority's certificate, PEM-encoded.
func (a *Authority) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.srv.Certificate().Raw})
}

// SetToken makes the authority issue tok from now on.
func (a *Authority) SetToken(tok string) { a.token.Set(tok) }

// Refuse makes the token endpoint refuse every client from now on, as Entra
// refuses a wrong secret: 401 invalid_client with description (such as
// "AADSTS7000215: Invalid client secret provided."), followed by Entra's
// trace and correlation lines. An empty description issues tokens again.
func (a *Authority) Refuse(description string) { a.refuse.Set(description) }

// Forms returns the token requests' forms, oldest first.
func (a *Authority) Forms() []url.Values { return a.forms.All() }

// Discoveries counts the reads of the OpenID configuration.
func (a *Authority) Discoveries() int { return int(a.discovery.Load()) }

func (a *Authority) serve(w http.ResponseWriter, r *http.Request) {
	base := a.srv.URL + "/" + a.tenant
	switch r.URL.Path {
	case "/" + a.tenant + "/v2.0/.well-known/openid-configuration":
		a.discovery.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"issuer":                 base + "/v2.0",
		})
	case "/" + a.tenant + "/oauth2/v2.0/token":
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		a.forms.Add(r.PostForm)
		token, refuse := a.token.Get(), a.refuse.Get()
		w.Header().Set("Content-Type", "application/json")
		if refuse != "" {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{
				"error": "invalid_client", "error_codes": []int{7000215},
				"error_description": refuse + " Trace ID: 0000 Correlation ID: 1111 Timestamp: 2026-01-01 00:00:00Z",
			})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token,
		})
	default:
		http.Error(w, "unexpected "+r.URL.Path, 404)
	}
}
