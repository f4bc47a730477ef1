package fakeidp_test

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/mfadesk/mfadesk/bot/stepup/fakeidp"
)

const redirect = "http://127.0.0.1:1/cb"

type claims struct {
	Sub           string   `json:"sub"`
	OID           string   `json:"oid"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	AMR           []string `json:"amr"`
	ACR           string   `json:"acr"`
	ACRS          []string `json:"acrs"`
	AuthTime      int64    `json:"auth_time"`
	Nonce         string   `json:"nonce"`
}

// signIn runs the authorization code flow with PKCE against idp as a
// relying party would, choosing c on the sign-in page, and returns the
// verified ID token's claims.
func signIn(t *testing.T, idp *fakeidp.Provider, c fakeidp.Choice) claims {
	t.Helper()
	ctx := t.Context()
	prov, err := oidc.NewProvider(ctx, idp.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: "mfadesk", ClientSecret: "s3cret", Endpoint: prov.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n0nce"),
		oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "0"))
	jar, _ := cookiejar.New(nil)
	var last *url.URL
	browser := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		last = r.URL
		if r.URL.Host == "127.0.0.1:1" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || last == nil {
		t.Fatalf("authorize: %s, want the sign-in page", resp.Status)
	}
	id := last.Query().Get(fakeidp.FieldRequest)
	resp, err = browser.PostForm(idp.Issuer()+"/login", c.Form(id))
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || last.Host != "127.0.0.1:1" {
		t.Fatalf("sign in: %s to %v, want a redirect to the client", resp.Status, last)
	}
	if got := last.Query().Get("state"); got != "st" {
		t.Fatalf("state %q", got)
	}
	code := last.Query().Get("code")
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := prov.Verifier(&oidc.Config{ClientID: "mfadesk"}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var cl claims
	if err := idt.Claims(&cl); err != nil {
		t.Fatal(err)
	}
	// The code is single-use, as at a real provider.
	if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err == nil {
		t.Errorf("a second exchange of the same code succeeded")
	}
	return cl
}

func TestSignIn(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	idp, err := fakeidp.Start(fakeidp.Options{
		Users: []fakeidp.User{
			{Subject: "00u1", Email: "ann@example.com", EmailVerified: true, Name: "Ann"},
			{Subject: "sub-bob", OID: "oid-bob", Email: "bob@example.com", Name: "Bob"},
		},
		ClientID: "mfadesk", ClientSecret: "s3cret", RedirectURIs: []string{redirect},
		ACRs: []string{"c1"}, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })

	tests := []struct {
		name   string
		choice fakeidp.Choice
		want   claims
	}{
		{"with MFA", fakeidp.Choice{Subject: "00u1", MFA: true},
			claims{Sub: "00u1", Email: "ann@example.com", EmailVerified: true, AMR: []string{"pwd", "mfa", "otp"}, AuthTime: now.Unix(), Nonce: "n0nce"}},
		{"without MFA, long ago", fakeidp.Choice{Subject: "00u1", Age: 15 * time.Minute},
			claims{Sub: "00u1", Email: "ann@example.com", EmailVerified: true, AMR: []string{"pwd"}, AuthTime: now.Add(-15 * time.Minute).Unix(), Nonce: "n0nce"}},
		{"Entra-style oid and acrs", fakeidp.Choice{Subject: "sub-bob", MFA: true, ACR: "c1"},
			claims{Sub: "sub-bob", OID: "oid-bob", Email: "bob@example.com", AMR: []string{"pwd", "mfa", "otp"}, ACR: "c1", ACRS: []string{"c1"}, AuthTime: now.Unix(), Nonce: "n0nce"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := signIn(t, idp, tt.choice)
			if got.Sub != tt.want.Sub || got.OID != tt.want.OID || got.Email != tt.want.Email ||
				got.EmailVerified != tt.want.EmailVerified || !slices.Equal(got.AMR, tt.want.AMR) ||
				got.ACR != tt.want.ACR || !slices.Equal(got.ACRS, tt.want.ACRS) ||
				got.AuthTime != tt.want.AuthTime || got.Nonce != tt.want.Nonce {
				t.Errorf("claims\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	reqs := idp.Requests()
	if len(reqs) != len(tests) {
		t.Fatalf("%d authorization requests recorded, want %d", len(reqs), len(tests))
	}
	if r := reqs[0]; r.Method != "S256" || r.CodeChallenge == "" || !slices.Equal(r.Prompt, []string{"login"}) || r.MaxAge == nil || *r.MaxAge != 0 {
		t.Errorf("recorded request %+v: want S256, prompt=login, max_age=0", r)
	}
}

func TestRefusesUnregisteredRedirect(t *testing.T) {
	idp, err := fakeidp.Start(fakeidp.Options{Users: []fakeidp.User{{Subject: "u"}}, ClientID: "c", ClientSecret: "s", RedirectURIs: []string{redirect}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })
	q := url.Values{"client_id": {"c"}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {"http://127.0.0.1:2/evil"}, "state": {"s"}}
	resp, err := http.Get(idp.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && resp.Request.URL.Path == "/login" {
		t.Errorf("an unregistered redirect URI reached the sign-in page")
	}
	if err := idp.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(idp.Issuer() + "/.well-known/openid-configuration"); err == nil || errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("a closed provider still answers")
	}
}
