package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/storage"
)

// env is a getenv over a map.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// with returns a copy of e with more variables.
func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// plus returns a copy of e with the variables of more.
func (e env) plus(more ...env) env {
	out := maps.Clone(e)
	if out == nil {
		out = env{}
	}
	for _, m := range more {
		maps.Copy(out, m)
	}
	return out
}

// runCmd runs the program in process and returns its exit code and output.
func runCmd(t *testing.T, e env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(t.Context(), args, e.get, &out, &errOut)
	code = exitCode(err, &errOut)
	return code, out.String(), errOut.String()
}

// writePolicy writes the example policy with the test's people and returns
// its path.
func writePolicy(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "policy.yaml")
	const policy = `
roles:
  helpdesk: [U0HELP1]
  authentication-admin: [U0AUTH1]
  global-admin: [U0GLOB1, U0GLOB2]
actions:
  reset-password:       {request: [helpdesk], approve: [authentication-admin, global-admin]}
  revoke-mfa-sessions:  {request: [helpdesk], approve: [authentication-admin, global-admin]}
  delete-app-passwords: {request: [helpdesk], approve: [global-admin]}
approval: {approvals: 1, ttl: 1h}
limits: {max_targets: 50}
privileged: {roles: [global-admin]}
`
	if err := os.WriteFile(p, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	helpdesk = actions.Person{SlackID: "U0HELP1", Email: "help@example.com"}
	authAdm  = actions.Person{SlackID: "U0AUTH1", Email: "auth@example.com"}
)

func targets(n int) []actions.Person {
	out := make([]actions.Person, n)
	for i := range out {
		out[i] = actions.Person{SlackID: "U0T" + string(rune('A'+i%26)) + string(rune('A'+i/26)), Email: "user" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com"}
	}
	return out
}

// approvedRequest stores a request on targets n and approves it, through the
// service as the bot would.
func approvedRequest(t *testing.T, st *storage.Store, policyFile string, n int) actions.Request {
	t.Helper()
	pol, err := actions.LoadPolicy(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	svc := actions.NewService(st, dryrun.New(dryrun.Options{}), pol, actions.ServiceOptions{})
	r, err := svc.Submit(t.Context(), actions.Draft{Requester: helpdesk, Action: actions.RevokeMFASessions, Targets: targets(n), Reason: "phished"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Approve(t.Context(), r.ID, authAdm); err != nil {
		t.Fatal(err)
	}
	return r
}

// fakeSlack answers every Web API call with ok, like a quiet workspace, and
// records the methods called. Its users have emails.
type fakeSlack struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := strings.TrimPrefix(r.URL.Path, "/api/")
		f.mu.Lock()
		f.calls = append(f.calls, method)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		resp := map[string]any{"ok": true}
		switch method {
		case "auth.test":
			resp["user_id"], resp["team_id"], resp["bot_id"] = "U0BOT", "T0TEAM", "B0BOT"
		case "chat.postMessage", "chat.update":
			resp["channel"], resp["ts"] = "C0APPROVE", time.Now().Format("1504050000.000000")
		case "conversations.open":
			resp["channel"] = map[string]any{"id": "D0DM"}
		case "conversations.info":
			resp["channel"] = map[string]any{"id": r.FormValue("channel"), "is_channel": true, "is_member": true}
		case "users.info":
			id := r.FormValue("user")
			resp["user"] = map[string]any{"id": id, "name": id, "profile": map[string]any{"email": strings.ToLower(id) + "@example.com"}}
		}
		json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSlack) called(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == method {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out after %s waiting for %s", within, what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
