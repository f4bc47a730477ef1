package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// maxSocketHandlers bounds the payloads handled at once over Socket Mode.
// Handlers only wait for the submission budget; the work itself is in the
// pool.
const maxSocketHandlers = 64

// RunSocketMode receives commands and interactions over a Socket Mode
// connection opened with appToken (xapp-…) until ctx ends, feeding them to
// the same handlers as HTTP. It returns nil when ctx ends, and an error when
// the connection cannot be (re)established (Slack's error code, such as
// invalid_auth for a refused app-level token, is in it as a
// slack.SlackErrorResponse). During Shutdown it stops
// acknowledging, so that Slack delivers to another connection.
func (b *Bot) RunSocketMode(ctx context.Context, appToken string) error {
	if !strings.HasPrefix(appToken, "xapp-") {
		return errors.New("socket mode: the app-level token must start with xapp-")
	}
	b.setSocket("connecting")
	defer b.setSocket("stopped")
	api := slack.New("", slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(b.cfg.APIURL))
	client := socketmode.New(api, socketmode.OptionLog(slogOutput{b.log}))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(ctx) }()

	sem := make(chan struct{}, maxSocketHandlers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("connect: %w", err)
		case evt := <-client.Events:
			switch {
			case evt.Request == nil || b.closing.Load():
				b.socketEvent(ctx, evt)
				continue
			case evt.Type != socketmode.EventTypeSlashCommand && evt.Type != socketmode.EventTypeInteractive &&
				evt.Type != socketmode.EventTypeEventsAPI:
				b.socketEvent(ctx, evt) // hello, disconnect: the client handles them
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				b.socketRequest(ctx, client, evt)
			}()
		}
	}
}

// socketEvent logs what the bot does not answer: the client's own events
// (connecting, errors), Slack's hello and disconnect, and, while shutting
// down, payloads left unacknowledged so that Slack delivers them to another
// connection.
func (b *Bot) socketEvent(ctx context.Context, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		b.setSocket("")
	case socketmode.EventTypeConnecting:
		b.setSocket("connecting")
	case socketmode.EventTypeConnectionError:
		b.setSocket("connection error")
	case socketmode.EventTypeInvalidAuth:
		b.setSocket("app-level token refused")
	case socketmode.EventTypeDisconnect:
		b.setSocket("disconnected")
	}
	switch evt.Type {
	case socketmode.EventTypeConnecting, socketmode.EventTypeConnected, socketmode.EventTypeHello,
		socketmode.EventTypeDisconnect:
		b.log.DebugContext(ctx, "socket mode", "event", evt.Type)
	case socketmode.EventTypeInvalidAuth:
		b.log.ErrorContext(ctx, "socket mode: the app-level token was refused")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError,
		socketmode.EventTypeErrorBadMessage, socketmode.EventTypeErrorWriteFailed:
		b.log.WarnContext(ctx, "socket mode", "event", evt.Type, "error", fmt.Sprint(evt.Data))
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
		if evt.Request == nil {
			return
		}
		b.log.InfoContext(ctx, "socket mode: payload left to another connection while shutting down",
			"envelope_id", evt.Request.EnvelopeID)
	}
}

// socketRequest handles one envelope and acknowledges it with the answer.
// A redelivered envelope is recognised by its payload (trigger_id,
// action_ts, view ID and hash), as over HTTP.
func (b *Bot) socketRequest(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	d := newDelivery(evt.Request.RetryAttempt)
	defer close(d.acked)
	var answer any
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		if cmd, ok := evt.Data.(slack.SlashCommand); ok {
			answer = b.intake.command(ctx, cmd, d)
		}
	case socketmode.EventTypeInteractive:
		if ic, ok := evt.Data.(slack.InteractionCallback); ok {
			answer = b.interaction(ctx, ic, d)
		}
	}
	if err := client.AckCtx(ctx, evt.Request.EnvelopeID, answer); err != nil {
		b.log.WarnContext(ctx, "socket mode ack failed", "envelope_id", evt.Request.EnvelopeID, "error", err)
	}
}

// slogOutput lets slack-go's socketmode client log through slog.
type slogOutput struct{ l *slog.Logger }

func (s slogOutput) Output(_ int, msg string) error {
	s.l.Debug("socketmode: " + strings.TrimSpace(msg))
	return nil
}

// setSocket records the Socket Mode connection's state: "" when connected,
// else what it is doing or what went wrong.
func (b *Bot) setSocket(state string) { b.socket.Store(&state) }

// SocketConnected reports, for readiness, whether the Socket Mode
// connection is up: nil when it is, else why not ("not started",
// "connecting", "connection error", "app-level token refused",
// "disconnected", "stopped").
func (b *Bot) SocketConnected() error {
	s := b.socket.Load()
	switch {
	case s == nil:
		return errors.New("socket mode not started")
	case *s != "":
		return errors.New("socket mode " + *s)
	}
	return nil
}
