package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/cmd/mfadesk/internal/metrics"
	"github.com/mfadesk/mfadesk/storage"
)

// Readiness re-checks Slack on this schedule, sooner while something is
// wrong; /readyz answers from the last result, so probes cost Slack nothing.
const (
	readyEvery      = time.Minute
	readyRetryEvery = 10 * time.Second
)

// slackProblem is one thing wrong between mfadesk and Slack: line names
// the variable and what to do (for logs and `mfadesk check`), reason is
// short and free of detail (for /readyz).
type slackProblem struct{ line, reason string }

// tokenCodes are Slack's answers that mean the bot token itself is wrong.
var tokenCodes = []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission", "ekm_access_denied"}

// slackProblems reaches Slack as the bot: auth.test for the token, then
// conversations.info for the bot's membership of the approval channel. A
// failure to reach Slack is blamed on SLACK_API_URL or the network, not on
// the token.
func slackProblems(ctx context.Context, client *slack.Client, apiURL, channel string) []slackProblem {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if _, err := client.AuthTestContext(ctx); err != nil {
		return []slackProblem{classify(err, "auth.test", apiURL)}
	}
	info, err := client.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
	switch {
	case slackCode(err) == "channel_not_found":
		return []slackProblem{{fmt.Sprintf("MFADESK_APPROVAL_CHANNEL: channel %s not found, or private and the bot is not in it: check the ID, then /invite @mfadesk in that channel", channel),
			"bot not in the approval channel"}}
	case err != nil:
		return []slackProblem{classify(err, "conversations.info", apiURL)}
	case info.IsArchived:
		return []slackProblem{{fmt.Sprintf("MFADESK_APPROVAL_CHANNEL: channel %s is archived", channel), "approval channel archived"}}
	case !info.IsMember:
		return []slackProblem{{fmt.Sprintf("MFADESK_APPROVAL_CHANNEL: the bot is not in channel %s, so approval requests cannot be posted: run /invite @mfadesk in that channel", channel),
			"bot not in the approval channel"}}
	}
	return nil
}

// appTokenError names SLACK_APP_TOKEN when Slack refused it for Socket Mode.
func appTokenError(err error) error {
	if code := slackCode(err); slices.Contains(tokenCodes, code) || code == "missing_auth_token" {
		return fmt.Errorf("SLACK_APP_TOKEN: Slack refused the app-level token (%s): generate one with connections:write under Basic Information, App-Level Tokens", code)
	}
	return err
}

// classify says whose fault a failed Slack call is.
func classify(err error, method, apiURL string) slackProblem {
	code := slackCode(err)
	var status slack.StatusCodeError
	var rate *slack.RateLimitedError
	switch {
	case slices.Contains(tokenCodes, code):
		return slackProblem{fmt.Sprintf("SLACK_BOT_TOKEN: Slack refused the token (%s %s)", method, code), "slack token refused"}
	case code == "missing_scope":
		return slackProblem{fmt.Sprintf("SLACK_BOT_TOKEN: the app lacks a scope that %s needs: reinstall it from manifest.yml", method), "slack scope missing"}
	case errors.As(err, &rate):
		return slackProblem{fmt.Sprintf("Slack rate-limited %s; retrying", method), "slack rate limited"}
	case errors.As(err, &status):
		return slackProblem{fmt.Sprintf("SLACK_API_URL: %s answered HTTP %d for %s: is it Slack's Web API URL?", apiURL, status.Code, method), "slack unreachable"}
	case code != "":
		return slackProblem{fmt.Sprintf("Slack %s: %s", method, code), "slack error"}
	}
	return slackProblem{fmt.Sprintf("SLACK_API_URL: cannot reach Slack at %s (network, proxy or DNS): %v", apiURL, err), "slack unreachable"}
}

// slackCode is Slack's error code in err ("invalid_auth"), or "".
func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// readiness answers /readyz: the database answers and is migrated (asked at
// each probe: it is cheap), Slack accepts the token and the bot is in the
// approval channel (asked in the background), and, with Socket Mode, the
// connection is up.
type readiness struct {
	st     interface{ Ready(context.Context) error }
	slack  func(context.Context) []slackProblem
	socket func() error // nil without Socket Mode
	log    *slog.Logger

	mu       sync.Mutex
	checked  bool
	problems []slackProblem
}

// watchSlack checks Slack now, then every readyEvery (readyRetryEvery while
// something is wrong), until ctx ends.
func (r *readiness) watchSlack(ctx context.Context, every, retry time.Duration) {
	for {
		ok := r.checkSlack(ctx)
		wait := every
		if !ok {
			wait = retry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// checkSlack asks Slack once and keeps the answer for /readyz. Each problem
// is logged when it appears, and its end when it goes. It reports whether
// all was well.
func (r *readiness) checkSlack(ctx context.Context) bool {
	ps := r.slack(ctx)
	if ctx.Err() != nil {
		return true
	}
	r.mu.Lock()
	first, before := !r.checked, r.problems
	r.checked, r.problems = true, ps
	r.mu.Unlock()
	for _, p := range ps {
		if !slices.Contains(before, p) {
			r.log.Warn("not ready: "+p.line, "reason", p.reason)
		}
	}
	if len(ps) == 0 && (first || len(before) > 0) {
		r.log.Info("slack reachable; the bot is in the approval channel")
	}
	return len(ps) == 0
}

// reasons lists why mfadesk is not ready, short and without detail.
func (r *readiness) reasons(ctx context.Context) []string {
	var out []string
	if err := r.st.Ready(ctx); err != nil {
		r.log.Warn("not ready", "error", err)
		if errors.Is(err, storage.ErrPendingMigrations) {
			out = append(out, "migrations pending")
		} else {
			out = append(out, "database unreachable")
		}
	}
	r.mu.Lock()
	switch {
	case !r.checked:
		out = append(out, "slack not checked yet")
	default:
		for _, p := range r.problems {
			out = append(out, p.reason)
		}
	}
	r.mu.Unlock()
	if r.socket != nil {
		if err := r.socket(); err != nil {
			out = append(out, "socket mode not connected")
		}
	}
	return out
}

func (r *readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	if rs := r.reasons(ctx); len(rs) > 0 {
		http.Error(w, "not ready: "+strings.Join(rs, "; "), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// opsRoutes registers /healthz, /readyz and /metrics.
func opsRoutes(mux *http.ServeMux, ready *readiness, m *metrics.Metrics) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /metrics", m.Handler())
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// serveHTTP serves until Shutdown, which is not an error.
func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
