package actions

import (
	"errors"
	"testing"
)

func TestDirectoryErrorMessage(t *testing.T) {
	tests := []struct {
		name          string
		err           *DirectoryError
		want          string
		wantRetryable bool
	}{
		{"answer", &DirectoryError{Op: "delete phone method", Status: 400, Code: "badRequest", Message: "default method", RequestID: "abc-123"},
			"delete phone method: 400 Bad Request badRequest: default method (request-id abc-123)", false},
		{"no answer", &DirectoryError{Op: "get user", Err: errors.New("connection reset")}, "get user: connection reset", true},
		{"no answer, message only", &DirectoryError{Op: "get user", Message: "no try left after 4"}, "get user: no try left after 4", false},
		{"nothing known", &DirectoryError{Op: "get user"}, "get user: failed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Error() != tt.want {
				t.Errorf("got %q\nwant %q", tt.err.Error(), tt.want)
			}
			if tt.err.Retryable() != tt.wantRetryable {
				t.Errorf("retryable %v, want %v", tt.err.Retryable(), tt.wantRetryable)
			}
		})
	}
}

func TestSecretRedacted(t *testing.T) {
	s := NewSecret("Temporary password", "Hunter2!Hunter2!", "")
	for _, out := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if out != "Temporary password [redacted]" {
			t.Errorf("leaked: %q", out)
		}
	}
	if b, _ := s.MarshalJSON(); string(b) != `"[redacted]"` {
		t.Errorf("json leaked: %s", b)
	}
	if s.Reveal() != "Hunter2!Hunter2!" {
		t.Error("Reveal")
	}
}
