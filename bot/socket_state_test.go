package bot

import (
	"context"
	"strings"
	"testing"

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
		stop := runSocketMode(t, h.bot)
		eventually(t, "the connection", func() bool { return h.bot.SocketConnected() == nil })
		stop()
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
