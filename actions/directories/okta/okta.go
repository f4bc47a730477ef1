// Package okta is the Okta directory: a small client over the Okta
// Management API (users, user lifecycle, sessions, role assignments),
// authenticated with an SSWS API token.
package okta

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// Config is what the Okta directory needs. OrgURL and Token are required.
type Config struct {
	// OrgURL is the org's base URL (OKTA_ORG_URL), e.g.
	// https://example.okta.com. It must be https; http is accepted only for
	// a loopback host, for tests.
	OrgURL string
	// Token is an Okta API token (OKTA_API_TOKEN), sent as "SSWS <token>".
	// It is never logged or printed.
	Token string
	// HTTPClient, Retry, Timeout, Now and Sleep are the shared HTTP
	// client's (see httpapi.Options): zero values take its defaults.
	HTTPClient *http.Client
	Retry      httpapi.RetryPolicy
	Timeout    time.Duration
	Now        func() time.Time
	Sleep      func(context.Context, time.Duration) error
	Logger     *slog.Logger
}

// Directory acts on an Okta org. It is safe for concurrent use.
type Directory struct {
	api        *httpapi.Client
	log        *slog.Logger
	performers httpapi.Performers
}

var _ actions.Directory = (*Directory)(nil)

// New checks cfg and returns the directory. It makes no call to Okta (see
// Check). Errors name the environment variable at fault and never contain
// the token.
func New(cfg Config) (*Directory, error) {
	if strings.TrimSpace(cfg.OrgURL) == "" {
		return nil, errors.New("okta: OKTA_ORG_URL is required")
	}
	base, err := httpapi.CheckBaseURL(cfg.OrgURL)
	if err != nil {
		return nil, fmt.Errorf("okta: OKTA_ORG_URL: %w", err)
	}
	if strings.Contains(base[strings.Index(base, "//")+2:], "/") {
		return nil, errors.New("okta: OKTA_ORG_URL: want the org's base URL alone, e.g. https://example.okta.com")
	}
	if host := strings.ToLower(base); strings.Contains(host, "-admin.okta") || strings.Contains(host, "-admin.oktapreview") {
		return nil, errors.New("okta: OKTA_ORG_URL: use the org domain, not the -admin console domain")
	}
	token := strings.TrimSpace(cfg.Token)
	switch {
	case token == "":
		return nil, errors.New("okta: OKTA_API_TOKEN is required")
	case strings.ContainsAny(token, " \t\r\n"):
		return nil, errors.New("okta: OKTA_API_TOKEN: want the bare token, without \"SSWS \" or spaces")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	log := cfg.Logger.With(slog.String("directory", "okta"))
	auth := "SSWS " + token
	api, err := httpapi.New(httpapi.Options{
		BaseURL:         base,
		HTTP:            cfg.HTTPClient,
		Retry:           cfg.Retry,
		Timeout:         cfg.Timeout,
		Now:             cfg.Now,
		Sleep:           cfg.Sleep,
		Logger:          log,
		UserAgent:       "mfadesk",
		RequestIDHeader: requestIDHeader,
		Authorize: func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", auth)
			return nil
		},
		Decode: decodeError,
	})
	if err != nil {
		return nil, fmt.Errorf("okta: %w", err)
	}
	d := &Directory{log: log, api: api}
	d.performers = d.newPerformers()
	return d, nil
}

// Name is "okta".
func (d *Directory) Name() string { return "okta" }

// Supports says which actions Okta automates: all but delete-app-passwords
// (no such concept in Okta) and issue-temporary-access-pass.
func (d *Directory) Supports(a actions.Action) actions.Support { return d.performers.Supports(a) }

// ManualSteps is empty: Okta has no manual actions.
func (d *Directory) ManualSteps(a actions.Action) string { return "" }

// Check validates the token against the org (GET /api/v1/users/me), checks
// that it may read role assignments (enabled actions it cannot
// perform are reported by mfadesk check itself). It returns one line per problem, none when all is well.
func (d *Directory) Check(ctx context.Context, enabled []actions.Action) []string {
	var problems []string
	var me user
	if _, err := d.api.Do(ctx, httpapi.Request{
		Op: "get token owner", Method: http.MethodGet, Path: "/api/v1/users/me",
	}, &me); err != nil {
		var de *actions.DirectoryError
		if errors.As(err, &de) && de.Status == http.StatusUnauthorized {
			return append(problems, "okta: OKTA_API_TOKEN was refused by OKTA_ORG_URL: "+err.Error())
		}
		return append(problems, "okta: cannot reach OKTA_ORG_URL: "+err.Error())
	}
	roles, err := d.roles(ctx, me.ID)
	switch {
	case err != nil:
		problems = append(problems, "okta: the token cannot list role assignments, needed to spot privileged targets: "+err.Error())
	case len(roles) == 0:
		problems = append(problems, fmt.Sprintf("okta: the token's owner %s holds no admin role", me.Profile.Login))
	}
	return problems
}
