package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// flow is one action requested in Slack and carried out on the directory.
type flow struct {
	name   string
	action actions.Action
	email  string // the target's email, in Slack and in the directory
	dirID  string // the target's directory ID
	manual bool   // a tracked manual step: the approver marks it done
	fail   bool   // the directory refuses: the request fails
	// detail is in the target_result's detail; requestID says the provider's
	// request ID is there too.
	detail    string
	requestID bool
	// check asserts what the fake directory received and how the user
	// changed.
	check func(t *testing.T)
	// secret is the secret the action handed out, as the fake knows it.
	secret func() string

	slackID, id, ts string // filled in as the flow runs
}

// e2e is one `mfadesk serve` with its fakes.
type e2e struct {
	t     *testing.T
	slack *fakeslack.Server
	app   *fakeslack.App
	db    storagetest.DB
	env   env
	proc  *child
}

// startE2E starts the fake Slack and `mfadesk serve` with the directory
// variables in dirEnv, and a policy enabling acts.
func startE2E(t *testing.T, db storagetest.DB, dirEnv env, acts []actions.Action, flows []*flow) *e2e {
	t.Helper()
	s := fakeslack.New()
	t.Cleanup(s.Close)
	s.AddChannel(e2eChannel)
	s.AddChannel("C0COMMANDS")
	s.AddUser(fakeslack.User{ID: e2eHelpdesk, Name: "help", Email: "help@example.com"})
	s.AddUser(fakeslack.User{ID: e2eApprover, Name: "auth", Email: "auth@example.com"})
	s.AddUser(fakeslack.User{ID: "U0GLOB1", Name: "glob", Email: "glob@example.com"})
	for i, f := range flows {
		f.slackID = fmt.Sprintf("U0T%03d", i)
		s.AddUser(fakeslack.User{ID: f.slackID, Name: strings.Split(f.email, "@")[0], Email: f.email})
	}
	e := env{
		"MFADESK_DATABASE_URL": db.URL, "MFADESK_POLICY_FILE": directoryPolicy(t, acts), "MFADESK_HTTP_ADDR": "127.0.0.1:0",
		"MFADESK_APPROVAL_CHANNEL": e2eChannel, "SLACK_BOT_TOKEN": s.Token, "SLACK_SIGNING_SECRET": e2eSecret,
		"SLACK_API_URL": s.APIURL(), "MFADESK_LOG_LEVEL": "debug",
	}.plus(dirEnv)
	h := &e2e{t: t, slack: s, db: db, env: e}
	h.start()
	return h
}

// start starts `mfadesk serve` and the fake Slack app that signs payloads
// to it.
func (h *e2e) start() {
	h.proc = startServe(h.t, h.env)
	h.app = h.slack.App(h.proc.url(""), e2eSecret)
}

// directoryPolicy writes a policy in which the helpdesk requests and the
// authentication admin approves every action in acts.
func directoryPolicy(t *testing.T, acts []actions.Action) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("roles:\n  helpdesk: [" + e2eHelpdesk + "]\n  authentication-admin: [" + e2eApprover + "]\n  global-admin: [U0GLOB1, U0GLOB2]\nactions:\n")
	for _, a := range acts {
		fmt.Fprintf(&b, "  %s: {request: [helpdesk], approve: [authentication-admin]}\n", a)
	}
	b.WriteString("approval: {approvals: 1, ttl: 1h}\nlimits: {max_targets: 50}\nprivileged: {roles: [global-admin]}\n")
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// run takes every flow from /mfa to its end: all requests first, then all
// approvals, then the manual steps, then the wait.
func (h *e2e) run(flows []*flow) {
	t := h.t
	t.Helper()
	seen := map[string]bool{}
	for _, f := range flows {
		h.request(f, seen)
	}
	for _, f := range flows {
		if r, err := h.app.Click(e2eApprover, e2eChannel, f.ts, blocks.ActionApprove, f.id); err != nil || r.Status != http.StatusOK {
			t.Fatalf("%s: approve: %v %+v", f.name, err, r)
		}
	}
	for _, f := range flows {
		if !f.manual {
			continue
		}
		var steps fakeslack.Message
		waitFor(t, f.name+": the manual steps in the approver's DM", 30*time.Second, func() bool {
			for _, m := range h.dms(e2eApprover) {
				if strings.Contains(string(m.Blocks), `"action_id":"`+blocks.ActionManualDone+`"`) && strings.Contains(string(m.Blocks), f.id) {
					steps = m
					return true
				}
			}
			return false
		})
		if r, err := h.app.Click(e2eApprover, steps.Channel, steps.TS, blocks.ActionManualDone, f.id); err != nil || r.Status != http.StatusOK {
			t.Fatalf("%s: manual_done: %v %+v", f.name, err, r)
		}
	}
	for _, f := range flows {
		waitFor(t, f.name+": the request to end", 60*time.Second, func() bool {
			r, err := h.db.Store.Request(t.Context(), f.id)
			return err == nil && r.State.Terminal()
		})
	}
}

// request runs /mfa as the helpdesk, submits the form for f and finds the
// approval message it produced.
func (h *e2e) request(f *flow, seen map[string]bool) {
	t := h.t
	t.Helper()
	view := h.openForm(f.name+": ", e2eHelpdesk)
	reply, err := h.app.Submit(view.ID, e2eHelpdesk, requestValues(f.slackID, f.action, "phished: "+f.name, "INC-42"))
	var answer struct {
		ResponseAction string `json:"response_action"`
	}
	if err != nil || reply.Status != http.StatusOK || reply.JSON(&answer) != nil || answer.ResponseAction != "update" {
		t.Fatalf("%s: submission: %v %+v", f.name, err, reply)
	}
	waitFor(t, f.name+": the approval message", 10*time.Second, func() bool {
		for _, m := range h.slack.Messages(e2eChannel) {
			id := buttonValue(m.Blocks, blocks.ActionApprove)
			if id != "" && !seen[id] && strings.Contains(textOf(m.Blocks), f.email) {
				f.id, f.ts, seen[id] = id, m.TS, true
				return true
			}
		}
		return false
	})
}

// openForm runs /mfa as user and returns the request form it opens; label
// starts the test's messages.
func (h *e2e) openForm(label, user string) fakeslack.View {
	t := h.t
	t.Helper()
	before := len(h.slack.Views(user))
	if r, err := h.app.Command(user, "/mfa", ""); err != nil || r.Status != http.StatusOK {
		t.Fatalf("%s/mfa: %v %+v", label, err, r)
	}
	var view fakeslack.View
	waitFor(t, label+"the request form", 10*time.Second, func() bool {
		vs := h.slack.Views(user)
		if len(vs) > before {
			view = vs[len(vs)-1]
			return true
		}
		return false
	})
	return view
}

// requestValues fills in the request form: a on target, with reason and
// ticket.
func requestValues(target string, a actions.Action, reason, ticket string) fakeslack.Values {
	return fakeslack.Values{
		blocks.BlockTargets: {blocks.BlockTargets: fakeslack.UsersValue(target)},
		blocks.BlockAction:  {blocks.BlockAction: fakeslack.OptionValue(string(a))},
		blocks.BlockReason:  {blocks.BlockReason: fakeslack.TextValue(reason)},
		blocks.BlockTicket:  {blocks.BlockTicket: fakeslack.TextValue(ticket)},
	}
}

// dms returns the messages in user's DM with the bot.
func (h *e2e) dms(user string) []fakeslack.Message {
	if im := h.slack.IM(user); im != "" {
		return h.slack.Messages(im)
	}
	return nil
}

// exportedEvent is an audit event as the export has it (docs/reference.md).
type exportedEvent struct {
	Seq       int    `json:"seq"`
	RequestID string `json:"request_id"`
	Event     string `json:"event"`
	Actor     string `json:"actor"`
	Action    string `json:"action"`
	Targets   []struct {
		SlackID     string `json:"slack_id"`
		Email       string `json:"email"`
		DirectoryID string `json:"directory_id"`
	} `json:"targets"`
	Target *struct {
		SlackID     string `json:"slack_id"`
		Email       string `json:"email"`
		DirectoryID string `json:"directory_id"`
	} `json:"target"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// finish stops `mfadesk serve` and checks every flow: the request's end, the
// approval message, the requester's DM, the directory, the secrets and the
// audit log (`mfadesk audit export` and `audit verify`).
func (h *e2e) finish(flows []*flow) {
	t := h.t
	t.Helper()
	for _, f := range flows {
		word, mark, dm := "*Succeeded*", ":white_check_mark: ok", "has succeeded."
		if f.fail {
			word, mark, dm = "*Failed*", ":x: failed", "has failed."
		}
		waitFor(t, f.name+": the approval message to show the result", 30*time.Second, func() bool {
			for _, m := range h.slack.Messages(e2eChannel) {
				if m.TS == f.ts {
					txt := textOf(m.Blocks)
					return strings.Contains(txt, word) && strings.Contains(txt, f.email+" "+mark)
				}
			}
			return false
		})
		waitFor(t, f.name+": the outcome in the requester's DM", 30*time.Second, func() bool {
			for _, m := range h.dms(e2eHelpdesk) {
				if txt := textOf(m.Blocks); strings.Contains(txt, "Your request `"+f.id+"`") && strings.Contains(txt, dm) {
					return true
				}
			}
			return false
		})
	}
	if err := h.proc.stop(t, syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
	log := h.proc.logs.String() // the process has exited: no more writes

	evs, out := h.exportAudit()
	events := map[string][]exportedEvent{}
	for _, e := range evs {
		events[e.RequestID] = append(events[e.RequestID], e)
	}

	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			r, err := h.db.Store.Request(t.Context(), f.id)
			want := actions.StateSucceeded
			if f.fail {
				want = actions.StateFailed
			}
			if err != nil || r.State != want {
				t.Fatalf("request %s: %s, %v; want %s", f.id, r.State, err, want)
			}
			f.check(t)
			h.checkAudit(t, f, events[f.id])
			if f.secret != nil {
				h.checkSecret(t, f, f.secret(), out, log)
			}
		})
	}
}

// wantCheckOK runs `mfadesk check` on the test's environment with run
// (runCmd in process, or runMain in a child for variables a process reads
// once) and wants it to pass.
func (h *e2e) wantCheckOK(run func(*testing.T, env, ...string) (int, string, string)) {
	t := h.t
	t.Helper()
	if code, out, errOut := run(t, h.env, "check"); code != 0 || out != "ok\n" {
		t.Errorf("check: exit %d %q %s", code, out, errOut)
	}
}

// exportAudit runs `mfadesk audit export`, whose events and output it
// returns, and checks that `audit verify` finds them all.
func (h *e2e) exportAudit() ([]exportedEvent, string) {
	t := h.t
	t.Helper()
	code, out, errOut := runCmd(t, h.env, "audit", "export")
	if code != 0 {
		t.Fatalf("audit export: exit %d\n%s", code, errOut)
	}
	var evs []exportedEvent
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e exportedEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit export line %q: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	if code, verified, _ := runCmd(t, h.env, "audit", "verify"); code != 0 || verified != fmt.Sprintf("ok %d events\n", len(evs)) {
		t.Errorf("audit verify: exit %d %q, want ok %d events", code, verified, len(evs))
	}
	return evs, out
}

// checkAudit: created, approved, started, one target_result, (manual_done,)
// completed, with the provider's request ID where it gives one.
func (h *e2e) checkAudit(t *testing.T, f *flow, evs []exportedEvent) {
	t.Helper()
	kinds := map[string][]exportedEvent{}
	var order []string
	for _, e := range evs {
		kinds[e.Event] = append(kinds[e.Event], e)
		order = append(order, e.Event)
		if e.Action != string(f.action) {
			t.Errorf("%s event of action %q", e.Event, e.Action)
		}
	}
	want := []string{"created", "approved", "started", "target_result", "completed"}
	if f.manual {
		want = []string{"created", "approved", "started", "manual_done", "target_result", "completed"}
	}
	for _, k := range want {
		if len(kinds[k]) != 1 {
			t.Fatalf("audit events %v: want one %s each of %v", order, k, want)
		}
	}
	if c := kinds["created"][0]; c.Actor != e2eHelpdesk || len(c.Targets) != 1 || c.Targets[0].Email != f.email ||
		c.Targets[0].SlackID != f.slackID || c.Targets[0].DirectoryID != f.dirID {
		t.Errorf("created: %+v", c)
	}
	if a := kinds["approved"][0]; a.Actor != e2eApprover {
		t.Errorf("approved by %q", a.Actor)
	}
	if f.manual && kinds["manual_done"][0].Actor != e2eApprover {
		t.Errorf("manual_done by %q", kinds["manual_done"][0].Actor)
	}
	res := kinds["target_result"][0]
	outcome, final := "ok", actions.StateSucceeded
	if f.fail {
		outcome, final = "failed", actions.StateFailed
	}
	if res.Target == nil || res.Target.DirectoryID != f.dirID || res.Outcome != outcome || !strings.Contains(res.Detail, f.detail) {
		t.Errorf("target_result: %+v; want %s with %q", res, outcome, f.detail)
	}
	if f.requestID && !strings.Contains(res.Detail, "(request-id ") {
		t.Errorf("target_result detail %q lacks the provider's request ID", res.Detail)
	}
	if c := kinds["completed"][0]; c.Outcome != string(final) {
		t.Errorf("completed: %+v", c)
	}
}

// checkSecret: the secret reached the requester's DM, and only that: no
// channel message, no other Slack call, no audit event, no log line.
func (h *e2e) checkSecret(t *testing.T, f *flow, secret, audit, log string) {
	t.Helper()
	if len(secret) < 8 {
		t.Fatalf("the fake holds no secret for %s (%q)", f.name, secret)
	}
	im := h.slack.IM(e2eHelpdesk)
	delivered := false
	for _, m := range h.slack.Messages(im) {
		delivered = delivered || strings.Contains(textOf(m.Blocks), secret)
	}
	if !delivered {
		t.Errorf("the secret is not in the requester's DM")
	}
	for _, c := range h.slack.Calls() {
		for k, v := range c.Args {
			if leaked(v, secret) && (c.Method != "chat.postMessage" || c.Args["channel"] != im || k == "text") {
				t.Errorf("the secret is in %s %s=%s", c.Method, k, v)
			}
		}
	}
	for _, m := range h.slack.Messages(e2eChannel) {
		if leaked(string(m.Blocks)+m.Text, secret) {
			t.Errorf("the secret is in the approval channel")
		}
	}
	if leaked(audit, secret) {
		t.Errorf("the secret is in the audit export")
	}
	if leaked(log, secret) {
		t.Errorf("the secret is in the log of mfadesk serve")
	}
}

// leaked reports whether s is in text, as it is or JSON-escaped.
func leaked(text, s string) bool {
	b, _ := json.Marshal(s)
	return strings.Contains(text, s) || strings.Contains(text, strings.Trim(string(b), `"`))
}

// textOf is every string in a JSON document, one a line.
func textOf(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			b.WriteString(v + "\n")
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	return b.String()
}

// buttonValue is the value of the button actionID in blocks, or "".
func buttonValue(raw json.RawMessage, actionID string) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var find func(any) string
	find = func(v any) string {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				if s := find(x); s != "" {
					return s
				}
			}
		case map[string]any:
			if v["action_id"] == actionID {
				s, _ := v["value"].(string)
				return s
			}
			for _, x := range v {
				if s := find(x); s != "" {
					return s
				}
			}
		}
		return ""
	}
	return find(v)
}

// calls counts the lines of log that contain s.
func calls(log []string, s string) int {
	n := 0
	for _, l := range log {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// wantCalls fails t unless each of want is in log.
func wantCalls(t *testing.T, log []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if calls(log, w) == 0 {
			t.Errorf("the directory received no %q; it received:\n%s", w, strings.Join(log, "\n"))
		}
	}
}

// runMain runs the program as a child process: for commands whose trust
// store must come from SSL_CERT_FILE, which a process reads once.
func runMain(t *testing.T, e env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := mainCommand(t.Context(), e, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}
