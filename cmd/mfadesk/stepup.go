package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/stepup"
)

// stepUpConfig returns the step-up configuration when the policy has
// step_up actions or MFADESK_OIDC_ISSUER is set, and nil when step-up is
// off. When it is needed and a variable is missing or malformed, the error
// has one line per variable, naming it.
func stepUpConfig(c config, pol *actions.Policy, log *slog.Logger) (*stepup.Config, error) {
	needed := pol.StepUpActions()
	if len(needed) == 0 && c.OIDCIssuer == "" {
		return nil, nil
	}
	sc := &stepup.Config{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
		ACR: c.OIDCACR, PublicURL: c.PublicURL, Logger: log, HTTPClient: &http.Client{Timeout: 15 * time.Second}}
	if err := sc.Validate(); err != nil {
		var lines []string
		for l := range strings.SplitSeq(err.Error(), "\n") {
			if len(needed) > 0 {
				l += fmt.Sprintf(" (step_up on %s)", joinActions(needed))
			}
			lines = append(lines, l)
		}
		return nil, &configError{lines: lines}
	}
	return sc, nil
}

func joinActions(as []actions.Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

// stepUpPublicURL is MFADESK_PUBLIC_URL when step-up is on, else "".
func stepUpPublicURL(sc *stepup.Config) string {
	if sc == nil {
		return ""
	}
	return sc.PublicURL
}
