package main

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// SIGHUP re-reads the policy file; a file that does not validate keeps the
// policy in force and the log says why.
func TestPolicyReloadOnHangup(t *testing.T) {
	path := writePolicy(t)
	pol, err := actions.LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	current := pol
	set := func(p *actions.Policy) { mu.Lock(); current = p; mu.Unlock() }
	get := func() *actions.Policy { mu.Lock(); defer mu.Unlock(); return current }
	logs := &fakeapi.LockedBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	reloadPolicyOnHangup(ctx, path, nil, set, slog.New(slog.NewJSONHandler(logs, nil)))

	// waitFor sends SIGHUP to this process until the log has want.
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(logs.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("log never said %q:\n%s", want, logs.String())
			}
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	helpdesk := actions.Person{SlackID: "U0HELP1"}

	if err := os.WriteFile(path, []byte("roles: {helpdesk: [U0HELP1]}\nactions: {reset-password: {request: [nobody], approve: [helpdesk]}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("policy reload failed")
	if !strings.Contains(logs.String(), `unknown role \"nobody\"`) {
		t.Errorf("the log does not say why the file was refused:\n%s", logs.String())
	}
	if get() != pol || !get().CanRequest(helpdesk, actions.ResetPassword, false) {
		t.Fatal("a policy that does not validate replaced the one in force")
	}

	if err := os.WriteFile(path, []byte("roles: {helpdesk: [U0HELP9], global-admin: [U0GLOB1]}\nactions: {reset-password: {request: [helpdesk], approve: [global-admin]}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor("policy reloaded")
	if get().CanRequest(helpdesk, actions.ResetPassword, false) {
		t.Error("after reload U0HELP1 may still request reset-password")
	}
}
