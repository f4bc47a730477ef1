// Package stepup serves the approver step-up endpoints, GET /stepup/start
// and GET /stepup/callback (README, "Approver step-up"): an OpenID Connect
// relying party that sends the approver to the identity provider for a
// fresh sign-in (authorization code with PKCE S256, state, nonce,
// prompt=login, max_age=0), verifies the ID token with coreos/go-oidc and
// hands what it proves to the domain, which decides and records the
// approval.
//
// The browser is bound to the attempt by a cookie holding a random secret:
// only its hash is stored, and the PKCE verifier and the nonce are derived
// from it, so a callback completes only in the browser that opened the link.
package stepup

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
)

// Paths of the endpoints.
const (
	StartPath    = "/stepup/start"
	CallbackPath = "/stepup/callback"
)

// Service is what the handler needs of the domain; *actions.Service
// implements it.
type Service interface {
	StartStepUp(ctx context.Context, token, browserHash string) (actions.StepUp, error)
	CompleteStepUp(ctx context.Context, state, browserHash string, in actions.SignIn) (actions.Request, error)
	FailStepUp(ctx context.Context, state, browserHash, reason string) error
}

var _ Service = (*actions.Service)(nil)

// Config is the step-up configuration: MFADESK_OIDC_ISSUER,
// MFADESK_OIDC_CLIENT_ID, MFADESK_OIDC_CLIENT_SECRET, MFADESK_OIDC_ACR and
// MFADESK_PUBLIC_URL.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	ACR          string
	PublicURL    string
	// HTTPClient reaches the provider; a client with a 15-second timeout
	// when nil.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Validate names every missing or malformed variable, one per line.
func (c Config) Validate() error {
	var errs []error
	for _, v := range []struct{ name, val string }{
		{"MFADESK_PUBLIC_URL", c.PublicURL}, {"MFADESK_OIDC_ISSUER", c.Issuer},
		{"MFADESK_OIDC_CLIENT_ID", c.ClientID}, {"MFADESK_OIDC_CLIENT_SECRET", c.ClientSecret},
	} {
		if strings.TrimSpace(v.val) == "" {
			errs = append(errs, fmt.Errorf("%s: required when the policy has step_up actions", v.name))
			continue
		}
		if v.name != "MFADESK_PUBLIC_URL" && v.name != "MFADESK_OIDC_ISSUER" {
			continue
		}
		u, err := url.Parse(v.val)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("%s: must be an http(s) URL with no query, such as https://mfadesk.example.com", v.name))
		}
	}
	return errors.Join(errs...)
}

// Handler serves the step-up endpoints.
type Handler struct {
	cfg    Config
	svc    Service
	log    *slog.Logger
	client *http.Client
	secure bool
	// cookiePath is MFADESK_PUBLIC_URL's path (behind a reverse proxy that
	// adds a prefix) followed by /stepup/.
	cookiePath string

	mu   sync.Mutex
	prov *oidc.Provider // discovered on first use; nil until then
}

// New returns the handler; it checks cfg but does not reach the provider.
func New(cfg Config, svc Service) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	h := &Handler{cfg: cfg, svc: svc, log: cfg.Logger, client: cfg.HTTPClient,
		secure: strings.HasPrefix(cfg.PublicURL, "https://")}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		h.cookiePath = strings.TrimRight(u.Path, "/") + "/stepup/"
	}
	if h.client == nil {
		h.client = &http.Client{Timeout: 15 * time.Second}
	}
	return h, nil
}

// Routes registers the endpoints on mux.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+StartPath, h.start)
	mux.HandleFunc("GET "+CallbackPath, h.callback)
}

// LinkURL is the link an approver opens: MFADESK_PUBLIC_URL/stepup/start?t=TOKEN.
func LinkURL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + StartPath + "?t=" + url.QueryEscape(token)
}

// Check fetches the provider's discovery document, for `mfadesk check`.
func (h *Handler) Check(ctx context.Context) error {
	_, err := h.provider(ctx)
	return err
}

// provider returns the discovered provider, discovering it on first use; a
// failure is not remembered, so the next request tries again.
func (h *Handler) provider(ctx context.Context) (*oidc.Provider, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prov != nil {
		return h.prov, nil
	}
	// The provider keeps this context for fetching keys later: no deadline
	// of one request in it, the client's timeout bounds each fetch.
	pctx := oidc.ClientContext(context.WithoutCancel(ctx), h.client)
	dctx, cancel := context.WithTimeout(pctx, 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, h.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("MFADESK_OIDC_ISSUER: discovery at %s: %w", h.cfg.Issuer, err)
	}
	h.prov = p
	return p, nil
}

func (h *Handler) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: h.cfg.ClientID, ClientSecret: h.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: h.cfg.PublicURL + CallbackPath, Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

// derive makes the PKCE verifier and the nonce from the browser's secret.
func derive(secret, purpose string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("mfadesk step-up " + purpose))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// cookieName is per attempt, so that one browser can approve several
// requests at once.
func cookieName(state string) string {
	if len(state) > 16 {
		state = state[:16]
	}
	return "mfadesk_stepup_" + state
}

var entraContext = regexp.MustCompile(`^c[0-9]{1,2}$`)

// authParams are the step-up parameters of the authorization request.
func (h *Handler) authParams(p *oidc.Provider, nonce, verifier string) []oauth2.AuthCodeOption {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce),
		oauth2.SetAuthURLParam("max_age", "0")}
	if supportsPromptLogin(p, h.cfg.Issuer) {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	switch acr := h.cfg.ACR; {
	case acr == "":
	case entraContext.MatchString(acr):
		// Entra ID asks for an authentication context with the claims
		// parameter, and reports it in `acrs`.
		claims := fmt.Sprintf(`{"id_token":{"acrs":{"essential":true,"value":%q}}}`, acr)
		opts = append(opts, oauth2.SetAuthURLParam("claims", claims))
	default:
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", acr))
	}
	return opts
}

// supportsPromptLogin: Google does not accept prompt=login (it relies on
// max_age=0); a provider whose discovery lists prompt values without
// "login" does not either.
func supportsPromptLogin(p *oidc.Provider, issuer string) bool {
	if u, err := url.Parse(issuer); err == nil && u.Host == "accounts.google.com" {
		return false
	}
	var d struct {
		Prompts []string `json:"prompt_values_supported"`
	}
	if err := p.Claims(&d); err == nil && len(d.Prompts) > 0 {
		return slices.Contains(d.Prompts, "login")
	}
	return true
}

func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method == http.MethodHead {
		// A link checker's HEAD must not use up the single-use link.
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return
	}
	token := r.URL.Query().Get("t")
	if token == "" {
		h.page(w, http.StatusBadRequest, failed("This sign-in link is incomplete: open it from the Slack message."))
		return
	}
	p, err := h.provider(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "step-up: identity provider unreachable", "error", err)
		h.page(w, http.StatusBadGateway, failed("The identity provider cannot be reached right now. The link still works for a few minutes: try again shortly."))
		return
	}
	secret := actions.NewStepUpSecret()
	att, err := h.svc.StartStepUp(ctx, token, actions.HashSecret(secret))
	if err != nil {
		h.refused(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(att.ID), Value: secret, Path: h.cookiePath,
		MaxAge: int(actions.StepUpSignInTTL / time.Second), HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	u := h.oauth(p).AuthCodeURL(att.ID, h.authParams(p, derive(secret, "nonce"), derive(secret, "pkce"))...)
	h.log.InfoContext(ctx, "step-up: sign-in started", "request_id", att.RequestID, "approver", att.Approver.SlackID)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u, http.StatusFound)
}

func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	var secret, browser string
	if c, err := r.Cookie(cookieName(state)); err == nil && c.Value != "" {
		secret, browser = c.Value, actions.HashSecret(c.Value)
	}
	fail := func(reason string) {
		h.refused(w, r, h.svc.FailStepUp(ctx, state, browser, reason))
	}
	if e := q.Get("error"); e != "" || secret == "" {
		if e == "" {
			fail("no cookie of the browser that opened the link")
		} else {
			fail("the identity provider answered " + problem(e+": "+q.Get("error_description")))
		}
		return
	}
	p, err := h.provider(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "step-up: identity provider unreachable", "error", err)
		fail("the identity provider could not be reached")
		return
	}
	xctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, h.client), 15*time.Second)
	defer cancel()
	tok, err := h.oauth(p).Exchange(xctx, q.Get("code"), oauth2.VerifierOption(derive(secret, "pkce")))
	if err != nil {
		h.log.WarnContext(ctx, "step-up: code exchange failed", "error", err)
		fail("the identity provider did not exchange the code (" + exchangeProblem(err) + ")")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	in, err := h.verify(xctx, p, raw, derive(secret, "nonce"))
	if err != nil {
		h.log.WarnContext(ctx, "step-up: ID token refused", "error", err)
		fail("the ID token did not verify: " + err.Error())
		return
	}
	req, err := h.svc.CompleteStepUp(ctx, state, browser, in)
	if err != nil {
		h.refused(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(state), Path: h.cookiePath, MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	h.page(w, http.StatusOK, approved(req))
}

// claims are the ID token claims step-up reads.
type claims struct {
	Subject       string   `json:"sub"`
	OID           string   `json:"oid"`
	Email         string   `json:"email"`
	EmailVerified flexBool `json:"email_verified"`
	AMR           []string `json:"amr"`
	ACR           string   `json:"acr"`
	ACRS          []string `json:"acrs"`
	AuthTime      int64    `json:"auth_time"`
}

// flexBool reads a JSON boolean, or the strings "true" and "false" that some
// providers send.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*b = flexBool(x)
	case string:
		*b = flexBool(x == "true")
	}
	return nil
}

// verify checks the ID token with go-oidc (signature against the provider's
// keys, issuer, audience, expiry) and its nonce, and returns what it says.
func (h *Handler) verify(ctx context.Context, p *oidc.Provider, raw, nonce string) (actions.SignIn, error) {
	if raw == "" {
		return actions.SignIn{}, errors.New("the token response has no id_token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: h.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return actions.SignIn{}, err
	}
	if !hmac.Equal([]byte(idt.Nonce), []byte(nonce)) {
		return actions.SignIn{}, errors.New("its nonce is not this sign-in's")
	}
	var c claims
	if err := idt.Claims(&c); err != nil {
		return actions.SignIn{}, fmt.Errorf("read its claims: %w", err)
	}
	in := actions.SignIn{Subject: c.Subject, ObjectID: c.OID, Email: c.Email, EmailVerified: bool(c.EmailVerified),
		AMR: c.AMR, ACR: c.ACR, ACRS: c.ACRS}
	if c.AuthTime > 0 {
		in.AuthTime = time.Unix(c.AuthTime, 0).UTC()
	}
	return in, nil
}

// exchangeProblem says why an exchange failed without echoing the
// provider's body at length.
func exchangeProblem(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode != "" {
			return problem(re.ErrorCode)
		}
		if re.Response != nil {
			return re.Response.Status
		}
	}
	return "unreachable"
}

// maxProblem is how many characters of the identity provider's error a
// page or log line shows.
const maxProblem = 200

// problem makes the identity provider's error text fit to show: control
// characters become spaces, and it is cut to maxProblem characters (not
// bytes: a cut never splits a character).
func problem(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = clip.Runes(s, maxProblem)
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ":"))
}
