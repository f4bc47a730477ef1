package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/mock"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

// Handler tests: the bot between the fake Slack and a mock service, with no
// database. The flows through the real service and store are in
// e2e_test.go and e2e_more_test.go.

// handlerRig is a bot over a mock service behind its HTTP endpoints.
type handlerRig struct {
	bot  *Bot
	fake *fakeslack.Server
	app  *fakeslack.App
	svc  *mock.Service
}

func newHandlerRig(t *testing.T) *handlerRig {
	t.Helper()
	fake := fakeslack.New()
	t.Cleanup(fake.Close)
	b, svc := newTestBot(t, fake)
	mux := http.NewServeMux()
	b.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &handlerRig{bot: b, fake: fake, app: fake.App(srv.URL, testSecret), svc: svc}
}

// waitEphemeral waits for a private reply to user that holds s.
func (h *handlerRig) waitEphemeral(t *testing.T, user, s string) {
	t.Helper()
	eventually(t, "a private reply to "+user+" with "+s, func() bool {
		for _, m := range append(h.fake.Ephemerals(), h.fake.Responses()...) {
			if m.User == user && (strings.Contains(string(m.Blocks), s) || strings.Contains(m.Text, s)) {
				return true
			}
		}
		return false
	})
}

func TestSignatures(t *testing.T) {
	h := newHandlerRig(t)
	command := []byte(url.Values{"user_id": {"U0HELP1"}, "command": {"/mfa"}, "text": {"revoke-mfa-sessions <@U0BOB>"},
		"trigger_id": {h.fake.NewTrigger("U0HELP1")}}.Encode())
	click := []byte(url.Values{"payload": {`{"type":"block_actions","user":{"id":"U0AUTH1"},"actions":[{"action_id":"approve","value":"R1","action_ts":"1"}]}`}}.Encode())
	headers := func(secret string, at time.Time, body []byte) http.Header {
		sig, ts := fakeslack.Sign(secret, at, body)
		return http.Header{"X-Slack-Signature": {sig}, "X-Slack-Request-Timestamp": {ts}}
	}
	for _, path := range []string{"/slack/commands", "/slack/interactivity"} {
		body := command
		if path == "/slack/interactivity" {
			body = click
		}
		for name, h2 := range map[string]http.Header{
			"missing":      nil,
			"wrong secret": headers("not-the-secret", time.Now(), body),
			"stale":        headers(testSecret, time.Now().Add(-6*time.Minute), body),
			"future":       headers(testSecret, time.Now().Add(6*time.Minute), body),
			"other body":   headers(testSecret, time.Now(), []byte("text=something+else")),
			"not v0":       {"X-Slack-Signature": {"v1=abc"}, "X-Slack-Request-Timestamp": {headers(testSecret, time.Now(), body).Get("X-Slack-Request-Timestamp")}},
		} {
			reply, err := h.app.Post(path, body, h2)
			if err != nil {
				t.Fatal(err)
			}
			if reply.Status != http.StatusUnauthorized {
				t.Errorf("%s %s: status %d, want 401", path, name, reply.Status)
			}
		}
	}
	time.Sleep(100 * time.Millisecond)
	if calls := h.fake.Calls(); len(calls) != 0 {
		t.Errorf("Slack was called for refused requests: %+v", calls)
	}
	for _, m := range []string{"Approve", "Requestable"} {
		if n := h.svc.Calls(m); n != 0 {
			t.Errorf("the service's %s was called %d times for refused requests", m, n)
		}
	}
	// The same command, signed: it is the signature that mattered.
	if reply, err := h.app.Post("/slack/commands", command, headers(testSecret, time.Now(), command)); err != nil || reply.Status != http.StatusOK {
		t.Fatalf("signed command: %v %+v", err, reply)
	}
	eventually(t, "the form", func() bool { return len(h.fake.Views("U0HELP1")) == 1 })
}

func TestExpiredTrigger(t *testing.T) {
	h := newHandlerRig(t)
	h.fake.SetTriggerTTL(0)
	if r, err := h.app.Command("U0HELP1", "/mfa", ""); err != nil || r.Status != http.StatusOK {
		t.Fatal(err, r)
	}
	h.waitEphemeral(t, "U0HELP1", "Slack allows 3 seconds to open the form")
}

// TestDenyAsksTheService: a Deny click opens the form only when the service
// authorizes the clicker; a refusal (which the service records) is
// explained at once, and nothing is denied.
func TestDenyAsksTheService(t *testing.T) {
	for _, c := range []struct {
		name     string
		err      error
		wantForm bool
		wantText string
	}{
		{"authorized", nil, true, ""},
		{"refused", &actions.DecisionError{Kind: actions.ErrForbidden, Reason: "to deny reset-password you need one of the roles global-admin"},
			false, "To deny reset-password you need one of the roles global-admin."},
		{"unknown request", actions.ErrNotFound, false, "There is no request `R7K2M9QXA4F`"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHandlerRig(t)
			var asked actions.Person
			h.svc.AuthorizeDenyFn = func(_ context.Context, id string, by actions.Person) (actions.Request, error) {
				asked = by
				if c.err != nil {
					return actions.Request{}, c.err
				}
				return actions.Request{ID: id, Action: actions.ResetPassword, Requester: actions.Person{SlackID: "U0HELP1"},
					Targets: []actions.Target{{SlackID: "U0BOB", Email: "bob@example.com"}}}, nil
			}
			if r, err := h.app.Click("U0AUTH1", approvalChannel, "1700000000.000100", blocks.ActionDeny, "R7K2M9QXA4F"); err != nil || r.Status != http.StatusOK {
				t.Fatal(err, r)
			}
			if c.wantForm {
				eventually(t, "the deny form", func() bool {
					vs := h.fake.Views("U0AUTH1")
					return len(vs) == 1 && vs[0].CallbackID == blocks.CallbackDeny
				})
			} else {
				h.waitEphemeral(t, "U0AUTH1", c.wantText)
				if vs := h.fake.Views("U0AUTH1"); len(vs) != 0 {
					t.Errorf("a form opened after a refusal: %+v", vs)
				}
			}
			if asked.SlackID != "U0AUTH1" || asked.Email != "auth1@example.com" {
				t.Errorf("the service was asked about %+v, want the clicker with their profile email", asked)
			}
			if n := h.svc.Calls("Deny"); n != 0 {
				t.Errorf("Deny called %d times before any form was submitted", n)
			}
		})
	}
}

// TestStatusAsksTheService: /mfa status shows what the service lets the
// caller see, and "no such request" for what it does not.
func TestStatusAsksTheService(t *testing.T) {
	h := newHandlerRig(t)
	h.svc.StatusFn = func(_ context.Context, id string, by actions.Person) (actions.Request, error) {
		if by.SlackID != "U0HELP1" || actions.NormalizeRequestID(id) != "R7K2M9QXA4F" {
			return actions.Request{}, actions.ErrNotFound
		}
		return actions.Request{ID: "R7K2M9QXA4F", Action: actions.RevokeMFASessions, State: actions.StatePending,
			Requester: by, Targets: []actions.Target{{SlackID: "U0BOB", Email: "bob@example.com"}}, ApprovalsNeeded: 1}, nil
	}
	for _, c := range []struct{ user, text, want string }{
		{"U0HELP1", "status r7k2m9qxa4f", "*Waiting for approval*"},
		{"U0NOBODY", "status R7K2M9QXA4F", "There is no request `R7K2M9QXA4F`"},
	} {
		if r, err := h.app.Command(c.user, "/mfa", c.text); err != nil || r.Status != http.StatusOK {
			t.Fatal(err, r)
		}
		h.waitEphemeral(t, c.user, c.want)
	}
	if n := h.svc.Calls("Status"); n != 2 {
		t.Errorf("Status called %d times, want 2", n)
	}
}
