package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// The demo keeps its data only in a new SQLite file: its simulated
// directory and Slack would otherwise "run" a real database's approved
// requests, notices and digest.
func TestDemoRefusesExistingDatabases(t *testing.T) {
	existing := filepath.Join(t.TempDir(), "prod.db")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, url, want, secret string }{
		{"a PostgreSQL server", "postgres://mfadesk:hunter2@db.internal/mfadesk", "never in a server's database", "hunter2"},
		{"an existing SQLite file", "sqlite:" + existing, "exists already", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, env{"MFADESK_DATABASE_URL": tt.url}, "demo", "--addr", "127.0.0.1:0")
			if code != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q: want 1 and nothing printed", code, out)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q lacks %q", errOut, tt.want)
			}
			if tt.secret != "" && strings.Contains(errOut, tt.secret) {
				t.Errorf("stderr shows the password: %q", errOut)
			}
		})
	}
	if fi, err := os.Stat(existing); err != nil || fi.Size() != 0 {
		t.Errorf("the existing file was changed: %v, %v", fi, err)
	}
}

func TestDemoRefusesRealServices(t *testing.T) {
	tests := []struct{ name, key, value string }{
		{"slack token", "SLACK_BOT_TOKEN", "xoxb-real-secret-token"},
		{"slack API", "SLACK_API_URL", "https://slack.com/api/"},
		{"entra", "AZURE_CLIENT_SECRET", "real-client-secret"},
		{"okta", "OKTA_API_TOKEN", "real-okta-token"},
		{"google", "MFADESK_GOOGLE_CREDENTIALS", "/etc/key.json"},
		{"another directory", "MFADESK_DIRECTORY", "entra"},
		{"sign-in provider", "MFADESK_OIDC_CLIENT_SECRET", "real-oidc-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, env{tt.key: tt.value}, "demo", "--addr", "127.0.0.1:0")
			if code != 1 || out != "" {
				t.Fatalf("exit %d, stdout %q: want 1 and nothing printed", code, out)
			}
			if !strings.Contains(errOut, "refusing to start while "+tt.key+" is set") {
				t.Errorf("stderr %q does not name %s", errOut, tt.key)
			}
			if strings.Contains(errOut, tt.value) {
				t.Errorf("stderr shows the value of %s: %q", tt.key, errOut)
			}
		})
	}
}

func TestDemoUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"demo", "--addr"}, 2, "flag needs an argument"},
		{[]string{"demo", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"demo", "--addr", "nowhere:99999"}, 1, "demo: --addr"},
	}
	for _, tt := range tests {
		code, _, errOut := runCmd(t, env{}, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
	code, out, _ := runCmd(t, env{}, "--help")
	if code != 0 || !strings.Contains(out, "demo [--addr HOST:PORT]") {
		t.Errorf("usage lacks the demo: %s", out)
	}
}

// TestDemoTemporaryDatabase checks that the demo serves the bot's own
// endpoints beside its page, and removes its temporary database at exit.
func TestDemoTemporaryDatabase(t *testing.T) {
	start := time.Now()
	base, stop, out := startDemoOut(t, env{})
	// /readyz asks the (page's) Slack in the background: ready once it answered.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %s", resp.StatusCode, body)
		}
	}
	for _, path := range []string{"/readyz", "/healthz", "/metrics", "/", "/demo/audit", "/demo/static/app.js"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	t.Logf("started and ready in %v", time.Since(start))
	// Slack's endpoints check signatures as in `serve`.
	resp, err := http.Post(base+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader("command=/mfa"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned command: %d, want 401", resp.StatusCode)
	}
	m := regexp.MustCompile(`MFADESK_DATABASE_URL=sqlite:(\S+) \(removed at exit\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the demo does not say where its database is:\n%s", out.String())
	}
	if _, err := os.Stat(m[1]); err != nil {
		t.Fatalf("database while running: %v", err)
	}
	stopping := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stopped in %v", time.Since(stopping))
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Errorf("database %s still there after exit (%v)", m[1], err)
	}
}

// BenchmarkDemoStart measures `mfadesk demo` from start to a ready /readyz
// (database migrated, the page's Slack answered), then to stopped.
func BenchmarkDemoStart(b *testing.B) {
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		out := &fakeapi.LockedBuffer{}
		done := make(chan error, 1)
		go func() { done <- run(ctx, []string{"demo", "--addr", "127.0.0.1:0"}, env{}.get, out, io.Discard) }()
		var base string
		for base == "" {
			if m := regexp.MustCompile(`open (http://\S+)/ in a browser`).FindStringSubmatch(out.String()); m != nil {
				base = m[1]
			}
			time.Sleep(time.Millisecond)
		}
		for {
			resp, err := http.Get(base + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
