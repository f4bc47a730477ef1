package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

func TestCheck(t *testing.T) {
	slack := fakeslack.New()
	t.Cleanup(slack.Close)
	slack.AddChannel("C0APPROVE")
	slack.AddChannelWithoutBot("C0OUTSIDE")
	db := storagetest.New(t, storage.DialectSQLite)
	fresh := storagetest.URL(t, storage.DialectSQLite) // never migrated
	tapPolicy := filepath.Join(t.TempDir(), "tap.yaml")
	if err := os.WriteFile(tapPolicy, []byte("roles: {a: [U0A], b: [U0B]}\nactions:\n  issue-temporary-access-pass: {request: [a], approve: [b]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := env{"SLACK_BOT_TOKEN": fakeslack.DefaultToken, "SLACK_SIGNING_SECRET": "s3cr3t", "SLACK_API_URL": slack.APIURL(),
		"MFADESK_APPROVAL_CHANNEL": "C0APPROVE", "MFADESK_POLICY_FILE": writePolicy(t), "MFADESK_DATABASE_URL": db.URL}
	tests := []struct {
		name     string
		e        env
		code     int
		want     []string // lines of stdout, each a substring
		notWants []string
	}{
		{"all well", base, 0, []string{"ok"}, nil},
		{"wrong token", base.with("SLACK_BOT_TOKEN", "xoxb-wrong-but-secret"), 1, []string{"SLACK_BOT_TOKEN: Slack refused the token (auth.test invalid_auth)"}, []string{"xoxb-wrong-but-secret"}},
		{"Slack unreachable is not the token's fault", base.with("SLACK_API_URL", "http://127.0.0.1:1/api/"), 1,
			[]string{"SLACK_API_URL: cannot reach Slack at http://127.0.0.1:1/api/"}, []string{"SLACK_BOT_TOKEN"}},
		{"not Slack at SLACK_API_URL", base.with("SLACK_API_URL", slack.URL+"/nothing/"), 1,
			[]string{"SLACK_API_URL: " + slack.URL + "/nothing/ answered HTTP 404"}, []string{"SLACK_BOT_TOKEN"}},
		{"bot not in the approval channel", base.with("MFADESK_APPROVAL_CHANNEL", "C0OUTSIDE"), 1,
			[]string{"MFADESK_APPROVAL_CHANNEL: the bot is not in channel C0OUTSIDE", "/invite @mfadesk"}, nil},
		{"approval channel unknown or private", base.with("MFADESK_APPROVAL_CHANNEL", "C0PRIVATE"), 1,
			[]string{"MFADESK_APPROVAL_CHANNEL: channel C0PRIVATE not found, or private and the bot is not in it"}, nil},
		{"migrations pending", base.with("MFADESK_DATABASE_URL", fresh), 1, []string{"migration(s) pending: run mfadesk migrate"}, nil},
		{"action the directory cannot do", base.with("MFADESK_DIRECTORY", "okta", "OKTA_ORG_URL", slack.URL, "OKTA_API_TOKEN", "00secret",
			"MFADESK_POLICY_FILE", tapPolicy), 1, []string{"policy: issue-temporary-access-pass is enabled but the okta directory does not support it"}, []string{"00secret"}},
		{"bad policy and variable together", base.with("MFADESK_APPROVAL_CHANNEL", "", "MFADESK_POLICY_FILE", "/nonexistent.yaml"), 1,
			[]string{"MFADESK_APPROVAL_CHANNEL: required", "MFADESK_POLICY_FILE:"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.e, "check")
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.code, out, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			for _, w := range tt.want {
				found := false
				for _, l := range lines {
					found = found || strings.Contains(l, w)
				}
				if !found {
					t.Errorf("stdout %q lacks a line with %q", out, w)
				}
			}
			for _, nw := range append(tt.notWants, "s3cr3t") {
				if strings.Contains(out+errOut, nw) {
					t.Errorf("output shows a secret %q: %q", nw, out+errOut)
				}
			}
		})
	}
	if u := slack.Undocumented(); len(u) > 0 {
		t.Errorf("calls Slack's published API does not define: %q", u)
	}
}

// check reports a policy that no one can carry out; serve starts with it and
// logs each problem as a warning.
func TestCheckUnsatisfiablePolicy(t *testing.T) {
	slack := fakeslack.New()
	t.Cleanup(slack.Close)
	slack.AddChannel("C0APPROVE")
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte("roles: {help: [U0H], auth: [U0A], spare: []}\n"+
		"actions:\n  reset-password: {request: [help], approve: [auth]}\napproval: {approvals: 2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := env{"SLACK_BOT_TOKEN": fakeslack.DefaultToken, "SLACK_SIGNING_SECRET": "s3cr3t", "SLACK_API_URL": slack.APIURL(),
		"MFADESK_APPROVAL_CHANNEL": "C0APPROVE", "MFADESK_POLICY_FILE": p,
		"MFADESK_DATABASE_URL": storagetest.New(t, storage.DialectSQLite).URL}
	code, out, _ := runCmd(t, e, "check")
	want := "policy: roles.spare has no members\npolicy: actions.reset-password: approval.approvals is 2 but only 1 person may approve it\n"
	if code != 1 || out != want {
		t.Errorf("check: exit %d, stdout %q; want 1, %q", code, out, want)
	}
}

// serve (at start and at each reload) logs what no one can carry out as
// warnings, and keeps the policy.
func TestUnsatisfiablePolicyLogged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(p, []byte("roles: {help: [U0H], auth: []}\nactions:\n  reset-password: {request: [help], approve: [auth]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var got *actions.Policy
	reloadPolicy(p, nil, func(pol *actions.Policy) { got = pol }, slog.New(slog.NewTextHandler(&logs, nil)))
	if got == nil {
		t.Fatal("policy not set")
	}
	for _, want := range []string{`level=WARN msg="policy: roles.auth has no members"`,
		`level=WARN msg="policy: actions.reset-password: no one may approve it (its approve roles have no members)"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %s:\n%s", want, logs.String())
		}
	}
}
