package actions_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
)

// The fixtures the workflow tests share: the policy, the people, a scripted
// directory and notifier, a clock, and the rig that puts them around a
// Service and an Executor on a real store.

const policyYAML = `
roles:
  helpdesk: [U0HELP1]
  authentication-admin: [U0AUTH1, U0AUTH2, auth3@example.com]
  privileged-authentication-admin: [U0PAUTH]
  global-admin: [U0GLOB1]
actions:
  reset-password:         {request: [helpdesk], approve: [authentication-admin, global-admin]}
  revoke-mfa-sessions:    {request: [helpdesk], approve: [authentication-admin, global-admin]}
  delete-app-passwords:   {request: [helpdesk], approve: [global-admin]}
approval: {approvals: 1, ttl: 1h}
limits: {max_targets: 50}
privileged: {roles: [privileged-authentication-admin, global-admin]}
`

var (
	requester = actions.Person{SlackID: "U0HELP1", Email: "help@example.com"}
	approver  = actions.Person{SlackID: "U0AUTH1", Email: "auth1@example.com"}
	globalAdm = actions.Person{SlackID: "U0GLOB1", Email: "glob@example.com"}
)

// fakeDir is a directory whose answers a test scripts: per email, a list of
// errors for successive calls (nil: success), and users that are admins.
type fakeDir struct {
	mu        sync.Mutex
	script    map[string][]error // by directory ID
	calls     map[string]int
	admins    map[string]bool
	unknown   map[string]bool
	delay     time.Duration
	secret    bool
	alias     map[string]string // email -> the email of the user it is an alias of
	privErr   error             // IsPrivileged fails with it when set
	lookupErr error             // ResolveUser fails with it when set
	onPerform func()            // called at the start of each Perform when set
	lookups   int               // ResolveUser and IsPrivileged calls
}

func newFakeDir() *fakeDir {
	return &fakeDir{script: map[string][]error{}, calls: map[string]int{}, admins: map[string]bool{}, unknown: map[string]bool{},
		alias: map[string]string{}}
}

func (d *fakeDir) Name() string { return "fake" }
func (d *fakeDir) Supports(a actions.Action) actions.Support {
	if a == actions.DeleteAppPasswords {
		return actions.Manual
	}
	return actions.Automated
}
func (d *fakeDir) ManualSteps(actions.Action) string { return "1. open the portal\n2. click delete" }
func (d *fakeDir) ResolveUser(_ context.Context, email string) (actions.DirectoryUser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if d.unknown[email] {
		return actions.DirectoryUser{}, fmt.Errorf("fake: %s: %w", email, actions.ErrUnknownUser)
	}
	if d.lookupErr != nil {
		return actions.DirectoryUser{}, d.lookupErr
	}
	if primary, ok := d.alias[email]; ok {
		email = primary
	}
	return actions.DirectoryUser{ID: "id-" + email, Email: email}, nil
}
func (d *fakeDir) IsPrivileged(_ context.Context, id string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lookups++
	if d.privErr != nil {
		return false, d.privErr
	}
	return d.admins[id], nil
}
func (d *fakeDir) Manager(_ context.Context, id string) (actions.DirectoryUser, error) {
	return actions.DirectoryUser{}, fmt.Errorf("fake: %s: %w", id, actions.ErrNoManager)
}
func (d *fakeDir) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	if d.onPerform != nil {
		d.onPerform()
	}
	if d.delay > 0 {
		if err := actions.SleepContext(ctx, d.delay); err != nil {
			return actions.Performed{}, err
		}
	}
	d.mu.Lock()
	n := d.calls[t.DirectoryID]
	d.calls[t.DirectoryID]++
	var err error
	if s := d.script[t.DirectoryID]; n < len(s) {
		err = s[n]
	}
	d.mu.Unlock()
	if err != nil {
		return actions.Performed{}, err
	}
	p := actions.Performed{Outcome: actions.OutcomeOK, Detail: "done"}
	if d.secret {
		p.Secret = actions.NewSecret("Temporary password", "S3cret!-"+t.DirectoryID, "")
	}
	return p, nil
}
func (d *fakeDir) callsTo(id string) int { d.mu.Lock(); defer d.mu.Unlock(); return d.calls[id] }

// lookupCount is how many ResolveUser and IsPrivileged calls d has had.
func (d *fakeDir) lookupCount() int { d.mu.Lock(); defer d.mu.Unlock(); return d.lookups }

// fakeNotifier records what people would have been told.
type fakeNotifier struct {
	mu      sync.Mutex
	changed []actions.Request
	secrets map[string]string // target email -> secret
	manual  []string
	failDM  bool
}

func (n *fakeNotifier) Changed(_ context.Context, r actions.Request) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.changed = append(n.changed, r)
}
func (n *fakeNotifier) DeliverSecret(_ context.Context, r actions.Request, t actions.Target, s *actions.Secret) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failDM {
		return errors.New("cannot_dm_bot")
	}
	if n.secrets == nil {
		n.secrets = map[string]string{}
	}
	n.secrets[t.Email] = s.Reveal()
	return nil
}
func (n *fakeNotifier) ManualSteps(_ context.Context, r actions.Request, steps string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.manual = append(n.manual, r.ID+": "+steps)
	return nil
}

type rig struct {
	store  *storage.Store
	dir    *fakeDir
	notify *fakeNotifier
	svc    *actions.Service
	exec   *actions.Executor
	pol    *actions.Policy
	now    *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// newClock is a clock at the present second.
func newClock() *clock { return &clock{t: time.Now().UTC().Truncate(time.Second)} }

// mustPolicy parses a test's policy, failing the test when it does not.
func mustPolicy(t *testing.T, yaml string) *actions.Policy {
	t.Helper()
	pol, err := actions.ParsePolicy("policy.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return pol
}

// baseRig is a rig on st under the policy in yaml, with a fresh directory,
// notifier and clock, and no service or executor yet.
func baseRig(t *testing.T, st *storage.Store, yaml string) *rig {
	t.Helper()
	return &rig{store: st, dir: newFakeDir(), notify: &fakeNotifier{}, pol: mustPolicy(t, yaml), now: newClock()}
}

func newRig(t *testing.T, st *storage.Store) *rig {
	t.Helper()
	r := baseRig(t, st, policyYAML)
	r.svc = actions.NewService(st, r.dir, r.pol, actions.ServiceOptions{Notifier: r.notify, Now: r.now.Now})
	r.exec = r.newExecutor("exec-1")
	return r
}

func (r *rig) newExecutor(owner string) *actions.Executor {
	return actions.NewExecutor(r.store, r.dir, actions.ExecutorOptions{
		Owner: owner, Notifier: r.notify, Now: r.now.Now, Lease: time.Minute, Parallel: 4, Policy: r.svc.Policy,
	})
}

func people(n int) []actions.Person {
	out := make([]actions.Person, n)
	for i := range out {
		out[i] = actions.Person{SlackID: fmt.Sprintf("U0T%03d", i), Email: fmt.Sprintf("user%03d@example.com", i)}
	}
	return out
}

// submitRequest submits, through svc, requester's request of a on targets.
func submitRequest(t *testing.T, svc *actions.Service, a actions.Action, targets []actions.Person) actions.Request {
	t.Helper()
	req, err := svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: a, Targets: targets, Reason: "ticket says so"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return req
}

func (r *rig) submit(t *testing.T, a actions.Action, targets []actions.Person) actions.Request {
	t.Helper()
	return submitRequest(t, r.svc, a, targets)
}

// approve approves request id as approver.
func (r *rig) approve(t *testing.T, id string) {
	t.Helper()
	if _, err := r.svc.Approve(t.Context(), id, approver); err != nil {
		t.Fatal(err)
	}
}

// runOnce has the executor run one request, which it must find, and
// returns request id as it then stands.
func (r *rig) runOnce(t *testing.T, id string) actions.Request {
	t.Helper()
	if ran, err := r.exec.ExecuteOnce(t.Context()); !ran || err != nil {
		t.Fatalf("ExecuteOnce = %v, %v", ran, err)
	}
	got, err := r.svc.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// events returns the audit events of request id, checking the whole chain.
func events(t *testing.T, st *storage.Store, id string) []actions.Event {
	t.Helper()
	var v actions.ChainVerifier
	var out []actions.Event
	err := st.Events(t.Context(), 0, time.Time{}, func(e actions.Event) error {
		if err := v.Next(e); err != nil {
			return err
		}
		if e.RequestID == id {
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	return out
}

func countKinds(evs []actions.Event) map[actions.EventKind]int {
	m := map[actions.EventKind]int{}
	for _, e := range evs {
		m[e.Kind]++
	}
	return m
}

// wantKinds checks that request id has want's number of events of each
// kind it lists (other kinds are not counted), reading the whole audit
// chain.
func wantKinds(t *testing.T, st *storage.Store, id string, want map[actions.EventKind]int) {
	t.Helper()
	k := countKinds(events(t, st, id))
	for kind, n := range want {
		if k[kind] != n {
			t.Errorf("%d %s events, want %d (all: %v)", k[kind], kind, n, k)
		}
	}
}
