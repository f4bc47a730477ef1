package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
)

// config is the environment (docs/reference.md, Environment), read once and
// validated.
type config struct {
	DatabaseURL     string
	HTTPAddr        string
	MetricsAddr     string // MFADESK_METRICS_ADDR: "" serves /metrics, /healthz and /readyz on HTTPAddr
	PolicyFile      string
	ApprovalChannel string
	AuditChannel    string
	SecurityChannel string
	DigestSchedule  string
	Directory       string
	GraphURL        string

	GoogleCredentials string
	GoogleAdmin       string
	GoogleAPIURL      string
	OktaOrgURL        string
	OktaToken         string

	SlackBotToken      string
	SlackSigningSecret string
	SlackAppToken      string
	SlackAPIURL        string

	// Approver step-up (README, "Approver step-up").
	PublicURL        string // MFADESK_PUBLIC_URL
	OIDCIssuer       string // MFADESK_OIDC_ISSUER
	OIDCClientID     string // MFADESK_OIDC_CLIENT_ID
	OIDCClientSecret string // MFADESK_OIDC_CLIENT_SECRET
	OIDCACR          string // MFADESK_OIDC_ACR

	// Operational knobs with safe defaults.
	Lease           time.Duration // MFADESK_EXECUTOR_LEASE
	ShutdownTimeout time.Duration // MFADESK_SHUTDOWN_TIMEOUT
	DryRunDelay     time.Duration // MFADESK_DRYRUN_DELAY
	TAPLifetime     time.Duration // MFADESK_TAP_LIFETIME
	LogLevel        string        // MFADESK_LOG_LEVEL
	LogFormat       string        // MFADESK_LOG_FORMAT
	BusinessHours   string        // MFADESK_BUSINESS_HOURS
}

// need says which groups of variables a command requires.
type need int

const (
	needDB need = 1 << iota
	needSlack
	needDirectory
)

var channelID = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)

// loadConfig reads the environment through getenv. It returns one error line
// per problem, each naming its variable; secret values are never included.
func loadConfig(getenv func(string) string, n need) (config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := config{
		DatabaseURL:        get("MFADESK_DATABASE_URL", "sqlite:mfadesk.db"),
		HTTPAddr:           get("MFADESK_HTTP_ADDR", ":8080"),
		MetricsAddr:        get("MFADESK_METRICS_ADDR", ""),
		PolicyFile:         get("MFADESK_POLICY_FILE", "policy.yaml"),
		ApprovalChannel:    get("MFADESK_APPROVAL_CHANNEL", ""),
		DigestSchedule:     get("MFADESK_DIGEST_SCHEDULE", "CRON_TZ=UTC 0 9 * * 1"),
		Directory:          get("MFADESK_DIRECTORY", "dryrun"),
		GraphURL:           get("MFADESK_GRAPH_URL", "https://graph.microsoft.com"),
		GoogleCredentials:  get("MFADESK_GOOGLE_CREDENTIALS", ""),
		GoogleAdmin:        get("MFADESK_GOOGLE_ADMIN", ""),
		GoogleAPIURL:       get("MFADESK_GOOGLE_API_URL", "https://admin.googleapis.com"),
		OktaOrgURL:         get("OKTA_ORG_URL", ""),
		OktaToken:          get("OKTA_API_TOKEN", ""),
		SlackBotToken:      get("SLACK_BOT_TOKEN", ""),
		SlackSigningSecret: get("SLACK_SIGNING_SECRET", ""),
		SlackAppToken:      get("SLACK_APP_TOKEN", ""),
		SlackAPIURL:        get("SLACK_API_URL", "https://slack.com/api/"),
		PublicURL:          get("MFADESK_PUBLIC_URL", ""),
		OIDCIssuer:         get("MFADESK_OIDC_ISSUER", ""),
		OIDCClientID:       get("MFADESK_OIDC_CLIENT_ID", ""),
		OIDCClientSecret:   get("MFADESK_OIDC_CLIENT_SECRET", ""),
		OIDCACR:            get("MFADESK_OIDC_ACR", ""),
		LogLevel:           get("MFADESK_LOG_LEVEL", "info"),
		LogFormat:          get("MFADESK_LOG_FORMAT", "json"),
		BusinessHours:      get("MFADESK_BUSINESS_HOURS", "UTC 08:00-18:00 Mon-Fri"),
	}
	c.AuditChannel = get("MFADESK_AUDIT_CHANNEL", c.ApprovalChannel)
	c.SecurityChannel = get("MFADESK_SECURITY_CHANNEL", c.ApprovalChannel)
	var errs []string
	bad := func(k, format string, args ...any) { errs = append(errs, k+": "+fmt.Sprintf(format, args...)) }
	dur := func(k string, def, lo, hi time.Duration) time.Duration {
		v := get(k, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < lo || d > hi {
			bad(k, "want a duration from %s to %s, such as %s", lo, hi, def)
			return def
		}
		return d
	}
	c.Lease = dur("MFADESK_EXECUTOR_LEASE", actions.DefaultLease, time.Second, 10*time.Minute)
	c.ShutdownTimeout = dur("MFADESK_SHUTDOWN_TIMEOUT", 20*time.Second, 0, 10*time.Minute)
	c.DryRunDelay = dur("MFADESK_DRYRUN_DELAY", 0, 0, time.Minute)
	// Entra accepts 10 to 43200 minutes; the tenant's policy may allow less.
	c.TAPLifetime = dur("MFADESK_TAP_LIFETIME", time.Hour, 10*time.Minute, 43200*time.Minute)

	var level slog.Level
	if level.UnmarshalText([]byte(c.LogLevel)) != nil {
		bad("MFADESK_LOG_LEVEL", "%q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("MFADESK_LOG_FORMAT", "%q: want json or text", c.LogFormat)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad("MFADESK_METRICS_ADDR", "%q: want HOST:PORT or :PORT, such as :9090", c.MetricsAddr)
		} else if c.MetricsAddr == c.HTTPAddr {
			bad("MFADESK_METRICS_ADDR", "is MFADESK_HTTP_ADDR: leave it unset to serve the metrics there, or give another address")
		}
	}
	// slack-go appends the method name to the base URL: without the
	// slash, https://slack.com/api would call https://slack.com/apiauth.test.
	if !strings.HasSuffix(c.SlackAPIURL, "/") {
		c.SlackAPIURL += "/"
	}

	if n&needDB != 0 {
		if !strings.HasPrefix(c.DatabaseURL, "sqlite:") && !strings.HasPrefix(c.DatabaseURL, "postgres://") &&
			!strings.HasPrefix(c.DatabaseURL, "postgresql://") {
			bad("MFADESK_DATABASE_URL", "want postgres://… or sqlite:PATH")
		}
	}
	if n&needSlack != 0 {
		switch {
		case c.SlackBotToken == "":
			bad("SLACK_BOT_TOKEN", "required: the bot token (xoxb-…)")
		case !strings.HasPrefix(c.SlackBotToken, "xoxb-"):
			bad("SLACK_BOT_TOKEN", "must be a bot token starting with xoxb-")
		}
		if c.SlackAppToken != "" && !strings.HasPrefix(c.SlackAppToken, "xapp-") {
			bad("SLACK_APP_TOKEN", "must be an app-level token starting with xapp-")
		}
		if c.SlackSigningSecret == "" && c.SlackAppToken == "" {
			bad("SLACK_SIGNING_SECRET", "required for HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)")
		}
		switch {
		case c.ApprovalChannel == "":
			bad("MFADESK_APPROVAL_CHANNEL", "required: the ID of the channel where approvals are asked (C…)")
		case !channelID.MatchString(c.ApprovalChannel):
			bad("MFADESK_APPROVAL_CHANNEL", "%q is not a channel ID such as C0123456789", c.ApprovalChannel)
		}
		if getenv("MFADESK_AUDIT_CHANNEL") != "" && !channelID.MatchString(c.AuditChannel) {
			bad("MFADESK_AUDIT_CHANNEL", "%q is not a channel ID such as C0123456789", c.AuditChannel)
		}
		if strings.TrimSpace(getenv("MFADESK_SECURITY_CHANNEL")) != "" && !channelID.MatchString(c.SecurityChannel) {
			bad("MFADESK_SECURITY_CHANNEL", "%q is not a channel ID such as C0123456789", c.SecurityChannel)
		}
		if err := httpURL(c.SlackAPIURL); err != nil {
			bad("SLACK_API_URL", "%v", err)
		}
		if _, err := cron.ParseStandard(c.DigestSchedule); err != nil {
			bad("MFADESK_DIGEST_SCHEDULE", "%v", err)
		}
		if _, err := digest.ParseBusinessHours(c.BusinessHours); err != nil {
			bad("MFADESK_BUSINESS_HOURS", "%v", err)
		}
	}
	if n&needDirectory != 0 {
		switch c.Directory {
		case "dryrun":
		case "entra":
			if err := httpURL(c.GraphURL); err != nil {
				bad("MFADESK_GRAPH_URL", "%v", err)
			}
		case "google":
			if c.GoogleCredentials == "" {
				bad("MFADESK_GOOGLE_CREDENTIALS", "required with MFADESK_DIRECTORY=google: the service-account key file")
			}
			if !strings.Contains(c.GoogleAdmin, "@") {
				bad("MFADESK_GOOGLE_ADMIN", "required with MFADESK_DIRECTORY=google: the admin user's email")
			}
			if err := httpURL(c.GoogleAPIURL); err != nil {
				bad("MFADESK_GOOGLE_API_URL", "%v", err)
			}
		case "okta":
			if err := httpURL(c.OktaOrgURL); err != nil {
				bad("OKTA_ORG_URL", "required with MFADESK_DIRECTORY=okta: %v", err)
			}
			if c.OktaToken == "" {
				bad("OKTA_API_TOKEN", "required with MFADESK_DIRECTORY=okta")
			}
		default:
			bad("MFADESK_DIRECTORY", "%q: want entra, google, okta or dryrun", c.Directory)
		}
	}
	if len(errs) > 0 {
		return c, &configError{lines: errs}
	}
	return c, nil
}

// configError lists every configuration problem, one per line.
type configError struct{ lines []string }

func (e *configError) Error() string { return strings.Join(e.lines, "\n") }

func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL, not %q", s)
	}
	return nil
}
