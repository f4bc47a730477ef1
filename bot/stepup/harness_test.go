package stepup_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/bot/stepup"
	"github.com/mfadesk/mfadesk/bot/stepup/fakeidp"
	"github.com/mfadesk/mfadesk/storage"
)

const policyYAML = `
roles:
  helpdesk: [U0HELP1]
  authentication-admin: [U0AUTH1, U0AUTH2]
actions:
  reset-password: {request: [helpdesk], approve: [authentication-admin], step_up: true}
approval: {approvals: 1, ttl: 1h, step_up_max_age: 5m}
`

var (
	requester = actions.Person{SlackID: "U0HELP1", Email: "help@example.com"}
	approver  = actions.Person{SlackID: "U0AUTH1", Email: "auth1@example.com"}
	target    = actions.Person{SlackID: "U0BOB", Email: "bob@example.com"}
	// The identity provider's users: sub equals the dry-run directory's ID
	// ("dryrun:" + email), as an Okta or Google sub equals the user's ID.
	approverUser = fakeidp.User{Subject: "dryrun:auth1@example.com", Email: approver.Email, EmailVerified: true, Name: "Ann Approver"}
	otherUser    = fakeidp.User{Subject: "dryrun:mallory@example.com", Email: "mallory@example.com", EmailVerified: true, Name: "Mallory"}
	// lookalike has the approver's (unverified) email but is another account.
	lookalike = fakeidp.User{Subject: "00uLOOKALIKE", Email: approver.Email, Name: "Look Alike"}
)

// clock is the service's clock: real time plus an offset a test moves.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.off += d }

// notes records what the service told people: security alerts above all.
type notes struct {
	mu        sync.Mutex
	alerts    []string
	signingIn []string
}

func (n *notes) Changed(context.Context, actions.Request) {}
func (n *notes) DeliverSecret(context.Context, actions.Request, actions.Target, *actions.Secret) error {
	return nil
}
func (n *notes) ManualSteps(context.Context, actions.Request, string) error { return nil }
func (n *notes) SigningIn(_ context.Context, r actions.Request, by actions.Person) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.signingIn = append(n.signingIn, r.ID+" "+by.SlackID)
}
func (n *notes) SecurityAlert(_ context.Context, r actions.Request, text string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.alerts = append(n.alerts, text)
}
func (n *notes) alertCount() int { n.mu.Lock(); defer n.mu.Unlock(); return len(n.alerts) }

type envOpts struct {
	acr     string
	unknown []string // emails the directory does not know
	users   []fakeidp.User
}

// env is one mfadesk with step-up on a real database, a real OpenID Connect
// provider, and one pending reset-password request.
type env struct {
	t     testing.TB
	st    *storage.Store
	svc   *actions.Service
	h     *stepup.Handler
	idp   *fakeidp.Provider
	srv   *httptest.Server
	clock *clock
	notes *notes
	req   actions.Request
	o     envOpts
}

func newEnv(t testing.TB, st *storage.Store, o envOpts) *env {
	t.Helper()
	pol, err := actions.ParsePolicy("policy.yaml", []byte(policyYAML))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, clock: &clock{}, notes: &notes{}, o: o}
	dir := dryrun.New(dryrun.Options{Unknown: o.unknown})
	e.svc = actions.NewService(st, dir, pol, actions.ServiceOptions{Now: e.clock.now, Notifier: e.notes, StepUpACR: o.acr})
	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.startIdP("")
	e.h, err = stepup.New(stepup.Config{Issuer: e.idp.Issuer(), ClientID: "mfadesk", ClientSecret: "idp-client-secret",
		ACR: o.acr, PublicURL: e.srv.URL}, e.svc)
	if err != nil {
		t.Fatal(err)
	}
	e.h.Routes(mux)
	e.req, err = e.svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: actions.ResetPassword,
		Targets: []actions.Person{target}, Reason: "lost phone"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// startIdP starts the provider, on addr when not empty (a restart).
func (e *env) startIdP(addr string) {
	e.t.Helper()
	users := e.o.users
	if users == nil {
		users = []fakeidp.User{approverUser, otherUser, lookalike}
	}
	idp, err := fakeidp.Start(fakeidp.Options{Users: users, ClientID: "mfadesk", ClientSecret: "idp-client-secret",
		RedirectURIs: []string{e.srv.URL + stepup.CallbackPath}, ACRs: []string{"urn:okta:loa:2fa:any", "c1"}, Addr: addr})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = idp.Close() })
	e.idp = idp
}

// link is what the approver's Approve click gives them.
func (e *env) link(by actions.Person) string {
	e.t.Helper()
	_, token, err := e.svc.BeginStepUp(e.t.Context(), e.req.ID, by)
	if err != nil {
		e.t.Fatalf("begin step-up: %v", err)
	}
	return stepup.LinkURL(e.srv.URL, token)
}

// events returns the audit events of the request.
func (e *env) events() []actions.Event {
	e.t.Helper()
	var out []actions.Event
	err := e.st.Events(context.Background(), 0, time.Time{}, func(ev actions.Event) error {
		if ev.RequestID == e.req.ID {
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *env) count(kind actions.EventKind) int {
	n := 0
	for _, ev := range e.events() {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func (e *env) state() actions.State {
	e.t.Helper()
	r, err := e.svc.Get(context.Background(), e.req.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return r.State
}

// browser is a cookie-keeping HTTP client that stops before mfadesk's
// callback when hold is set, so a test can replay or delay it.
type browser struct {
	t        testing.TB
	c        *http.Client
	hold     bool
	callback string // the last callback URL seen
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t}
	b.c = &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if r.URL.Path == stepup.CallbackPath {
			b.callback = r.URL.String()
			if b.hold {
				return http.ErrUseLastResponse
			}
		}
		return nil
	}}
	return b
}

type page struct {
	status int
	url    *url.URL
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL, body: string(body)}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

// open opens a step-up link and returns the page it ends on (the
// provider's sign-in page when all is well) and that page's request ID.
func (b *browser) open(link string) (page, string) {
	b.t.Helper()
	p := b.get(link)
	return p, p.url.Query().Get(fakeidp.FieldRequest)
}

// signIn posts the provider's sign-in form and follows the redirects back
// to mfadesk (unless hold is set).
func (b *browser) signIn(idp *fakeidp.Provider, id string, c fakeidp.Choice) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, idp.Issuer()+"/login", strings.NewReader(c.Form(id).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}
