package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/cmd/mfadesk/internal/metrics"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

type readyFunc func(context.Context) error

func (f readyFunc) Ready(ctx context.Context) error { return f(ctx) }

// /readyz says ready only when the database is, Slack took the token at the
// last check, the bot is in the approval channel and, with Socket Mode, the
// connection is up. Slack is asked by checkSlack, never by a probe.
func TestReadiness(t *testing.T) {
	sl := fakeslack.New()
	t.Cleanup(sl.Close)
	client := slack.New(sl.Token, slack.OptionAPIURL(sl.APIURL()))
	var dbErr, socketErr error
	r := &readiness{
		st:     readyFunc(func(context.Context) error { return dbErr }),
		socket: func() error { return socketErr },
		log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		slack: func(ctx context.Context) []slackProblem {
			return slackProblems(ctx, client, sl.APIURL(), "C0APPROVE")
		},
	}
	probe := func() (int, string) {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	steps := []struct {
		name   string
		change func()
		check  bool // run checkSlack before probing
		code   int
		body   string
	}{
		{"before Slack was asked", func() { sl.AddChannel("C0APPROVE") }, false, 503, "not ready: slack not checked yet"},
		{"all well", func() {}, true, 200, "ready\n"},
		{"bot removed from the channel, not yet re-checked", func() { sl.AddChannelWithoutBot("C0APPROVE") }, false, 200, "ready\n"},
		{"bot removed from the channel, re-checked", func() {}, true, 503, "not ready: bot not in the approval channel"},
		{"invited again", func() { sl.AddChannel("C0APPROVE") }, true, 200, "ready\n"},
		{"token revoked", func() { sl.Fail("auth.test", "token_revoked") }, true, 503, "not ready: slack token refused"},
		{"token fine again", func() {}, true, 200, "ready\n"},
		{"socket mode down", func() { socketErr = errors.New("connection_error") }, false, 503, "not ready: socket mode not connected"},
		{"socket mode up, database down", func() { socketErr, dbErr = nil, errors.New("dial tcp: refused") }, false, 503, "not ready: database unreachable"},
		{"migrations pending", func() { dbErr = fmt.Errorf("x: %w", storage.ErrPendingMigrations) }, false, 503, "not ready: migrations pending"},
	}
	for _, s := range steps {
		s.change()
		if s.check {
			r.checkSlack(t.Context())
		}
		calls := len(sl.Calls("auth.test"))
		code, body := probe()
		if code != s.code || !strings.HasPrefix(body, s.body) {
			t.Errorf("%s: %d %q, want %d %q", s.name, code, body, s.code, s.body)
		}
		if len(sl.Calls("auth.test")) != calls {
			t.Errorf("%s: a probe called Slack", s.name)
		}
	}
}

// MFADESK_METRICS_ADDR moves /metrics, /healthz and /readyz off the Slack
// listener; /metrics has mfadesk_build_info.
func TestServeMetricsAddr(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	db := storagetest.New(t, storage.DialectSQLite)
	sl := newFakeSlack(t)
	e := serveEnv(t, db, sl.URL)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := l.Addr().String()
	l.Close()
	c := startServe(t, e.with("MFADESK_METRICS_ADDR", opsAddr))
	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if code, _ := get(c.url(path)); code != http.StatusNotFound {
			t.Errorf("Slack listener %s = %d, want 404", path, code)
		}
	}
	if code, body := get("http://" + opsAddr + "/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("metrics listener /healthz = %d %q", code, body)
	}
	waitFor(t, "readiness", 30*time.Second, func() bool { code, _ := get("http://" + opsAddr + "/readyz"); return code == 200 })
	code, body := get("http://" + opsAddr + "/metrics")
	b := readBuildInfo()
	want := fmt.Sprintf(`mfadesk_build_info{goversion=%q,revision=%q,version=%q} 1`, b.GoVersion, b.Revision, b.Version)
	if code != 200 || !strings.Contains(body, want) {
		t.Errorf("metrics listener /metrics = %d, lacks %s", code, want)
	}
	if err := c.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}

// A refused app-level token stops serve with one line naming SLACK_APP_TOKEN,
// not "socket mode: socket mode: invalid_auth".
func TestServeRefusedAppToken(t *testing.T) {
	sl := fakeslack.New()
	t.Cleanup(sl.Close)
	sl.AddChannel("C0APPROVE")
	e := env{"SLACK_BOT_TOKEN": sl.Token, "SLACK_APP_TOKEN": "xapp-refused-s3cret", "SLACK_API_URL": sl.APIURL(),
		"MFADESK_APPROVAL_CHANNEL": "C0APPROVE", "MFADESK_POLICY_FILE": writePolicy(t), "MFADESK_HTTP_ADDR": "127.0.0.1:0",
		"MFADESK_DATABASE_URL": storagetest.New(t, storage.DialectSQLite).URL, "MFADESK_LOG_LEVEL": "error"}
	code, _, errOut := runCmd(t, e, "serve")
	const want = "mfadesk: socket mode: SLACK_APP_TOKEN: Slack refused the app-level token (invalid_auth)"
	if code != 1 || !strings.Contains(errOut, want) || strings.Contains(errOut, "socket mode: socket mode") ||
		strings.Contains(errOut, "s3cret") {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, errOut, want)
	}
}

// Every metric mfadesk exports is in the README's Monitoring table.
func TestMetricsDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(func(context.Context) (map[actions.State]int, error) { return nil, nil }, nil)
	m.BuildInfo("v", "r", "go")
	// A labelled metric is exported once it has a value: give each one.
	now := time.Now()
	r := actions.Request{Action: actions.ResetPassword, CreatedAt: now, Approvals: []actions.Approval{{At: now}}}
	r.State = actions.StateApproved
	m.Transitioned(r, actions.StatePending, now)
	r.State = actions.StateSucceeded
	m.Transitioned(r, actions.StateRunning, now)
	m.DirectoryCall(actions.ResetPassword, actions.OutcomeOK, time.Second)
	m.SlackCall("chat.postMessage", "", time.Second)
	m.SlackRetry("chat.postMessage", time.Second)
	m.JobDropped("command")
	m.DigestPosted()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	seen := 0
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		name, ok := strings.CutPrefix(line, "# TYPE ")
		if !ok || !strings.HasPrefix(name, "mfadesk_") {
			continue
		}
		name, _, _ = strings.Cut(name, " ")
		seen++
		if !strings.Contains(string(readme), "| `"+name+"` |") {
			t.Errorf("README's metrics table lacks %s", name)
		}
	}
	if seen < 10 {
		t.Errorf("only %d mfadesk metrics exported", seen)
	}
}
