package fakeapi

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
)

// LockedBuffer is a bytes.Buffer that several goroutines may write to while
// a test reads it: where a logger under test writes. Its zero value is
// empty and ready.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p; it never fails.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// DebugLogger returns a logger that writes every record, debug ones
// included, as text to a new LockedBuffer, and the buffer.
func DebugLogger() (*slog.Logger, *LockedBuffer) {
	buf := &LockedBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// NoSecrets fails t once for every secret that text contains; what names
// the text in the message ("log", "stderr"). An empty secret is a mistake in
// the test (every text contains it) and fails t too.
func NoSecrets(t TB, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		switch {
		case s == "":
			t.Errorf("NoSecrets: an empty secret to look for in the %s", what)
		case strings.Contains(text, s):
			t.Errorf("%s contains the secret %q:\n%s", what, s, text)
		}
	}
}
