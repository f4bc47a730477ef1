// Package fakeidp is an OpenID Connect provider for tests and for
// `mfadesk demo`: zitadel/oidc's certified `op` package serving on
// 127.0.0.1, signing real RS256 ID tokens, with a small sign-in page where
// whoever signs in chooses who they are and how they signed in (with MFA or
// without, which `acr`, and how long ago), so that the claims mfadesk's
// step-up checks (`sub`, `oid`, `email`, `amr`, `acr`, `acrs`, `auth_time`)
// can be made right or wrong on purpose.
//
// It is not a real identity provider: there are no passwords. It speaks the
// same protocol as Entra ID, Okta and Google (discovery, JWKS, authorization
// code with PKCE, client secret at the token endpoint), which is what
// mfadesk depends on.
//
//	idp, err := fakeidp.Start(fakeidp.Options{Users: users, ClientID: "mfadesk", ClientSecret: "s3cret",
//		RedirectURIs: []string{"http://127.0.0.1:8080/stepup/callback"}})
//	defer idp.Close()
//	// MFADESK_OIDC_ISSUER=idp.Issuer()
package fakeidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// User is a person who can sign in.
type User struct {
	// Subject is the token's `sub`: for Okta and Google, the user's ID in
	// the directory.
	Subject string
	// OID, when set, is put in the token's `oid` claim, as Entra ID does
	// with the user's object ID.
	OID string
	// Email is the `email` claim; EmailVerified its `email_verified`.
	Email         string
	EmailVerified bool
	Name          string
}

// Options configure a provider. Users, ClientID, ClientSecret and
// RedirectURIs are required.
type Options struct {
	Users        []User
	ClientID     string
	ClientSecret string
	// RedirectURIs are the registered redirect URIs of the client; an
	// authorization request with any other is refused, as real providers do.
	RedirectURIs []string
	// ACRs are the `acr` values the sign-in page offers (e.g.
	// "urn:okta:loa:2fa:any" or an Entra authentication context "c1").
	ACRs []string
	// Now is the provider's clock, for `auth_time`; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Addr is where Start listens; 127.0.0.1:0 when empty.
	Addr string
}

// Provider is a running fake identity provider.
type Provider struct {
	opts     Options
	issuer   string
	srv      *http.Server
	ln       net.Listener
	op       *op.Provider
	store    *storage
	handler  http.Handler
	closeOne sync.Once
}

// Start listens on Options.Addr (127.0.0.1:0 by default) and serves the
// provider there; its issuer is http://ADDR. Close stops it.
func Start(o Options) (*Provider, error) {
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fakeidp: listen: %w", err)
	}
	p, err := New("http://"+ln.Addr().String(), o)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	p.ln = ln
	p.srv = &http.Server{Handler: p.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// New returns a provider for issuer without listening: serve Handler at the
// root of issuer yourself.
func New(issuer string, o Options) (*Provider, error) {
	switch {
	case len(o.Users) == 0:
		return nil, errors.New("fakeidp: no users")
	case o.ClientID == "" || o.ClientSecret == "":
		return nil, errors.New("fakeidp: client ID and secret are required")
	case len(o.RedirectURIs) == 0:
		return nil, errors.New("fakeidp: no redirect URIs")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("fakeidp: signing key: %w", err)
	}
	st := &storage{opts: o, key: key, keyID: randomID(), requests: map[string]*authRequest{}, codes: map[string]string{}}
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("fakeidp: %w", err)
	}
	prov, err := op.NewProvider(&op.Config{
		CryptoKey:      cryptoKey,
		CodeMethodS256: true,
		AuthMethodPost: true,
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure(), op.WithLogger(o.Logger))
	if err != nil {
		return nil, fmt.Errorf("fakeidp: %w", err)
	}
	p := &Provider{opts: o, issuer: issuer, op: prov, store: st}
	mux := http.NewServeMux()
	mux.Handle("GET "+loginPath, http.HandlerFunc(p.loginPage))
	mux.Handle("POST "+loginPath, op.NewIssuerInterceptor(prov.IssuerFromRequest).HandlerFunc(p.loginSubmit))
	mux.Handle("/", prov)
	p.handler = mux
	return p, nil
}

// Issuer is the provider's issuer URL, for MFADESK_OIDC_ISSUER.
func (p *Provider) Issuer() string { return p.issuer }

// Handler serves the provider: discovery, keys, authorization, the sign-in
// page and the token endpoint.
func (p *Provider) Handler() http.Handler { return p.handler }

// Close stops a provider made by Start; afterwards it refuses connections,
// like a provider that is down.
func (p *Provider) Close() error {
	var err error
	p.closeOne.Do(func() {
		if p.srv != nil {
			err = p.srv.Close()
		}
	})
	return err
}

// Requests returns the authorization requests the provider received, oldest
// first, as the parameters that matter to step-up.
func (p *Provider) Requests() []AuthParams {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	return append([]AuthParams(nil), p.store.seen...)
}

// AuthParams are the parameters of one authorization request.
type AuthParams struct {
	ClientID      string
	RedirectURI   string
	Scopes        []string
	Prompt        []string
	MaxAge        *uint
	ACRValues     []string
	CodeChallenge string
	Method        string
	Nonce         string
	State         string
}

func randomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return fmt.Sprintf("%x", b[:])
}

// storage is the in-memory op.Storage behind the provider.
type storage struct {
	opts  Options
	key   *rsa.PrivateKey
	keyID string

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code -> request ID
	seen     []AuthParams
}

var _ op.Storage = (*storage)(nil)

type authRequest struct {
	id        string
	clientID  string
	redirect  string
	state     string
	nonce     string
	scopes    []string
	challenge *oidc.CodeChallenge
	respType  oidc.ResponseType
	respMode  oidc.ResponseMode

	done     bool
	user     User
	amr      []string
	acr      string
	authTime time.Time
}

var _ op.AuthRequest = (*authRequest)(nil)

func (a *authRequest) GetID() string                         { return a.id }
func (a *authRequest) GetACR() string                        { return a.acr }
func (a *authRequest) GetAMR() []string                      { return a.amr }
func (a *authRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *authRequest) GetClientID() string                   { return a.clientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *authRequest) GetNonce() string                      { return a.nonce }
func (a *authRequest) GetRedirectURI() string                { return a.redirect }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.respType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.respMode }
func (a *authRequest) GetScopes() []string                   { return a.scopes }
func (a *authRequest) GetState() string                      { return a.state }
func (a *authRequest) GetSubject() string                    { return a.user.Subject }
func (a *authRequest) Done() bool                            { return a.done }

type notFound struct{ what string }

func (e notFound) Error() string { return e.what + " not found" }
func (notFound) IsNotFound()     {}

func (s *storage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	a := &authRequest{id: randomID(), clientID: r.ClientID, redirect: r.RedirectURI, state: r.State,
		nonce: r.Nonce, scopes: r.Scopes, respType: r.ResponseType, respMode: r.ResponseMode}
	if r.CodeChallenge != "" {
		a.challenge = &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[a.id] = a
	s.seen = append(s.seen, AuthParams{ClientID: r.ClientID, RedirectURI: r.RedirectURI, Scopes: r.Scopes,
		Prompt: r.Prompt, MaxAge: r.MaxAge, ACRValues: r.ACRValues, CodeChallenge: r.CodeChallenge,
		Method: string(r.CodeChallengeMethod), Nonce: r.Nonce, State: r.State})
	return a, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok {
		return a, nil
	}
	return nil, notFound{"auth request"}
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[s.codes[code]]; ok {
		return a, nil
	}
	return nil, notFound{"code"}
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once the code is exchanged: the code then
// stops working, so a replayed code is refused.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for c, rid := range s.codes {
		if rid == id {
			delete(s.codes, c)
		}
	}
	return nil
}

// finish marks request id signed in as u.
func (s *storage) finish(id string, u User, mfa bool, acr string, authTime time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.requests[id]
	if !ok {
		return notFound{"auth request"}
	}
	a.done, a.user, a.acr, a.authTime = true, u, acr, authTime.UTC().Truncate(time.Second)
	a.amr = []string{"pwd"}
	if mfa {
		a.amr = []string{"pwd", "mfa", "otp"}
	}
	return nil
}

func (s *storage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return randomID(), time.Now().Add(5 * time.Minute), nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("fakeidp: no refresh tokens")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *storage) TerminateSession(context.Context, string, string) error { return nil }

func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error { return nil }

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.keyID, s.key}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{signingKey{s.keyID, s.key}}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.opts.ClientID {
		return nil, notFound{"client"}
	}
	return client{s.opts}, nil
}

// AuthorizeClientIDSecret compares hashes, so the comparison takes the same
// time whatever the secret.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	a, b := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(s.opts.ClientSecret))
	if id != s.opts.ClientID || a != b {
		return oidc.ErrInvalidClient().WithDescription("wrong client ID or secret")
	}
	return nil
}

func (s *storage) user(sub string) (User, bool) {
	for _, u := range s.opts.Users {
		if u.Subject == sub {
			return u, true
		}
	}
	return User{}, false
}

func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, sub, _ string, scopes []string) error {
	u, ok := s.user(sub)
	if !ok {
		return notFound{"user"}
	}
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email, info.EmailVerified = u.Email, oidc.Bool(u.EmailVerified)
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name, info.PreferredUsername = u.Name, u.Email
	}
	return nil
}

// SetUserinfoFromRequest adds Entra ID's `oid` and, for an Entra-style
// authentication context, its `acrs` list, to the ID token.
func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, r op.IDTokenRequest, _ []string) error {
	u, ok := s.user(r.GetSubject())
	if !ok {
		return notFound{"user"}
	}
	if u.OID != "" {
		info.AppendClaims("oid", u.OID)
		if a, ok := r.(*authRequest); ok && a.acr != "" {
			info.AppendClaims("acrs", []string{a.acr})
		}
	}
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, _, sub, _ string) error {
	return s.SetUserinfoFromScopes(context.Background(), info, sub, "", []string{oidc.ScopeEmail, oidc.ScopeProfile})
}

func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("fakeidp: no introspection")
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("fakeidp: no JWT profile")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("fakeidp: no JWT profile")
}

func (s *storage) Health(context.Context) error { return nil }

// client is the one registered client: a confidential web app.
type client struct{ opts Options }

var _ op.Client = client{}

func (c client) GetID() string                    { return c.opts.ClientID }
func (c client) RedirectURIs() []string           { return c.opts.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string { return nil }
func (c client) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c client) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }
func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c client) LoginURL(id string) string    { return loginPath + "?id=" + id }
func (c client) AccessTokenType() op.AccessTokenType {
	return op.AccessTokenTypeBearer
}
func (c client) IDTokenLifetime() time.Duration { return 5 * time.Minute }

// DevMode allows http redirect URIs on 127.0.0.1, as the fake runs there.
func (c client) DevMode() bool { return true }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) IsScopeAllowed(string) bool           { return false }
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) ClockSkew() time.Duration             { return 0 }
