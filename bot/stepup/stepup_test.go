package stepup_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/stepup"
	"github.com/mfadesk/mfadesk/bot/stepup/fakeidp"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

var withMFA = fakeidp.Choice{Subject: approverUser.Subject, MFA: true}

// signInWith is a run that opens the approver's link in a new browser and
// signs in as c says.
func signInWith(c fakeidp.Choice) func(*testing.T, *env) page {
	return func(t *testing.T, e *env) page {
		b := newBrowser(t)
		_, id := b.open(e.link(approver))
		return b.signIn(e.idp, id, c)
	}
}

// heldAtCallback is a new browser that opened the approver's link and
// signed in with MFA, holding the provider's redirect back, whose URL is
// in its callback.
func heldAtCallback(t *testing.T, e *env) *browser {
	t.Helper()
	b := newBrowser(t)
	b.hold = true
	_, id := b.open(e.link(approver))
	b.signIn(e.idp, id, withMFA)
	if b.callback == "" {
		t.Fatal("no callback reached")
	}
	return b
}

// TestStepUp runs every case on SQLite and PostgreSQL, each with a real
// OpenID Connect provider and a cookie-keeping browser.
func TestStepUp(t *testing.T) {
	tests := []struct {
		name string
		o    envOpts
		// run drives the browser and returns the final page.
		run        func(t *testing.T, e *env) page
		status     int
		says       string // on the final page
		approved   int    // approved events
		refused    int    // refused events
		alerts     int
		finalState actions.State
	}{
		{name: "success", run: signInWith(withMFA),
			status: http.StatusOK, says: "Approved", approved: 1, finalState: actions.StateApproved},

		{name: "no MFA in amr", run: signInWith(fakeidp.Choice{Subject: approverUser.Subject}),
			status: http.StatusForbidden, says: "the sign-in used no MFA (amr: pwd)", refused: 1, finalState: actions.StatePending},

		{name: "stale auth_time", run: signInWith(fakeidp.Choice{Subject: approverUser.Subject, MFA: true, Age: 15 * time.Minute}),
			status: http.StatusForbidden, says: "happened before the Approve click", refused: 1, finalState: actions.StatePending},

		{name: "another user signs in", run: signInWith(fakeidp.Choice{Subject: otherUser.Subject, MFA: true}),
			status: http.StatusForbidden, says: "someone other than &lt;@U0AUTH1&gt; signed in (dryrun:mallory@example.com)", refused: 1, alerts: 1, finalState: actions.StatePending},

		{name: "another account with the approver's unverified email", run: signInWith(fakeidp.Choice{Subject: lookalike.Subject, MFA: true}),
			status: http.StatusForbidden, says: "someone other than", refused: 1, alerts: 1, finalState: actions.StatePending},

		{name: "approver unknown to the directory: verified email", o: envOpts{unknown: []string{approver.Email}}, run: signInWith(withMFA),
			status: http.StatusOK, says: "Approved", approved: 1, finalState: actions.StateApproved},

		{name: "approver unknown to the directory: unverified email", o: envOpts{unknown: []string{approver.Email}}, run: signInWith(fakeidp.Choice{Subject: lookalike.Subject, MFA: true}),
			status: http.StatusForbidden, says: "verified false", refused: 1, alerts: 1, finalState: actions.StatePending},

		{name: "replayed callback", run: func(t *testing.T, e *env) page {
			b := newBrowser(t)
			_, id := b.open(e.link(approver))
			if p := b.signIn(e.idp, id, withMFA); p.status != http.StatusOK {
				t.Fatalf("first callback: %d %s", p.status, p.body)
			}
			return b.get(b.callback)
		}, status: http.StatusGone, says: "this sign-in was completed already", approved: 1, refused: 1, finalState: actions.StateApproved},

		{name: "a link checker's HEAD does not use the link", run: func(t *testing.T, e *env) page {
			b := newBrowser(t)
			link := e.link(approver)
			req, _ := http.NewRequest(http.MethodHead, link, nil)
			if p := b.do(req); p.status != http.StatusOK {
				t.Fatalf("HEAD: %d", p.status)
			}
			_, id := b.open(link)
			return b.signIn(e.idp, id, withMFA)
		}, status: http.StatusOK, says: "Approved", approved: 1, finalState: actions.StateApproved},

		{name: "link token reused", run: func(t *testing.T, e *env) page {
			b := newBrowser(t)
			link := e.link(approver)
			if _, id := b.open(link); id == "" {
				t.Fatal("first opening did not reach the sign-in page")
			}
			p, id := b.open(link)
			if id != "" {
				t.Errorf("the second opening reached the sign-in page")
			}
			return p
		}, status: http.StatusGone, says: "this sign-in link was used already", refused: 1, finalState: actions.StatePending},

		{name: "link opened in one browser, signed in from another (no cookie)", run: func(t *testing.T, e *env) page {
			first := newBrowser(t)
			first.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			resp, err := first.c.Get(e.link(approver))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			authorize := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(authorize, e.idp.Issuer()) {
				t.Fatalf("start: %s to %q, want a redirect to the provider", resp.Status, authorize)
			}
			second := newBrowser(t)
			_, id := second.open(authorize)
			return second.signIn(e.idp, id, withMFA)
		}, status: http.StatusForbidden, says: "this sign-in was started in another browser", refused: 1, finalState: actions.StatePending},

		{name: "expired link", run: func(t *testing.T, e *env) page {
			link := e.link(approver)
			e.clock.advance(actions.StepUpLinkTTL + time.Second)
			p, _ := newBrowser(t).open(link)
			return p
		}, status: http.StatusGone, says: "this sign-in link expired", refused: 1, finalState: actions.StatePending},

		{name: "provider down when the link is opened; the link works once it is back", run: func(t *testing.T, e *env) page {
			link := e.link(approver)
			addr := strings.TrimPrefix(e.idp.Issuer(), "http://")
			_ = e.idp.Close()
			b := newBrowser(t)
			p, _ := b.open(link)
			if p.status != http.StatusBadGateway || !strings.Contains(p.body, "cannot be reached") {
				t.Fatalf("provider down: %d %s", p.status, p.body)
			}
			e.startIdP(addr)
			_, id := b.open(link)
			return b.signIn(e.idp, id, withMFA)
		}, status: http.StatusOK, says: "Approved", approved: 1, finalState: actions.StateApproved},

		{name: "provider down at the callback", run: func(t *testing.T, e *env) page {
			b := heldAtCallback(t, e)
			_ = e.idp.Close()
			return b.get(b.callback)
		}, status: http.StatusBadGateway, says: "the identity provider did not exchange the code (unreachable)", refused: 1, finalState: actions.StatePending},

		{name: "provider refuses the sign-in", run: func(t *testing.T, e *env) page {
			b := heldAtCallback(t, e)
			u, _ := url.Parse(b.callback)
			q := url.Values{"state": {u.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"user cancelled"}}
			u.RawQuery = q.Encode()
			return b.get(u.String())
		}, status: http.StatusBadGateway, says: "access_denied: user cancelled", refused: 1, finalState: actions.StatePending},

		{name: "Okta acr_values", o: envOpts{acr: "urn:okta:loa:2fa:any"}, run: func(t *testing.T, e *env) page {
			b := newBrowser(t)
			_, id := b.open(e.link(approver))
			if got := e.idp.Requests()[0].ACRValues; !slices.Equal(got, []string{"urn:okta:loa:2fa:any"}) {
				t.Errorf("acr_values %v", got)
			}
			return b.signIn(e.idp, id, fakeidp.Choice{Subject: approverUser.Subject, ACR: "urn:okta:loa:2fa:any"})
		}, status: http.StatusOK, says: "Approved", approved: 1, finalState: actions.StateApproved},

		{name: "acr required, mfa alone is not enough", o: envOpts{acr: "urn:okta:loa:2fa:any"}, run: signInWith(withMFA),
			status: http.StatusForbidden, says: "required authentication context urn:okta:loa:2fa:any", refused: 1, finalState: actions.StatePending},

		{name: "Entra: oid and an authentication context in acrs", o: envOpts{acr: "c1", users: []fakeidp.User{
			{Subject: "pairwise-sub-1", OID: "dryrun:auth1@example.com", Email: approver.Email, Name: "Ann (Entra)"}}},
			run: func(t *testing.T, e *env) page {
				b := newBrowser(t)
				_, id := b.open(e.link(approver))
				return b.signIn(e.idp, id, fakeidp.Choice{Subject: "pairwise-sub-1", MFA: true, ACR: "c1"})
			}, status: http.StatusOK, says: "Approved", approved: 1, finalState: actions.StateApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.Each(t, func(t *testing.T, st *storage.Store) {
				e := newEnv(t, st, tt.o)
				p := tt.run(t, e)
				if p.status != tt.status || !strings.Contains(p.body, tt.says) {
					t.Errorf("final page %d, want %d saying %q:\n%s", p.status, tt.status, tt.says, p.body)
				}
				if got := e.count(actions.EventApproved); got != tt.approved {
					t.Errorf("%d approved events, want %d", got, tt.approved)
				}
				if got := e.count(actions.EventRefused); got != tt.refused {
					t.Errorf("%d refused events, want %d: %+v", got, tt.refused, e.events())
				}
				if got := e.notes.alertCount(); got != tt.alerts {
					t.Errorf("%d security alerts, want %d: %v", got, tt.alerts, e.notes.alerts)
				}
				if got := e.state(); got != tt.finalState {
					t.Errorf("request %s, want %s", got, tt.finalState)
				}
				checkNoSecrets(t, e)
			})
		})
	}
}

// checkNoSecrets: no link token, cookie, code or ID token reaches the audit.
func checkNoSecrets(t *testing.T, e *env) {
	t.Helper()
	for _, ev := range e.events() {
		for _, bad := range []string{"t=", "code=", "eyJ", "idp-client-secret"} {
			if strings.Contains(ev.Detail, bad) {
				t.Errorf("audit event %s detail %q contains %q", ev.Kind, ev.Detail, bad)
			}
		}
	}
}

// TestStepUpEvidence checks the approved event's detail and the
// authorization request mfadesk sent.
func TestStepUpEvidence(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		e := newEnv(t, st, envOpts{})
		b := newBrowser(t)
		link := e.link(approver)
		if len(e.notes.signingIn) != 1 || e.notes.signingIn[0] != e.req.ID+" U0AUTH1" {
			t.Errorf("signing-in notes %v", e.notes.signingIn)
		}
		_, id := b.open(link)
		if p := b.signIn(e.idp, id, withMFA); p.status != http.StatusOK || !strings.Contains(p.body, "The request runs now") {
			t.Fatalf("final page %d: %s", p.status, p.body)
		}
		reqs := e.idp.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d authorization requests", len(reqs))
		}
		r := reqs[0]
		if r.RedirectURI != e.srv.URL+stepup.CallbackPath || r.Method != "S256" || r.CodeChallenge == "" || r.Nonce == "" ||
			!slices.Equal(r.Prompt, []string{"login"}) || r.MaxAge == nil || *r.MaxAge != 0 ||
			!slices.Equal(r.Scopes, []string{"openid", "profile", "email"}) || len(r.ACRValues) != 0 {
			t.Errorf("authorization request %+v", r)
		}
		var approved actions.Event
		for _, ev := range e.events() {
			if ev.Kind == actions.EventApproved {
				approved = ev
			}
		}
		want := "approval 1 of 1; step-up sign-in: sub=dryrun:auth1@example.com amr=pwd,mfa,otp auth_time="
		if approved.Actor != approver.SlackID || !strings.HasPrefix(approved.Detail, want) {
			t.Errorf("approved event %+v, want actor U0AUTH1 and detail %q…", approved, want)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := stepup.Config{Issuer: "https://login.example.com", ClientID: "id", ClientSecret: "secret", PublicURL: "https://mfadesk.internal"}
	tests := []struct {
		name string
		mod  func(*stepup.Config)
		want string
	}{
		{"all set", func(*stepup.Config) {}, ""},
		{"no public URL", func(c *stepup.Config) { c.PublicURL = "" }, "MFADESK_PUBLIC_URL: required when the policy has step_up actions"},
		{"no issuer", func(c *stepup.Config) { c.Issuer = " " }, "MFADESK_OIDC_ISSUER: required"},
		{"no client ID", func(c *stepup.Config) { c.ClientID = "" }, "MFADESK_OIDC_CLIENT_ID: required"},
		{"no client secret", func(c *stepup.Config) { c.ClientSecret = "" }, "MFADESK_OIDC_CLIENT_SECRET: required"},
		{"public URL not a URL", func(c *stepup.Config) { c.PublicURL = "mfadesk.internal" }, "MFADESK_PUBLIC_URL: must be an http(s) URL"},
		{"issuer with a query", func(c *stepup.Config) { c.Issuer = "https://login.example.com/?x=1" }, "MFADESK_OIDC_ISSUER: must be an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mod(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestStartCookie checks the cookie and the redirect of /stepup/start for
// an https MFADESK_PUBLIC_URL with a path (behind a reverse proxy).
func TestStartCookie(t *testing.T) {
	st := storagetest.New(t, storage.DialectSQLite).Store
	e := newEnv(t, st, envOpts{})
	h, err := stepup.New(stepup.Config{Issuer: e.idp.Issuer(), ClientID: "mfadesk", ClientSecret: "idp-client-secret",
		PublicURL: "https://mfadesk.example.com/desk/"}, e.svc)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Routes(mux)
	link, _ := url.Parse(e.link(approver))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, link.RequestURI(), nil))
	resp := rec.Result()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d %s", resp.StatusCode, rec.Body)
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/desk/stepup/" ||
		c.MaxAge != int(actions.StepUpSignInTTL/time.Second) || len(c.Value) < 40 {
		t.Errorf("cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/desk/stepup/, 10 minutes, a long random value", c)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), e.idp.Issuer()) {
		t.Fatalf("redirect to %v", loc)
	}
	q := loc.Query()
	if q.Get("redirect_uri") != "https://mfadesk.example.com/desk/stepup/callback" || q.Get("code_challenge_method") != "S256" ||
		q.Get("prompt") != "login" || q.Get("max_age") != "0" || q.Get("nonce") == "" || q.Get("state") == "" ||
		strings.Contains(loc.String(), link.Query().Get("t")) || strings.Contains(loc.String(), c.Value) {
		t.Errorf("authorization URL %s", loc)
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
}

// TestBeginStepUpRefusals: the Approve click's checks run before any link
// is issued, and a refusal by the policy is audited.
func TestBeginStepUpRefusals(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		e := newEnv(t, st, envOpts{})
		outsider := actions.Person{SlackID: "U0OUT", Email: "out@example.com"}
		tests := []struct {
			name    string
			by      actions.Person
			want    error
			refused int
		}{
			{"the requester", requester, actions.ErrForbidden, 1},
			{"the target", target, actions.ErrForbidden, 1},
			{"no approving role", outsider, actions.ErrForbidden, 1},
		}
		for _, tt := range tests {
			before := e.count(actions.EventRefused)
			_, token, err := e.svc.BeginStepUp(t.Context(), e.req.ID, tt.by)
			if !errors.Is(err, tt.want) || token != "" {
				t.Errorf("%s: token %q, error %v, want %v", tt.name, token, err, tt.want)
			}
			if got := e.count(actions.EventRefused) - before; got != tt.refused {
				t.Errorf("%s: %d refused events, want %d", tt.name, got, tt.refused)
			}
		}
		// A plain Approve of a step_up action is not an approval.
		if _, err := e.svc.Approve(t.Context(), e.req.ID, approver); !errors.Is(err, actions.ErrStepUpRequired) {
			t.Errorf("Approve: %v, want ErrStepUpRequired", err)
		}
		if e.count(actions.EventApproved) != 0 || e.state() != actions.StatePending {
			t.Errorf("a plain Approve changed the request")
		}
	})
}
