package actions

import "testing"

func TestDirectoryErrorMessage(t *testing.T) {
	e := &DirectoryError{Op: "delete phone method", Status: 400, Code: "badRequest", Message: "default method", RequestID: "abc-123"}
	want := "delete phone method: 400 Bad Request badRequest: default method (request-id abc-123)"
	if e.Error() != want {
		t.Errorf("got %q\nwant %q", e.Error(), want)
	}
	if e.Retryable() {
		t.Error("400 retryable")
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
