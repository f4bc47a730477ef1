package stepup

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The identity provider's error text is cut by characters: a multibyte
// character at the limit is never split.
func TestProblemCutsByCharacters(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"short", "access_denied: user cancelled", "access_denied: user cancelled"},
		{"control characters", "access_denied:\r\nline two\x7f", "access_denied:  line two"},
		{"trailing colon", "invalid_request: ", "invalid_request"},
		{"multibyte at the limit", "x" + strings.Repeat("é", 250), "x" + strings.Repeat("é", 198) + "…"},
		{"emoji", strings.Repeat("🔒", 300), strings.Repeat("🔒", 199) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problem(tt.in)
			if !utf8.ValidString(got) {
				t.Fatalf("problem(%q) = %q: not valid UTF-8", tt.in, got)
			}
			if got != tt.want {
				t.Errorf("problem(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > maxProblem {
				t.Errorf("problem(%q) has %d characters, want at most %d", tt.in, n, maxProblem)
			}
		})
	}
}
