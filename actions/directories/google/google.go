// Package google is the Google Workspace directory: a small client over the
// Admin SDK Directory API (directory_v1), authenticated as a service account
// with domain-wide delegation that acts as an admin user.
package google

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	googleoauth "golang.org/x/oauth2/google"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// DefaultAPIURL is the Admin SDK's base URL.
const DefaultAPIURL = "https://admin.googleapis.com"

// The OAuth scopes the directory asks for. Both must be granted to the
// service account's client ID under domain-wide delegation.
const (
	ScopeUser         = "https://www.googleapis.com/auth/admin.directory.user"
	ScopeUserSecurity = "https://www.googleapis.com/auth/admin.directory.user.security"
)

// Scopes are ScopeUser and ScopeUserSecurity.
var Scopes = []string{ScopeUser, ScopeUserSecurity}

// basePath prefixes every Directory API method.
const basePath = "/admin/directory/v1"

// Config is what the Google directory needs: Admin, and credentials as
// CredentialsFile, CredentialsJSON or a TokenSource.
type Config struct {
	// APIURL is the Admin SDK base URL (MFADESK_GOOGLE_API_URL); empty
	// means DefaultAPIURL. http is accepted only for a loopback host.
	APIURL string
	// Admin is the admin user the service account acts as
	// (MFADESK_GOOGLE_ADMIN): the JWT's subject.
	Admin string
	// CredentialsFile is the path of a service-account key with domain-wide
	// delegation (MFADESK_GOOGLE_CREDENTIALS). CredentialsJSON, when set,
	// is used instead.
	CredentialsFile string
	CredentialsJSON []byte
	// TokenURL overrides the key's token_uri (tests).
	TokenURL string
	// TokenSource, when set, supplies access tokens and the key is not
	// read (tests).
	TokenSource oauth2.TokenSource
	// HTTPClient, Retry, Timeout, Now and Sleep are the shared HTTP
	// client's (see httpapi.Options): zero values take its defaults.
	// HTTPClient serves the token endpoint too.
	HTTPClient *http.Client
	Retry      httpapi.RetryPolicy
	Timeout    time.Duration
	Now        func() time.Time
	Sleep      func(context.Context, time.Duration) error
	Logger     *slog.Logger
}

// Directory acts on a Google Workspace account. It is safe for concurrent
// use.
type Directory struct {
	api   *httpapi.Client
	ts    oauth2.TokenSource
	admin string
	now   func() time.Time
	log   *slog.Logger
	// performers does each action Google Workspace automates.
	performers httpapi.Performers

	mu    sync.Mutex
	cache map[string]cached // user ID -> recently read user
}

var _ actions.Directory = (*Directory)(nil)

// New checks cfg, reads the service-account key and returns the directory.
// It makes no call to Google (see Check). Errors name the environment
// variable at fault and never contain key material.
func New(cfg Config) (*Directory, error) {
	if strings.TrimSpace(cfg.APIURL) == "" {
		cfg.APIURL = DefaultAPIURL
	}
	base, err := httpapi.CheckBaseURL(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("google: MFADESK_GOOGLE_API_URL: %w", err)
	}
	admin := strings.TrimSpace(cfg.Admin)
	switch {
	case admin == "":
		return nil, errors.New("google: MFADESK_GOOGLE_ADMIN is required")
	case !strings.Contains(admin, "@") || strings.ContainsAny(admin, " /"):
		return nil, errors.New("google: MFADESK_GOOGLE_ADMIN: want an admin user's email address")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With(slog.String("directory", "google"))
	d := &Directory{admin: admin, log: log, cache: map[string]cached{}}
	d.api, err = httpapi.New(httpapi.Options{
		BaseURL:   base + basePath,
		HTTP:      cfg.HTTPClient,
		Retry:     cfg.Retry,
		Timeout:   cfg.Timeout,
		Now:       cfg.Now,
		Sleep:     cfg.Sleep,
		Logger:    log,
		UserAgent: "mfadesk",
		Authorize: func(_ context.Context, req *http.Request) error {
			tok, err := d.token()
			if err != nil {
				return err
			}
			tok.SetAuthHeader(req)
			return nil
		},
		Decode: decodeError,
	})
	if err != nil {
		return nil, fmt.Errorf("google: %w", err)
	}
	d.now = d.api.Now
	d.performers = d.newPerformers()
	d.ts = cfg.TokenSource
	if d.ts == nil {
		if d.ts, err = jwtTokenSource(cfg, admin, d.api.HTTP, d.api.Timeout); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// jwtTokenSource builds the delegated token source from the service-account
// key: a JWT signed with the key, whose subject is the admin and whose
// scope is Scopes, exchanged at the key's token endpoint.
func jwtTokenSource(cfg Config, admin string, client *http.Client, timeout time.Duration) (oauth2.TokenSource, error) {
	key := cfg.CredentialsJSON
	if len(key) == 0 {
		if strings.TrimSpace(cfg.CredentialsFile) == "" {
			return nil, errors.New("google: MFADESK_GOOGLE_CREDENTIALS is required: the path of a service-account key")
		}
		b, err := os.ReadFile(cfg.CredentialsFile)
		if err != nil {
			return nil, fmt.Errorf("google: MFADESK_GOOGLE_CREDENTIALS: %w", err)
		}
		key = b
	}
	conf, err := googleoauth.JWTConfigFromJSON(key, Scopes...)
	if err != nil {
		return nil, fmt.Errorf("google: MFADESK_GOOGLE_CREDENTIALS: not a service-account key: %w", err)
	}
	if conf.Email == "" {
		return nil, errors.New("google: MFADESK_GOOGLE_CREDENTIALS: the key has no client_email")
	}
	if block, _ := pem.Decode(conf.PrivateKey); block == nil {
		return nil, errors.New("google: MFADESK_GOOGLE_CREDENTIALS: the key has no PEM private_key")
	}
	conf.Subject = admin
	if cfg.TokenURL != "" {
		conf.TokenURL = cfg.TokenURL
	}
	if conf.TokenURL == "" {
		conf.TokenURL = googleoauth.JWTTokenURL
	}
	// The token fetch cannot take the caller's context, so its client gets
	// a timeout of its own.
	hc := *client
	if hc.Timeout == 0 {
		hc.Timeout = timeout
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &hc)
	return conf.TokenSource(ctx), nil
}

// Name is "google".
func (d *Directory) Name() string { return "google" }

// Supports says which actions Google Workspace automates: all but
// issue-temporary-access-pass.
func (d *Directory) Supports(a actions.Action) actions.Support { return d.performers.Supports(a) }

// ManualSteps is empty: Google has no manual actions.
func (d *Directory) ManualSteps(a actions.Action) string { return "" }

// Check gets an access token as the admin, reads the admin's own user to
// prove the API answers (enabled actions it cannot perform are
// reported by mfadesk check itself).
// It returns one line per problem, none when all is well.
func (d *Directory) Check(ctx context.Context, enabled []actions.Action) []string {
	var problems []string
	if _, err := d.token(); err != nil {
		return append(problems, "google: cannot get an access token from MFADESK_GOOGLE_CREDENTIALS acting as MFADESK_GOOGLE_ADMIN "+
			d.admin+" (is domain-wide delegation granted for both scopes?): "+err.Error())
	}
	u, err := d.getUser(ctx, d.admin)
	switch {
	case err != nil:
		problems = append(problems, "google: cannot read MFADESK_GOOGLE_ADMIN "+d.admin+" through MFADESK_GOOGLE_API_URL: "+err.Error())
	case !u.IsAdmin && !u.IsDelegatedAdmin:
		problems = append(problems, "google: MFADESK_GOOGLE_ADMIN "+d.admin+" is not an administrator")
	case u.Suspended:
		problems = append(problems, "google: MFADESK_GOOGLE_ADMIN "+d.admin+" is suspended")
	}
	return problems
}
