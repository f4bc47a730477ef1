package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// .ci/run changes a machine (apt-get install, pg_hba.conf) only when
// CI=true; elsewhere it starts a stopped cluster that is installed, and
// otherwise says what it needs. It runs here against stub commands that
// record their calls.
func TestCIScriptChangesTheMachineOnlyInCI(t *testing.T) {
	script, err := filepath.Abs(filepath.Join(repoRoot, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		env       []string
		cluster   bool     // a stopped PostgreSQL 15 cluster is installed
		want      []string // in the calls log, in order
		notWant   []string // in the calls log
		stderr    string
		chromiumT bool // chromium is on the PATH
	}{
		{name: "not CI, no PostgreSQL", stderr: "ci: missing postgresql: install it (Debian: apt-get install postgresql)",
			notWant: []string{"apt-get", "pg_ctlcluster", "su "}},
		{name: "CI, no PostgreSQL", env: []string{"CI=true"}, want: []string{"apt-get update -q", "apt-get install -y -q postgresql"}},
		{name: "not CI, PostgreSQL installed but stopped", cluster: true, want: []string{"pg_ctlcluster --skip-systemctl-redirect 15 main start"},
			notWant: []string{"apt-get"}, stderr: "PostgreSQL did not come up"},
		{name: "not CI, own database, no Chromium", env: []string{"MFADESK_TEST_POSTGRES_DSN=postgres://me@db.example/test"},
			stderr: "ci: missing chromium", notWant: []string{"pg_isready", "apt-get", "psql"}},
		{name: "CI, own database, no Chromium", env: []string{"CI=true", "MFADESK_TEST_POSTGRES_DSN=postgres://me@db.example/test"},
			want: []string{"apt-get install -y -q chromium"}, notWant: []string{"pg_isready"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			calls := filepath.Join(dir, "calls")
			bin := filepath.Join(dir, "bin")
			etc := filepath.Join(dir, "etc")
			if err := os.MkdirAll(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if tt.cluster {
				if err := os.MkdirAll(filepath.Join(etc, "15", "main"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			stub := func(name string, code int) {
				sh := "#!/bin/sh\necho \"" + name + " $*\" >>" + calls + "\n[ \"$1\" = update ] && exit 0\nexit " + string(rune('0'+code)) + "\n"
				if err := os.WriteFile(filepath.Join(bin, name), []byte(sh), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			// Nothing answers and nothing installs (apt-get update works);
			// starting "works".
			for name, code := range map[string]int{"pg_isready": 1, "apt-get": 1, "psql": 1, "su": 1, "pg_ctlcluster": 0, "sleep": 0} {
				stub(name, code)
			}
			for _, tool := range []string{"bash", "dirname", "ls", "sort", "tail", "head", "seq", "grep", "sed", "cat"} {
				p, err := exec.LookPath(tool)
				if err != nil {
					t.Skipf("%s: %v", tool, err)
				}
				if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(script)
			cmd.Env = append([]string{"PATH=" + bin, "MFADESK_CI_PG_ETC=" + etc}, tt.env...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			err := cmd.Run()
			if err == nil {
				t.Fatal(".ci/run succeeded against stubs that all fail")
			}
			log, _ := os.ReadFile(calls)
			got := string(log)
			rest := got
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("calls lack %q (in order); calls:\n%s", w, got)
					break
				}
				rest = rest[i+len(w):]
			}
			for _, nw := range tt.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("calls have %q; calls:\n%s", nw, got)
				}
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.stderr)
			}
		})
	}
}
