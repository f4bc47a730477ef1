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
// ctx ends, and hands a policy that validates to set. A file that does not
// validate keeps the policy in force, and the log says why (README, "Policy
// reload").
func reloadPolicyOnHangup(ctx context.Context, path string, set func(*actions.Policy), log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reloadPolicy(path, set, log)
			}
		}
	}()
}

// reloadPolicy reads and validates the policy file once.
func reloadPolicy(path string, set func(*actions.Policy), log *slog.Logger) {
	pol, err := actions.LoadPolicy(path)
	if err != nil {
		log.Error("policy reload failed: keeping the policy in force", "file", path, "error", err)
		return
	}
	set(pol)
	log.Info("policy reloaded", "file", path, "roles", len(pol.Roles), "actions", len(pol.Actions))
}
