package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/actions/directories/entra"
	"github.com/mfadesk/mfadesk/actions/directories/google"
	"github.com/mfadesk/mfadesk/actions/directories/okta"
)

// directoryChecker is implemented by directories that can verify their
// credentials and permissions for `mfadesk check`.
type directoryChecker interface {
	Check(ctx context.Context, enabled []actions.Action) []string
}

// newDirectory builds the directory MFADESK_DIRECTORY names.
func newDirectory(ctx context.Context, c config, getenv func(string) string, pol *actions.Policy, log *slog.Logger) (actions.Directory, error) {
	switch c.Directory {
	case "dryrun":
		return dryrun.New(dryrun.Options{Delay: c.DryRunDelay, Logger: log}), nil
	case "okta":
		return orNil(okta.New(okta.Config{OrgURL: c.OktaOrgURL, Token: c.OktaToken, Logger: log}))
	case "google":
		return orNil(google.New(google.Config{APIURL: c.GoogleAPIURL, Admin: c.GoogleAdmin,
			CredentialsFile: c.GoogleCredentials, Logger: log}))
	case "entra":
		cred, err := entra.CredentialFromEnv(getenv, nil)
		if err != nil {
			return nil, err
		}
		d, err := entra.New(entra.Config{GraphURL: c.GraphURL, Credential: cred, TAPLifetime: c.TAPLifetime, Logger: log})
		if err != nil {
			return nil, err
		}
		if entra.ManagedIdentityOnly(getenv) {
			// No app credential: only a managed identity can work, and
			// only the host can say whether there is one. Ask now rather
			// than fail every request later.
			actx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := d.Authenticate(actx, true); err != nil {
				return nil, fmt.Errorf("MFADESK_DIRECTORY=entra: %w", err)
			}
		}
		return d, nil
	}
	return nil, fmt.Errorf("MFADESK_DIRECTORY: %q is not available in this build", c.Directory)
}

// orNil keeps a failed constructor's typed nil out of the interface.
func orNil[D actions.Directory](d D, err error) (actions.Directory, error) {
	if err != nil {
		return nil, err
	}
	return d, nil
}
