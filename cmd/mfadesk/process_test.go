package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// The test binary doubles as mfadesk: with this variable set it runs main,
// so tests can start, kill and restart real processes.
const runMainEnv = "MFADESK_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// mainCommand is the program run as a child process with args and the
// variables of e.
func mainCommand(ctx context.Context, e env, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	for k, v := range e {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// child is a running `mfadesk serve`.
type child struct {
	cmd  *exec.Cmd
	addr chan string
	done chan struct{}
	err  error
	logs strings.Builder
}

// startServe starts `mfadesk serve` with e and waits until it listens.
func startServe(t *testing.T, e env) *child {
	t.Helper()
	cmd := mainCommand(context.Background(), e, "serve")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, addr: make(chan string, 1), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			c.logs.WriteString(line + "\n")
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				c.addr <- rec.Addr
			}
		}
		io.Copy(io.Discard, stderr)
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-c.done
		if t.Failed() {
			t.Logf("child log:\n%s", c.logs.String())
		}
	})
	select {
	case a := <-c.addr:
		c.addr <- a
	case <-c.done:
		t.Fatalf("mfadesk serve exited: %v\n%s", c.err, c.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatal("mfadesk serve did not start listening")
	}
	return c
}

func (c *child) url(path string) string {
	a := <-c.addr
	c.addr <- a
	return "http://" + a + path
}

// stop sends sig and waits for the exit.
func (c *child) stop(t *testing.T, sig os.Signal) error {
	t.Helper()
	c.cmd.Process.Signal(sig)
	select {
	case <-c.done:
		return c.err
	case <-time.After(60 * time.Second):
		t.Fatal("mfadesk serve did not exit")
		return nil
	}
}

func serveEnv(t *testing.T, db storagetest.DB, slackURL string) env {
	return env{
		"MFADESK_DATABASE_URL": db.URL, "MFADESK_POLICY_FILE": writePolicy(t), "MFADESK_HTTP_ADDR": "127.0.0.1:0",
		"MFADESK_APPROVAL_CHANNEL": "C0APPROVE", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "test-secret",
		"SLACK_API_URL": slackURL + "/api/", "MFADESK_DIRECTORY": "dryrun", "MFADESK_LOG_LEVEL": "info",
		"MFADESK_DIGEST_SCHEDULE": "CRON_TZ=UTC 0 9 * * 1",
	}
}

func results(t *testing.T, st *storage.Store, id string) (actions.Request, int) {
	t.Helper()
	r, err := st.Request(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	ok, failed, skipped, _ := r.Counts()
	return r, ok + failed + skipped
}

// waitFirstResults waits until request id has a target result.
func waitFirstResults(t *testing.T, st *storage.Store, id string) {
	t.Helper()
	waitFor(t, "the first results", 30*time.Second, func() bool { _, done := results(t, st, id); return done > 0 })
}

// finishExactlyOnce waits for request id to end, stops c with SIGTERM, and
// checks each of its n targets has one result (checkExactlyOnce).
func finishExactlyOnce(t *testing.T, c *child, st *storage.Store, id string, n int) {
	t.Helper()
	waitFor(t, "the request to finish", 60*time.Second, func() bool { r, _ := results(t, st, id); return r.State.Terminal() })
	if err := c.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	checkExactlyOnce(t, st, id, n)
}

// checkExactlyOnce: the request succeeded, every target has one result and
// one target_result event, and the audit chain is intact.
func checkExactlyOnce(t *testing.T, st *storage.Store, id string, n int) {
	t.Helper()
	r, done := results(t, st, id)
	if r.State != actions.StateSucceeded || done != n {
		t.Fatalf("request %s: %d of %d results", r.State, done, n)
	}
	perTarget := map[string]int{}
	var v actions.ChainVerifier
	err := st.Events(t.Context(), 0, time.Time{}, func(e actions.Event) error {
		if err := v.Next(e); err != nil {
			return err
		}
		if e.RequestID == id && e.Kind == actions.EventTargetResult {
			perTarget[e.Target.DirectoryID]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range r.Targets {
		if perTarget[tg.DirectoryID] != 1 {
			t.Errorf("%s: %d target_result events, want 1", tg.Email, perTarget[tg.DirectoryID])
		}
	}
}

// TestKillDuringExecutionResumes kills `mfadesk serve` with SIGKILL while it
// runs a 12-target request; a restarted process finishes it once the dead
// one's lease lapses, and every target ends with exactly one result.
func TestKillDuringExecutionResumes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		const n = 12
		slack := newFakeSlack(t)
		e := serveEnv(t, db, slack.URL).with("MFADESK_DRYRUN_DELAY", "400ms", "MFADESK_EXECUTOR_LEASE", "2s")
		r := approvedRequest(t, db.Store, e["MFADESK_POLICY_FILE"], n)

		first := startServe(t, e)
		waitFirstResults(t, db.Store, r.ID)
		if err := first.stop(t, syscall.SIGKILL); err == nil {
			t.Fatal("SIGKILL: exit status 0")
		}
		killed, done := results(t, db.Store, r.ID)
		if done == n || killed.State != actions.StateRunning || killed.LeaseOwner == "" {
			t.Fatalf("after SIGKILL: %s, %d of %d done, lease %q; the test needs an interrupted request", killed.State, done, n, killed.LeaseOwner)
		}

		second := startServe(t, e)
		finishExactlyOnce(t, second, db.Store, r.ID, n)
	})
}

// TestTermDrainsAndLeavesTheRest sends SIGTERM mid-execution: the process
// stops intake, lets running calls finish up to its shutdown timeout, exits
// 0, and a restarted process finishes the rest at once.
func TestTermDrainsAndLeavesTheRest(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		const n = 12
		slack := newFakeSlack(t)
		e := serveEnv(t, db, slack.URL).with("MFADESK_DRYRUN_DELAY", "400ms", "MFADESK_SHUTDOWN_TIMEOUT", "100ms",
			"MFADESK_EXECUTOR_LEASE", "10m")
		r := approvedRequest(t, db.Store, e["MFADESK_POLICY_FILE"], n)

		first := startServe(t, e)
		waitFirstResults(t, db.Store, r.ID)
		if err := first.stop(t, syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM: %v", err)
		}
		stopped, done := results(t, db.Store, r.ID)
		if done == n || stopped.LeaseOwner != "" {
			t.Fatalf("after SIGTERM: %d of %d done, lease %q; want work left and the lease released", done, n, stopped.LeaseOwner)
		}
		// With a 10-minute lease, only a released request is resumed now.
		second := startServe(t, e)
		finishExactlyOnce(t, second, db.Store, r.ID, n)
	})
}

// TestServeEndpointsAndMetrics: health, readiness and metrics, whose
// counters move once a request has run.
func TestServeEndpointsAndMetrics(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	db := storagetest.New(t, storage.DialectSQLite)
	slack := newFakeSlack(t)
	e := serveEnv(t, db, slack.URL)
	c := startServe(t, e)
	get := func(path string) (int, string) {
		resp, err := http.Get(c.url(path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	// Ready once the first Slack check is in.
	waitFor(t, "/readyz", 30*time.Second, func() bool { code, _ := get("/readyz"); return code == 200 })
	r := approvedRequest(t, db.Store, e["MFADESK_POLICY_FILE"], 3)
	waitFor(t, "the request to finish", 30*time.Second, func() bool { r, _ := results(t, db.Store, r.ID); return r.State.Terminal() })
	waitFor(t, "metrics", 10*time.Second, func() bool {
		_, body := get("/metrics")
		return strings.Contains(body, `mfadesk_directory_calls_total{action="revoke-mfa-sessions",outcome="ok"} 3`) &&
			strings.Contains(body, `mfadesk_requests_total{action="revoke-mfa-sessions",state="succeeded"} 1`)
	})
	_, body := get("/metrics")
	for _, want := range []string{
		`mfadesk_requests_open{state="pending"} 0`,
		`mfadesk_execution_duration_seconds_count{action="revoke-mfa-sessions",state="succeeded"} 1`,
		`mfadesk_slack_api_calls_total{error="",method="chat.postMessage"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, _ := get("/slack/commands"); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /slack/commands = %d, want 405", code)
	}
	if err := c.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}
