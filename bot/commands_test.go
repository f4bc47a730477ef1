package bot

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
)

func TestParseRequestText(t *testing.T) {
	for _, c := range []struct {
		text    string
		action  actions.Action
		targets []string
		reason  string
	}{
		{"", "", nil, ""},
		{"revoke-mfa-sessions <@U123|bob> lost phone", actions.RevokeMFASessions, []string{"U123"}, "lost phone"},
		{"RESET-PASSWORD <@U1> <@W2|x y> <@U1> forgot it", actions.ResetPassword, []string{"U1", "W2"}, "forgot it"},
		{"<@U9> reset-password typo", actions.ResetPassword, []string{"U9"}, "typo"},
		{"reset-pasword <@U9>", "", []string{"U9"}, "reset-pasword"},
		{"just a reason", "", nil, "just a reason"},
	} {
		a, targets, reason := parseRequestText(c.text)
		if a != c.action || !cmp.Equal(targets, c.targets) || reason != c.reason {
			t.Errorf("parseRequestText(%q) = %q, %q, %q; want %q, %q, %q", c.text, a, targets, reason, c.action, c.targets, c.reason)
		}
	}
}
