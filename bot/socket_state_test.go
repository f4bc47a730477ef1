package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// SocketConnected, which readiness asks, follows the connection: not
// started, connected, and stopped; a refused app-level token ends
// RunSocketMode with Slack's code, once, without "socket mode" twice.
func TestSocketConnectedState(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		if err := h.bot.SocketConnected(); err == nil || err.Error() != "socket mode not started" {
			t.Errorf("before: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- h.bot.RunSocketMode(ctx, fakeslack.DefaultAppToken) }()
		eventually(t, "the connection", func() bool { return h.bot.SocketConnected() == nil })
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("RunSocketMode: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("RunSocketMode did not return")
		}
		if err := h.bot.SocketConnected(); err == nil || err.Error() != "socket mode stopped" {
			t.Errorf("after: %v", err)
		}

		err := h.bot.RunSocketMode(context.Background(), "xapp-refused")
		if err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "socket mode") {
			t.Errorf("refused token: %v", err)
		}
		if h.bot.SocketConnected() == nil {
			t.Error("connected after a refused token")
		}
	})
}
