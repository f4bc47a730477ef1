package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Every command answers -h and --help with its own usage on stdout and exit
// 0; an unknown command or flag prints the usage on stderr and exits 2
// (README "Commands").
func TestHelpAndUsage(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		stdout  string // substring of stdout ("" wants it empty)
		stderr  string // substring of stderr ("" wants it empty)
		notWant string // in neither
	}{
		{[]string{"-h"}, 0, "usage: mfadesk [command]", "", ""},
		{[]string{"--help"}, 0, "audit verify [--head HASH]", "", ""},
		{[]string{"help"}, 0, "version", "", ""},
		{[]string{"serve", "-h"}, 0, "usage: mfadesk serve\n", "", "flag: help requested"},
		{[]string{"serve", "--help"}, 0, "usage: mfadesk serve\n", "", ""},
		{[]string{"migrate", "--help"}, 0, "usage: mfadesk migrate\n", "", ""},
		{[]string{"check", "-h"}, 0, "usage: mfadesk check\n", "", ""},
		{[]string{"audit", "-h"}, 0, "audit export", "", "unknown subcommand"},
		{[]string{"audit", "--help"}, 0, "audit verify", "", ""},
		{[]string{"audit", "export", "-h"}, 0, "-format", "", ""},
		{[]string{"audit", "verify", "--help"}, 0, "-head", "", ""},
		{[]string{"digest", "-h"}, 0, "-print", "", ""},
		{[]string{"version", "-h"}, 0, "usage: mfadesk version", "", ""},
		{[]string{"frobnicate"}, 2, "", "mfadesk: unknown command \"frobnicate\"\n\nusage: mfadesk [command]", ""},
		{[]string{"serve", "--bogus"}, 2, "", "usage: mfadesk serve", ""},
		{[]string{"audit", "export", "--format", "xml"}, 2, "", "usage: mfadesk audit export", ""},
		{[]string{"audit", "export", "--nope"}, 2, "", "-since", ""},
		{[]string{"audit"}, 2, "", "audit: want a subcommand", ""},
		{[]string{"audit", "frob"}, 2, "", "audit: unknown subcommand \"frob\"\n\nusage: mfadesk [command]", ""},
		{[]string{"check", "extra"}, 2, "", "check: unexpected argument \"extra\"", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCmd(t, env{}, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.code, out, errOut)
			}
			if tt.stdout == "" && out != "" || !strings.Contains(out, tt.stdout) {
				t.Errorf("stdout %q, want it to contain %q", out, tt.stdout)
			}
			if tt.stderr == "" && errOut != "" || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.stderr)
			}
			if tt.notWant != "" && strings.Contains(out+errOut, tt.notWant) {
				t.Errorf("output has %q: %q", tt.notWant, out+errOut)
			}
			for _, l := range strings.Split(out+errOut, "\n") {
				if strings.HasPrefix(l, "mfadesk: usage") || strings.HasPrefix(l, "mfadesk:   ") {
					t.Errorf("usage line prefixed: %q", l)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCmd(t, env{}, args...)
		if code != 0 || errOut != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		b := readBuildInfo()
		want := "mfadesk " + b.Version + " commit " + b.Revision + " " + b.GoVersion + "\n"
		if out != want || !strings.HasPrefix(b.GoVersion, "go1.") {
			t.Errorf("%v: %q, want %q with a Go version", args, out, want)
		}
	}
}

// SLACK_API_URL without its trailing slash still calls SLACK_API_URL/auth.test,
// not SLACK_API_URLauth.test.
func TestSlackAPIURLWithoutTrailingSlash(t *testing.T) {
	for _, in := range []string{"https://slack.example/api", "https://slack.example/api/"} {
		c, err := loadConfig(env{"SLACK_API_URL": in}.get, 0)
		if err != nil {
			t.Fatal(err)
		}
		if c.SlackAPIURL != "https://slack.example/api/" {
			t.Errorf("%q became %q", in, c.SlackAPIURL)
		}
	}
	slack := newFakeSlack(t)
	e := env{"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.URL + "/api",
		"MFADESK_APPROVAL_CHANNEL": "C0APPROVE", "MFADESK_POLICY_FILE": writePolicy(t),
		"MFADESK_DATABASE_URL": "sqlite:" + t.TempDir() + "/x.db"}
	runCmd(t, e, "check")
	if slack.called("auth.test") != 1 {
		t.Errorf("auth.test called %d times; calls %v", slack.called("auth.test"), slack.calls)
	}
}

// Durations in logs read as Go writes them ("1m0s"), in both formats, not as
// nanosecond integers.
func TestLogDurationsAsText(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		var b strings.Builder
		newLogger(config{LogLevel: "info", LogFormat: format}, &b).Info("x", "retry_every", time.Minute)
		if !strings.Contains(b.String(), "1m0s") || strings.Contains(b.String(), "60000000000") {
			t.Errorf("%s: %q", format, b.String())
		}
	}
}

// MFADESK_DIRECTORY=entra with no credentials stops start-up with one line
// that names the variables, instead of failing every request later.
func TestEntraWithoutCredentialsStopsStart(t *testing.T) {
	mi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"invalid_request","error_description":"no identity here"}`, http.StatusBadRequest)
	}))
	t.Cleanup(mi.Close)
	// Where azidentity looks for a managed identity (App Service's variables).
	t.Setenv("IDENTITY_ENDPOINT", mi.URL)
	t.Setenv("IDENTITY_HEADER", "h")
	e := env{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "MFADESK_APPROVAL_CHANNEL": "C0APPROVE",
		"MFADESK_POLICY_FILE": writePolicy(t), "MFADESK_DATABASE_URL": "sqlite:" + t.TempDir() + "/x.db",
		"MFADESK_HTTP_ADDR": "127.0.0.1:0", "MFADESK_DIRECTORY": "entra"}
	code, _, errOut := runCmd(t, e, "serve")
	if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q: want exit 1 and one line", code, errOut)
	}
	for _, v := range []string{"MFADESK_DIRECTORY=entra: no credentials", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"} {
		if !strings.Contains(errOut, v) {
			t.Errorf("stderr %q lacks %q", errOut, v)
		}
	}
}
