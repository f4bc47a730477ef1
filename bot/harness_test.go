package bot

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/actions/fakeapi"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

const (
	testSecret      = "8f742231b10e8888abcd99yyyzzz85a5"
	approvalChannel = "CAPPROVAL"
)

const testPolicy = `
roles:
  helpdesk: [U0HELP1, agent2@example.com]
  authentication-admin: [U0AUTH1, U0AUTH2]
  privileged-authentication-admin: [U0PAUTH]
  global-admin: [U0GLOB1, U0GLOB2]
actions:
  reset-password:         {request: [helpdesk, authentication-admin], approve: [authentication-admin, global-admin]}
  require-reregister-mfa: {request: [helpdesk, authentication-admin], approve: [authentication-admin, global-admin]}
  revoke-mfa-sessions:    {request: [helpdesk, authentication-admin], approve: [authentication-admin, global-admin]}
  delete-app-passwords:   {request: [global-admin], approve: [global-admin]}
approval:
  approvals: 1
  ttl: 1h
limits:
  max_targets: 50
privileged:
  roles: [privileged-authentication-admin, global-admin]
`

// The people of the test workspace.
var testUsers = []fakeslack.User{
	{ID: "U0HELP1", Name: "agent", Email: "agent@example.com"},
	{ID: "U0HELP2", Name: "agent2", Email: "agent2@example.com"}, // helpdesk by email
	{ID: "U0AUTH1", Name: "auth1", Email: "auth1@example.com"},
	{ID: "U0AUTH2", Name: "auth2", Email: "auth2@example.com"},
	{ID: "U0GLOB1", Name: "glob1", Email: "glob1@example.com"},
	{ID: "U0GLOB2", Name: "glob2", Email: "glob2@example.com"},
	{ID: "U0BOB", Name: "bob", DisplayName: "Bob", Email: "bob@example.com"},
	{ID: "U0CAROL", Name: "carol", Email: "carol@example.com"},
	{ID: "U0NOBODY", Name: "nobody", Email: "nobody@example.com"},
	{ID: "U0ROBOT", Name: "robot", IsBot: true},
	{ID: "U0GONE", Name: "gone", Email: "gone@example.com", Deleted: true},
	{ID: "U0NOMAIL", Name: "nomail"},
	{ID: "U0GHOST", Name: "ghost", Email: "ghost@example.com"},
	{ID: "U0ADMIN", Name: "admin", Email: "admin@example.com"},
}

// clock is the service's clock: real time plus an offset tests move.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// onSQLite runs fn on a fresh embedded SQLite store. The flows through the
// real service need a store, but the bot does no SQL of its own: they run
// on SQLite only, and the tests of what a database guarantees (one decision
// per approver, a submission stored once) run on both databases
// (TestDoubleClick, TestRedeliveredSubmission, and actions/ and storage/).
func onSQLite(t *testing.T, fn func(t *testing.T, store *storage.Store)) {
	t.Helper()
	fn(t, storagetest.New(t, storage.DialectSQLite).Store)
}

// harness is mfadesk's Slack side end to end: the bot behind its HTTP
// endpoints, the service and the executor on a real store, the dry-run
// directory (or another), and a fake Slack on both sides.
type harness struct {
	t     *testing.T
	fake  *fakeslack.Server
	app   *fakeslack.App
	store *storage.Store
	svc   *actions.Service
	bot   *Bot
	clock *clock
	logs  *fakeapi.LockedBuffer
	url   string
}

type harnessOptions struct {
	policy   string // testPolicy when empty
	dir      actions.Directory
	security string // MFADESK_SECURITY_CHANNEL
	budget   time.Duration
	interval time.Duration
	metrics  Metrics
	// userBurst and userRate set the per-user budget (Config.UserBurst,
	// Config.UserRate); zero is a burst of 1000 and the default rate.
	userBurst int
	userRate  float64
	// wrap, when set, wraps the store the service sees (not the executor's).
	wrap func(actions.Store) actions.Store
}

func newHarness(t *testing.T, store *storage.Store, opts ...func(*harnessOptions)) *harness {
	t.Helper()
	o := harnessOptions{interval: 50 * time.Millisecond, dir: dryrun.New(dryrun.Options{Privileged: []string{"admin@example.com"}, Unknown: []string{"ghost@example.com"}})}
	for _, f := range opts {
		f(&o)
	}
	if o.policy == "" {
		o.policy = testPolicy
	}
	if o.userBurst == 0 {
		o.userBurst = 1000 // tests act fast; TestPerUserBudget sets its own
	}
	pol, err := actions.ParsePolicy("policy.yaml", []byte(o.policy))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, fake: fakeslack.New(), store: store, clock: &clock{}, logs: &fakeapi.LockedBuffer{}}
	t.Cleanup(h.fake.Close)
	for _, u := range testUsers {
		h.fake.AddUser(u)
	}
	h.fake.AddChannel(approvalChannel)
	h.fake.AddChannel("C0COMMANDS")
	if o.security != "" {
		h.fake.AddChannel(o.security)
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	var exec *actions.Executor
	var svcStore actions.Store = store
	if o.wrap != nil {
		svcStore = o.wrap(store)
	}
	h.svc = actions.NewService(svcStore, o.dir, pol, actions.ServiceOptions{
		Now: h.clock.Now, Logger: log, Kick: func() { exec.Kick() },
	})
	h.bot, err = New(Config{
		Service: h.svc, Slack: slack.New(h.fake.Token, slack.OptionAPIURL(h.fake.APIURL())), APIURL: h.fake.APIURL(),
		SigningSecret: testSecret, ApprovalChannel: approvalChannel, SecurityChannel: o.security, Logger: log,
		UpdateInterval: o.interval, SubmitBudget: o.budget, Metrics: o.metrics,
		UserBurst: o.userBurst, UserRate: o.userRate,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.bot.intake.forms.lateUpdateDelay = 10 * time.Millisecond
	h.svc.SetNotifier(h.bot)
	exec = actions.NewExecutor(store, o.dir, actions.ExecutorOptions{
		Notifier: h.bot, Now: h.clock.Now, Logger: log, Poll: 20 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = exec.Run(ctx); close(stopped) }()

	mux := http.NewServeMux()
	h.bot.Routes(mux)
	srv := httptest.NewServer(mux)
	h.url = srv.URL
	h.app = h.fake.App(srv.URL, testSecret)
	t.Cleanup(func() {
		cancel()
		<-stopped
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		if err := h.bot.Shutdown(sctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
		if t.Failed() {
			t.Logf("log:\n%s", h.logs.String())
		}
	})
	return h
}

// eventually waits up to 10s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// answer is a view submission's response.
type answer struct {
	ResponseAction string            `json:"response_action"`
	Errors         map[string]string `json:"errors"`
	View           json.RawMessage   `json:"view"`
}

func (h *harness) decode(r *fakeslack.Reply, err error) answer {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
	if r.Status != http.StatusOK {
		h.t.Fatalf("status %d: %s", r.Status, r.Body)
	}
	var a answer
	if len(r.Body) > 0 {
		if err := r.JSON(&a); err != nil {
			h.t.Fatalf("answer %s: %v", r.Body, err)
		}
	}
	return a
}

// openForm runs /mfa text as user and returns the modal it opened.
func (h *harness) openForm(user, text string) fakeslack.View {
	h.t.Helper()
	before := len(h.fake.Views(user))
	r, err := h.app.Command(user, "/mfa", text)
	if err != nil || r.Status != http.StatusOK || len(r.Body) != 0 {
		h.t.Fatalf("/mfa %s: %v %+v", text, err, r)
	}
	var v fakeslack.View
	eventually(h.t, "the request modal", func() bool {
		vs := h.fake.Views(user)
		if len(vs) > before {
			v = vs[len(vs)-1]
			return true
		}
		return false
	})
	if v.CallbackID != blocks.CallbackRequest {
		h.t.Fatalf("opened view %s, want %s", v.CallbackID, blocks.CallbackRequest)
	}
	return v
}

func formValues(action string, targets []string, reason, ticket string) fakeslack.Values {
	return fakeslack.Values{
		blocks.BlockTargets: {blocks.BlockTargets: fakeslack.UsersValue(targets...)},
		blocks.BlockAction:  {blocks.BlockAction: fakeslack.OptionValue(action)},
		blocks.BlockReason:  {blocks.BlockReason: fakeslack.TextValue(reason)},
		blocks.BlockTicket:  {blocks.BlockTicket: fakeslack.TextValue(ticket)},
	}
}

// request makes user's request of action on targets and returns it once
// its approval message is up.
func (h *harness) request(user string, action actions.Action, targets ...string) actions.Request {
	h.t.Helper()
	v := h.openForm(user, "")
	a := h.decode(h.app.Submit(v.ID, user, formValues(string(action), targets, "lost phone", "INC-1")))
	if a.ResponseAction != "update" || !strings.Contains(string(a.View), "submitted") {
		h.t.Fatalf("submission answered %+v, want the submitted view", a)
	}
	r, err := h.store.RequestBySubmissionKey(context.Background(), "slack-view:"+v.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.posted(r.ID)
}

// posted waits for request id's approval message and returns the request.
func (h *harness) posted(id string) actions.Request {
	h.t.Helper()
	var r actions.Request
	eventually(h.t, "the approval message of "+id, func() bool {
		var err error
		r, err = h.svc.Get(context.Background(), id)
		return err == nil && r.Message != ""
	})
	return r
}

// message returns request r's approval message as it stands.
func (h *harness) message(r actions.Request) fakeslack.Message {
	h.t.Helper()
	channel, ts, ok := parseRef(r.Message)
	if !ok {
		h.t.Fatalf("request %s has message %q", r.ID, r.Message)
	}
	for _, m := range h.fake.Messages(channel) {
		if m.TS == ts {
			return m
		}
	}
	h.t.Fatalf("no message %s", r.Message)
	return fakeslack.Message{}
}

// click presses button action on r's approval message as user.
func (h *harness) click(user string, r actions.Request, action string) {
	h.t.Helper()
	channel, ts, _ := parseRef(r.Message)
	reply, err := h.app.Click(user, channel, ts, action, r.ID)
	if err != nil || reply.Status != http.StatusOK || len(reply.Body) != 0 {
		h.t.Fatalf("click %s: %v %+v", action, err, reply)
	}
}

// waitState waits until request id is in state and returns it.
func (h *harness) waitState(id string, state actions.State) actions.Request {
	h.t.Helper()
	var r actions.Request
	eventually(h.t, "request "+id+" "+string(state), func() bool {
		var err error
		r, err = h.svc.Get(context.Background(), id)
		return err == nil && r.State == state
	})
	return r
}

// events returns the audit events of request id ("" for all), oldest first.
func (h *harness) events(id string) []actions.Event {
	h.t.Helper()
	var out []actions.Event
	err := h.store.Events(context.Background(), 0, time.Time{}, func(e actions.Event) error {
		if id == "" || e.RequestID == id {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func kinds(evs []actions.Event) []actions.EventKind {
	out := make([]actions.EventKind, len(evs))
	for i, e := range evs {
		out[i] = e.Kind
	}
	return out
}

func count(evs []actions.Event, k actions.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// dms returns the direct messages user got.
func (h *harness) dms(user string) []fakeslack.Message {
	im := h.fake.IM(user)
	if im == "" {
		return nil
	}
	return h.fake.Messages(im)
}

// waitDM waits for a DM to user containing s.
func (h *harness) waitDM(user, s string) fakeslack.Message {
	h.t.Helper()
	var found fakeslack.Message
	eventually(h.t, "a DM to "+user+" with "+s, func() bool {
		for _, m := range h.dms(user) {
			if strings.Contains(string(m.Blocks), s) || strings.Contains(m.Text, s) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// waitEphemeral waits for a private reply to user containing s.
func (h *harness) waitEphemeral(user, s string) fakeslack.Message {
	h.t.Helper()
	var found fakeslack.Message
	eventually(h.t, "a private reply to "+user+" with "+s, func() bool {
		for _, m := range append(h.fake.Ephemerals(), h.fake.Responses()...) {
			if m.User == user && (strings.Contains(string(m.Blocks), s) || strings.Contains(m.Text, s)) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// requests returns every stored request.
func (h *harness) requests() []actions.Request {
	h.t.Helper()
	rs, err := h.store.ListRequests(context.Background(), actions.RequestFilter{})
	if err != nil {
		h.t.Fatal(err)
	}
	return rs
}
