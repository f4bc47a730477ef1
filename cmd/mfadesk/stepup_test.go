package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/bot/stepup/fakeidp"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

func writeStepUpPolicy(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "stepup.yaml")
	const policy = `
roles: {helpdesk: [U0HELP1], authentication-admin: [U0AUTH1]}
actions:
  reset-password:      {request: [helpdesk], approve: [authentication-admin], step_up: true}
  revoke-mfa-sessions: {request: [helpdesk], approve: [authentication-admin]}
approval: {step_up_max_age: 5m}
`
	if err := os.WriteFile(p, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStepUpStartupAndCheck: serve refuses a step_up policy without the
// step-up variables, naming each; check fetches the provider's discovery
// document.
func TestStepUpStartupAndCheck(t *testing.T) {
	slack := fakeslack.New()
	t.Cleanup(slack.Close)
	slack.AddChannel("C0APPROVE") // check asks whether the bot is in it
	idp, err := fakeidp.Start(fakeidp.Options{Users: []fakeidp.User{{Subject: "u"}}, ClientID: "mfadesk",
		ClientSecret: "oidc-s3cret", RedirectURIs: []string{"https://mfadesk.internal/stepup/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })
	down, err := fakeidp.Start(fakeidp.Options{Users: []fakeidp.User{{Subject: "u"}}, ClientID: "c", ClientSecret: "s", RedirectURIs: []string{"https://x/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = down.Close()
	db := storagetest.New(t, storage.DialectSQLite)
	base := env{"SLACK_BOT_TOKEN": fakeslack.DefaultToken, "SLACK_SIGNING_SECRET": "s3cr3t", "SLACK_API_URL": slack.APIURL(),
		"MFADESK_APPROVAL_CHANNEL": "C0APPROVE", "MFADESK_POLICY_FILE": writeStepUpPolicy(t), "MFADESK_DATABASE_URL": db.URL,
		"MFADESK_HTTP_ADDR": "127.0.0.1:0"}
	configured := base.with("MFADESK_PUBLIC_URL", "https://mfadesk.internal", "MFADESK_OIDC_ISSUER", idp.Issuer(),
		"MFADESK_OIDC_CLIENT_ID", "mfadesk", "MFADESK_OIDC_CLIENT_SECRET", "oidc-s3cret")

	t.Run("serve refuses, naming every missing variable", func(t *testing.T) {
		code, out, errOut := runCmd(t, base, "serve")
		if code == 0 {
			t.Fatalf("serve started without the step-up variables: %q", out)
		}
		for _, v := range []string{"MFADESK_PUBLIC_URL", "MFADESK_OIDC_ISSUER", "MFADESK_OIDC_CLIENT_ID", "MFADESK_OIDC_CLIENT_SECRET"} {
			if !strings.Contains(errOut, v+": required when the policy has step_up actions (step_up on reset-password)") {
				t.Errorf("stderr does not name %s: %q", v, errOut)
			}
		}
		code, _, errOut = runCmd(t, configured.with("MFADESK_PUBLIC_URL", "mfadesk.internal"), "serve")
		if code == 0 || !strings.Contains(errOut, "MFADESK_PUBLIC_URL: must be an http(s) URL") || strings.Contains(errOut, "oidc-s3cret") {
			t.Errorf("malformed MFADESK_PUBLIC_URL: exit %d, stderr %q", code, errOut)
		}
	})
	tests := []struct {
		name string
		e    env
		code int
		want string
	}{
		{"check: provider reachable", configured, 0, "ok"},
		{"check: provider down", configured.with("MFADESK_OIDC_ISSUER", down.Issuer()), 1, "MFADESK_OIDC_ISSUER: discovery at " + down.Issuer()},
		{"check: variables missing", base, 1, "MFADESK_OIDC_CLIENT_SECRET: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.e, "check")
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, want %d with %q; stdout %q stderr %q", code, tt.code, tt.want, out, errOut)
			}
			if strings.Contains(out+errOut, "oidc-s3cret") {
				t.Errorf("output shows the client secret")
			}
		})
	}
}
