package fakegraph

import "testing"

func TestCSDLModel(t *testing.T) {
	m := metadata.Must(t)
	if _, ok := m.prop("user", "accountEnabled"); !ok {
		t.Error("user.accountEnabled missing")
	}
	if _, ok := m.prop("user", "id"); !ok {
		t.Error("user.id (inherited from entity) missing")
	}
	if got, _ := m.nav("authentication", "phoneMethods"); got != "phoneAuthenticationMethod" {
		t.Errorf("authentication/phoneMethods targets %q", got)
	}
	if !m.boundAction("revokeSignInSessions", "user") || m.boundAction("resetPassword", "user") {
		t.Error("bound actions wrong")
	}
	if err := m.checkBody("user", map[string]any{"passwordProfile": map[string]any{"password": "x", "forceChangePasswordNextSignIn": true}}); err != nil {
		t.Error(err)
	}
	if err := m.checkBody("user", map[string]any{"passwordProfile": map[string]any{"passwrd": "x"}}); err == nil {
		t.Error("misspelt passwordProfile property accepted")
	}
	if err := m.checkBody("user", map[string]any{"enabled": false}); err == nil {
		t.Error("unknown user property accepted")
	}
}
