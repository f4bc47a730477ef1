package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/mock"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage"
)

// runSocketMode connects b over Socket Mode and returns what disconnects
// it, which checks that RunSocketMode then returns without an error.
func runSocketMode(t *testing.T, b *Bot) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- b.RunSocketMode(ctx, fakeslack.DefaultAppToken) }()
	return func() {
		t.Helper()
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("RunSocketMode: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("RunSocketMode did not return")
		}
	}
}

// TestSocketMode runs a request from command to result over Socket Mode:
// the same handlers, answers in the acknowledgements.
func TestSocketMode(t *testing.T) {
	onSQLite(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		defer runSocketMode(t, h.bot)()
		send := func(envelope, kind string, payload any, retry int) json.RawMessage {
			t.Helper()
			ack, err := h.fake.SocketSend(envelope, kind, payload, retry, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			return ack
		}

		help := send("", "slash_commands", fakeslack.SocketCommand(h.fake.CommandForm("U0HELP1", "C0COMMANDS", "/mfa", "help")), 0)
		contains(t, "help", help, `"response_type":"ephemeral"`, "/mfa pending")

		ack := send("", "slash_commands", fakeslack.SocketCommand(h.fake.CommandForm("U0HELP1", "C0COMMANDS", "/mfa", "revoke-mfa-sessions <@U0BOB> lost phone")), 0)
		if len(ack) != 0 && string(ack) != "null" {
			t.Errorf("command acknowledged with %s, want nothing", ack)
		}
		var v fakeslack.View
		eventually(t, "the request modal", func() bool {
			vs := h.fake.Views("U0HELP1")
			if len(vs) == 1 {
				v = vs[0]
			}
			return len(vs) == 1
		})

		payload, err := h.fake.SubmissionPayload(v.ID, "U0HELP1", formValues("revoke-mfa-sessions", []string{"U0BOB"}, "lost phone", ""))
		if err != nil {
			t.Fatal(err)
		}
		first := send("env-submit", "interactive", payload, 0)
		again := send("env-submit", "interactive", payload, 1) // redelivered
		if !strings.Contains(string(first), `"response_action":"update"`) || string(first) != string(again) {
			t.Errorf("answers %s and %s, want the same update", first, again)
		}
		rs := h.requests()
		if len(rs) != 1 {
			t.Fatalf("%d requests, want 1", len(rs))
		}
		r := h.posted(rs[0].ID)
		channel, ts, _ := parseRef(r.Message)
		send("", "interactive", h.fake.ClickPayload("U0AUTH1", channel, ts, blocks.ActionApprove, r.ID), 0)
		h.waitState(r.ID, actions.StateSucceeded)
		h.waitDM("U0HELP1", "has succeeded")
	})
}

func TestSocketModeBadToken(t *testing.T) {
	b, err := New(Config{Service: &mock.Service{}, Slack: nil, ApprovalChannel: "C1"})
	if err == nil || b != nil {
		t.Fatalf("New without a Slack client: %v", err)
	}
	fake := fakeslack.New()
	defer fake.Close()
	b, _ = newTestBot(t, fake)
	if err := b.RunSocketMode(context.Background(), "xoxb-not-an-app-token"); err == nil {
		t.Error("RunSocketMode took a bot token")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.RunSocketMode(ctx, "xapp-wrong"); err == nil || ctx.Err() != nil {
		t.Errorf("RunSocketMode with a refused token: %v (ctx %v)", err, ctx.Err())
	}
}
