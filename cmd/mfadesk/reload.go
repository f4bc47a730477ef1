package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mfadesk/mfadesk/actions"
)

// reloadPolicyOnHangup re-reads the policy file at path on every SIGHUP until
// ctx ends, and hands a policy that validates, and that check (what start-up
// checks beyond the file itself; nil for none) accepts, to set. A file that
// does not keeps the policy in force, and the log says why (README, "Who is
// who, and checked when it matters").
func reloadPolicyOnHangup(ctx context.Context, path string, check func(*actions.Policy) error, set func(*actions.Policy), log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reloadPolicy(path, check, set, log)
			}
		}
	}()
}

// reloadPolicy reads and validates the policy file once.
func reloadPolicy(path string, check func(*actions.Policy) error, set func(*actions.Policy), log *slog.Logger) {
	pol, err := actions.LoadPolicy(path)
	if err == nil && check != nil {
		err = check(pol)
	}
	if err != nil {
		log.Error("policy reload failed: keeping the policy in force", "file", path, "error", err)
		return
	}
	set(pol)
	log.Info("policy reloaded", "file", path, "roles", len(pol.Roles), "actions", len(pol.Actions))
	warnUnsatisfiable(pol, path, log)
}

// warnUnsatisfiable logs, as warnings, what in pol no one can carry out.
func warnUnsatisfiable(pol *actions.Policy, path string, log *slog.Logger) {
	for _, u := range pol.Unsatisfiable() {
		log.Warn("policy: "+u, "file", path)
	}
}
