// Package entra is the Microsoft Entra ID directory: it performs mfadesk's
// actions through Microsoft Graph v1.0 with app-only credentials. It is a small
// typed client for the dozen endpoints it calls, over the directories' shared
// HTTP client (httpapi); tokens come from an azcore.TokenCredential (see
// CredentialFromEnv).
//
// Every HTTP call, and every request inside a $batch, is tried at most as
// often as the configured retry policy allows when Graph throttles (429) or
// fails transiently (5xx, no answer), honouring Retry-After up to the
// policy's cap, and the requests in flight adapt to Graph's throttling; other
// errors come back at once as *actions.DirectoryError carrying Graph's error
// code, message and request-id.
package entra

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// DefaultGraphURL is the global Microsoft Graph endpoint.
const DefaultGraphURL = "https://graph.microsoft.com"

// Limits of a Temporary Access Pass lifetime that Graph accepts.
const (
	MinTAPLifetime = 10 * time.Minute
	MaxTAPLifetime = 43200 * time.Minute
)

// Config configures a Directory. The zero value of every field but
// Credential has a default.
type Config struct {
	// GraphURL is the Graph endpoint without a version, e.g.
	// https://graph.microsoft.us for US Government L4. Default
	// DefaultGraphURL. Plain http is accepted only for loopback hosts (tests).
	GraphURL string
	// Credential gets app-only tokens for GraphURL's /.default scope.
	// Required.
	Credential azcore.TokenCredential
	// HTTPClient sends the Graph requests. Default: the shared client's, with
	// no overall timeout (CallTimeout bounds each call) and up to 32 idle
	// connections to Graph.
	HTTPClient *http.Client
	// TAPLifetime is how long an issued Temporary Access Pass is valid, in
	// whole minutes between 10 and 43200. Default 60 minutes. The tenant's
	// Temporary Access Pass policy may allow less.
	TAPLifetime time.Duration
	// TAPUsableOnce limits an issued pass to one sign-in. Default false: the
	// pass can be used until it expires (the tenant policy must allow that).
	TAPUsableOnce bool
	// Retry bounds the tries of each HTTP call and of each request inside a
	// $batch. Default httpapi.DefaultRetry.
	Retry httpapi.RetryPolicy
	// CallTimeout bounds one HTTP attempt, token acquisition included.
	// Default 30 seconds.
	CallTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Sleep waits between tries; tests inject a fast one. Default
	// actions.SleepContext.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives one line per failed Graph call. Default: discard.
	Logger *slog.Logger
}

// Directory is the Entra ID directory. It is safe for concurrent use.
type Directory struct {
	root  string // GraphURL, no trailing slash
	scope string
	cred  azcore.TokenCredential
	api   *httpapi.Client
	cfg   Config
	log   *slog.Logger
	// performers does each action Entra ID automates.
	performers httpapi.Performers
}

var (
	_ actions.Directory      = (*Directory)(nil)
	_ actions.BatchPerformer = (*Directory)(nil)
)

// New validates cfg, fills in its defaults and returns the directory. It
// makes no network call; use Check to find out whether Graph can be reached
// with the permissions the enabled actions need.
func New(cfg Config) (*Directory, error) {
	if cfg.Credential == nil {
		return nil, errors.New("entra: a credential is required")
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraphURL
	}
	root, scope, err := graphRoot(cfg.GraphURL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.TAPLifetime == 0:
		cfg.TAPLifetime = 60 * time.Minute
	case cfg.TAPLifetime%time.Minute != 0:
		return nil, fmt.Errorf("entra: Temporary Access Pass lifetime %s is not a whole number of minutes", cfg.TAPLifetime)
	case cfg.TAPLifetime < MinTAPLifetime || cfg.TAPLifetime > MaxTAPLifetime:
		return nil, fmt.Errorf("entra: Temporary Access Pass lifetime %s is outside 10m..43200m", cfg.TAPLifetime)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Directory{root: root, scope: scope, cred: cfg.Credential, log: cfg.Logger.With("directory", "entra")}
	api, err := httpapi.New(httpapi.Options{
		BaseURL:         root,
		HTTP:            cfg.HTTPClient,
		Retry:           cfg.Retry,
		Timeout:         cfg.CallTimeout,
		MaxBody:         maxBody,
		Now:             cfg.Now,
		Sleep:           cfg.Sleep,
		Logger:          d.log,
		UserAgent:       "mfadesk",
		RequestIDHeader: "request-id",
		Authorize:       d.authorize,
		Decode:          d.decode,
		Pacing:          true,
	})
	if err != nil {
		return nil, fmt.Errorf("entra: %w", err)
	}
	d.api, d.cfg = api, cfg
	d.performers = d.newPerformers()
	return d, nil
}

// graphRoot checks a Graph URL and returns it without a trailing slash, with
// the app-only scope of its host ("https://graph.microsoft.com/.default").
func graphRoot(raw string) (root, scope string, err error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(raw), "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", "", fmt.Errorf("entra: Graph URL %q is not an absolute http(s) URL", raw)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "", "", fmt.Errorf("entra: Graph URL %q must use https", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("entra: Graph URL %q must have no query, fragment or user info", raw)
	}
	if p := strings.TrimRight(u.Path, "/"); p == "/v1.0" || p == "/beta" {
		return "", "", fmt.Errorf("entra: Graph URL %q must not name a version; give the host only", raw)
	}
	origin := u.Scheme + "://" + u.Host
	return origin + strings.TrimRight(u.EscapedPath(), "/"), origin + "/.default", nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Name returns "entra".
func (d *Directory) Name() string { return "entra" }

// Supports says how Entra ID performs a: every action through Graph except
// delete-app-passwords, for which Graph has no API (a tracked manual step).
func (d *Directory) Supports(a actions.Action) actions.Support {
	if a == actions.DeleteAppPasswords {
		return actions.Manual
	}
	return d.performers.Supports(a)
}

// ManualSteps returns the Entra admin center steps for a Manual action, one
// per line, and "" for any other action. The steps follow Microsoft's "Manage
// user authentication methods for Microsoft Entra multifactor authentication"
// (section "Delete users' existing app passwords") and "Enforce Microsoft
// Entra multifactor authentication with legacy applications using app
// passwords".
func (d *Directory) ManualSteps(a actions.Action) string {
	if a != actions.DeleteAppPasswords {
		return ""
	}
	return strings.Join([]string{
		"1. Sign in to the Microsoft Entra admin center (https://entra.microsoft.com) as at least an Authentication Administrator; Microsoft's older instructions ask for a Global Administrator, so use one if the option below is missing.",
		"2. Go to Users > All users (under Identity, or Entra ID, in the left-hand menu).",
		"3. Open the per-user multifactor authentication page: \"Per-user MFA\" on the toolbar (\"Multifactor authentication\" in older portals; scroll the toolbar to the right if you don't see it).",
		"4. Find the user and tick the box next to their name; the quick steps appear on the right.",
		"5. Choose \"Manage user settings\", tick \"Delete all existing app passwords generated by the selected users\", and leave the other boxes as they are.",
		"6. Select Save, then Close. The user's non-browser apps that used app passwords stop signing in until the user creates new ones.",
	}, "\n")
}
