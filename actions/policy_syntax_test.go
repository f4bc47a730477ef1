package actions

import (
	"strings"
	"testing"
)

// A YAML syntax error names the line that breaks the file, not the line
// where the enclosing block began.
func TestParsePolicySyntaxErrorLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"over-indented key", "roles:\n  helpdesk: [U0A]\n   bad: x\n", "p.yaml:3: YAML syntax: did not find expected key"},
		{"under-indented key", "roles:\n  helpdesk: [U0A]\n bad: x\n", "p.yaml:3: YAML syntax:"},
		{"unclosed list", "roles:\n  helpdesk: [U0A\nactions: {}\n", "p.yaml:2: YAML syntax:"},
		{"unclosed flow mapping", "roles:\n  a: [U0A]\nactions:\n  reset-password: {request: [a], approve: [a]\n  x: y\n", "p.yaml:4: YAML syntax:"},
		{"tab indentation", "roles:\n  a: [U0A]\n\tb: [U0B]\n", "p.yaml:3: YAML syntax: found character that cannot start any token"},
		{"list item in a mapping", "roles:\n  a: [U0A]\nactions:\n  - reset-password\n  x: y\n", "p.yaml:5: YAML syntax:"},
		{"unterminated string", "roles:\n  a: [U0A]\n  b: \"U0B\n", "p.yaml:3: YAML syntax:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy("p.yaml", []byte(tt.yaml))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want it to start with %q", err, tt.want)
			}
		})
	}
}

// A directory where the policy file should be (Docker's bind mount of a
// missing file) says what happened and what to do.
func TestLoadPolicyDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := LoadPolicy(dir)
	if err == nil || !strings.Contains(err.Error(), dir+" is a directory, not a policy file") ||
		!strings.Contains(err.Error(), "copy cmd/mfadesk/policy.example.yaml") {
		t.Errorf("error %v", err)
	}
}
