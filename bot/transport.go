package bot

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/bot/blocks"
)

// maxBody bounds what the bot reads of one request from Slack. The largest
// payloads are view submissions; they stay far below it.
const maxBody = 1 << 20

// delivery is one payload from Slack, over HTTP or Socket Mode.
type delivery struct {
	// retry is X-Slack-Retry-Num or Socket Mode's retry_attempt.
	retry int
	// acked is closed once the answer has been written back to Slack.
	acked chan struct{}
}

func newDelivery(retry int) *delivery { return &delivery{retry: retry, acked: make(chan struct{})} }

// verified reads the body of a request from Slack and checks its v0
// signature and timestamp (5-minute window). It writes the error response
// and returns nil when the request must be refused.
func (b *Bot) verified(w http.ResponseWriter, r *http.Request) url.Values {
	if b.closing.Load() {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read request", http.StatusBadRequest)
		}
		return nil
	}
	if b.cfg.SigningSecret == "" {
		http.Error(w, "signature not verifiable", http.StatusUnauthorized)
		return nil
	}
	sv, err := slack.NewSecretsVerifier(r.Header, b.cfg.SigningSecret)
	if err == nil {
		_, _ = sv.Write(body)
		err = sv.Ensure()
	}
	if err != nil {
		b.log.WarnContext(r.Context(), "refused request: bad signature", "path", r.URL.Path, "error", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return nil
	}
	return form
}

func retryNum(r *http.Request) int {
	n, _ := strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
	return n
}

// serveCommand handles POST /slack/commands.
func (b *Bot) serveCommand(w http.ResponseWriter, r *http.Request) {
	form := b.verified(w, r)
	if form == nil {
		return
	}
	cmd := slack.SlashCommand{
		TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
		APIAppID: form.Get("api_app_id"),
	}
	d := newDelivery(retryNum(r))
	defer close(d.acked)
	writeAnswer(w, b.intake.command(r.Context(), cmd, d))
}

// serveInteraction handles POST /slack/interactivity.
func (b *Bot) serveInteraction(w http.ResponseWriter, r *http.Request) {
	form := b.verified(w, r)
	if form == nil {
		return
	}
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &ic); err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	d := newDelivery(retryNum(r))
	defer close(d.acked)
	writeAnswer(w, b.interaction(r.Context(), ic, d))
}

// writeAnswer writes the acknowledgement: empty, or a JSON body (a command's
// ephemeral text, a view submission's response_action).
func writeAnswer(w http.ResponseWriter, answer any) {
	if answer == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	body, err := json.Marshal(answer)
	if err != nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// interaction dispatches an interaction payload and returns the answer.
func (b *Bot) interaction(ctx context.Context, ic slack.InteractionCallback, d *delivery) any {
	switch ic.Type {
	case slack.InteractionTypeViewSubmission:
		if ic.View.ID == "" {
			return nil
		}
		switch ic.View.CallbackID {
		case blocks.CallbackRequest:
			return b.intake.submitRequest(ctx, ic, d)
		case blocks.CallbackDeny:
			return b.decisions.submitDeny(ctx, ic, d)
		}
	case slack.InteractionTypeBlockActions:
		b.decisions.blockActions(ctx, ic, d)
	}
	return nil
}
