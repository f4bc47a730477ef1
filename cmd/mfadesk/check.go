package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/stepup"
)

// check validates the configuration and the policy, then reaches the
// database, Slack and the directory. It prints one line per problem and
// exits 0 only when there is none. Secret values are never printed.
func check(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseFlags(flag.NewFlagSet("check", flag.ContinueOnError), args, stderr); err != nil {
		return err
	}
	var problems []string
	c, err := loadConfig(getenv, needDB|needSlack|needDirectory)
	if err != nil {
		problems = append(problems, err.Error())
	}
	pol, perr := actions.LoadPolicy(c.PolicyFile)
	if perr != nil {
		problems = append(problems, "MFADESK_POLICY_FILE: "+perr.Error())
	} else {
		for _, u := range pol.Unsatisfiable() {
			problems = append(problems, "policy: "+u)
		}
	}
	if err != nil { // reaching out with a broken configuration would only add noise
		return report(stdout, problems)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if st, err := openStore(ctx, c, stderr, false); err != nil {
		problems = append(problems, named("MFADESK_DATABASE_URL", err))
	} else {
		if pending, err := st.Pending(ctx); err != nil {
			problems = append(problems, named("MFADESK_DATABASE_URL", err))
		} else if len(pending) > 0 {
			problems = append(problems, fmt.Sprintf("database: %d migration(s) pending: run mfadesk migrate (serve applies them too)", len(pending)))
		}
		st.Close()
	}
	client := slack.New(c.SlackBotToken, slack.OptionAPIURL(c.SlackAPIURL), slack.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second}))
	for _, p := range slackProblems(ctx, client, c.SlackAPIURL, c.ApprovalChannel) {
		problems = append(problems, p.line)
	}
	if pol != nil {
		dir, err := newDirectory(ctx, c, getenv, pol, newLogger(c, io.Discard))
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			for _, a := range pol.Enabled() {
				if dir.Supports(a) == actions.Unsupported {
					problems = append(problems, fmt.Sprintf("policy: %s is enabled but the %s directory does not support it", a, dir.Name()))
				}
			}
			problems = append(problems, actions.CheckVerification(pol, dir)...)
			if dc, ok := dir.(directoryChecker); ok {
				for _, p := range dc.Check(ctx, pol.Enabled()) {
					problems = append(problems, "MFADESK_DIRECTORY="+dir.Name()+": "+p)
				}
			}
		}
	}
	if pol != nil {
		problems = append(problems, checkStepUp(ctx, c, pol)...)
	}
	return report(stdout, problems)
}

// checkStepUp checks the step-up variables and fetches the provider's
// discovery document.
func checkStepUp(ctx context.Context, c config, pol *actions.Policy) []string {
	sc, err := stepUpConfig(c, pol, newLogger(c, io.Discard))
	switch {
	case err != nil:
		return strings.Split(err.Error(), "\n")
	case sc == nil:
		return nil
	}
	h, err := stepup.New(*sc, nil)
	if err == nil {
		err = h.Check(ctx)
	}
	if err != nil {
		return []string{named("MFADESK_OIDC_ISSUER", err)}
	}
	return nil
}

// named is err's message led by the variable it is about, unless it names
// it already.
func named(variable string, err error) string {
	if msg := err.Error(); strings.HasPrefix(msg, variable+":") {
		return msg
	} else {
		return variable + ": " + msg
	}
}

func report(stdout io.Writer, problems []string) error {
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if len(problems) > 0 {
		return &exitError{code: 1, err: errSilent}
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}
