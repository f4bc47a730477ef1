package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot"
	"github.com/mfadesk/mfadesk/bot/stepup"
	"github.com/mfadesk/mfadesk/cmd/mfadesk/internal/metrics"
	"github.com/mfadesk/mfadesk/storage"
)

// verifyPollEvery is how often caller verifications are looked at: pushes
// in flight polled (the directory client honours the provider's rate
// limits), unanswered ones failed after verification.ttl.
const verifyPollEvery = 3 * time.Second

// serve runs the bot until ctx ends: HTTP endpoints, Socket Mode when an app
// token is set, the executor, the expiry sweeper and the digest schedule. On
// shutdown it stops intake, lets running work finish up to the shutdown
// timeout and leaves the rest to be resumed.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if err := parseFlags(flag.NewFlagSet("serve", flag.ContinueOnError), args, stderr); err != nil {
		return err
	}
	return runServer(ctx, getenv, stderr, serveHooks{})
}

// runServer is serve after its flags; `mfadesk demo` calls it with its
// stand-ins in h (demo.go).
func runServer(ctx context.Context, getenv func(string) string, stderr io.Writer, h serveHooks) error {
	c, err := loadConfig(getenv, needDB|needSlack|needDirectory)
	if err != nil {
		return err
	}
	log := newLogger(c, stderr)
	pol, err := actions.LoadPolicy(c.PolicyFile)
	if err != nil {
		return fmt.Errorf("MFADESK_POLICY_FILE: %w", err)
	}
	warnUnsatisfiable(pol, c.PolicyFile, log)
	stepUp, err := stepUpConfig(c, pol, log)
	if err != nil {
		return err
	}
	// The directory first: a missing credential stops start-up before the
	// database is touched.
	dir, err := h.newDirectory(ctx, c, getenv, pol, log)
	if err != nil {
		return err
	}
	if problems := actions.CheckVerification(pol, dir); len(problems) > 0 {
		return fmt.Errorf("MFADESK_POLICY_FILE: %s", strings.Join(problems, "; "))
	}
	st, err := openStore(ctx, c, stderr, false)
	if err != nil {
		return err
	}
	defer st.Close()
	unlock, err := soleServe(ctx, st, log)
	if err != nil {
		return err
	}
	defer unlock()
	m := metrics.New(st.CountOpen, log)
	bi := readBuildInfo()
	m.BuildInfo(bi.Version, bi.Revision, bi.GoVersion)

	execOpts := actions.ExecutorOptions{Lease: c.Lease, Drain: c.ShutdownTimeout, Observer: m, Logger: log,
		Sole: st.Dialect() == storage.DialectSQLite}
	var svc *actions.Service
	execOpts.Policy = func() *actions.Policy { return svc.Policy() }
	exec := actions.NewExecutor(st, dir, execOpts)
	svc = actions.NewService(st, dir, pol, actions.ServiceOptions{Observer: m, Logger: log, Kick: exec.Kick, StepUpACR: c.OIDCACR})
	slackClient := slack.New(c.SlackBotToken, slack.OptionAPIURL(c.SlackAPIURL), slack.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second}))
	b, err := bot.New(bot.Config{
		Service: svc, Slack: slackClient, SigningSecret: c.SlackSigningSecret,
		ApprovalChannel: c.ApprovalChannel, Logger: log, Metrics: m, APIURL: c.SlackAPIURL,
		PublicURL:       stepUpPublicURL(stepUp),
		SecurityChannel: c.SecurityChannel,
	})
	if err != nil {
		return err
	}
	// Notices (README, "Notice, "This wasn't me" and containment"): a
	// dead replica's claim on one lapses like its executor lease.
	courier := actions.NewCourier(st, dir, b, actions.CourierOptions{Lease: c.Lease, Notifier: b, Logger: log})
	svc.SetNotifier(b)
	exec.SetNotifier(b)

	mux := http.NewServeMux()
	b.Routes(mux)
	if stepUp != nil {
		su, err := stepup.New(*stepUp, svc)
		if err != nil {
			return err
		}
		su.Routes(mux)
	}
	h.addRoutes(mux, st)
	ready := &readiness{st: st, log: log, slack: func(ctx context.Context) []slackProblem {
		return slackProblems(ctx, slackClient, c.SlackAPIURL, c.ApprovalChannel)
	}}
	if c.SlackAppToken != "" {
		ready.socket = b.SocketConnected
	}
	// /metrics, /healthz and /readyz: on the Slack listener, or on their own
	// (MFADESK_METRICS_ADDR) to keep them off the internet.
	opsMux := mux
	if c.MetricsAddr != "" {
		opsMux = http.NewServeMux()
	}
	opsRoutes(opsMux, ready, m)

	ln, err := h.listen(c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("MFADESK_HTTP_ADDR: %w", err)
	}
	srv := newHTTPServer(mux, log)
	var opsLn net.Listener
	var opsSrv *http.Server
	if c.MetricsAddr != "" {
		if opsLn, err = net.Listen("tcp", c.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("MFADESK_METRICS_ADDR: %w", err)
		}
		opsSrv = newHTTPServer(opsMux, log)
		log.Info("metrics listening", "addr", opsLn.Addr().String())
	}
	log.Info("listening", "addr", ln.Addr().String(), "directory", dir.Name(), "database", st.Dialect(),
		"socket_mode", c.SlackAppToken != "")

	// run ends every part: at shutdown, or when one part fails.
	run, stopAll := context.WithCancel(ctx)
	defer stopAll()
	reloadPolicyOnHangup(run, c.PolicyFile, func(p *actions.Policy) error {
		if _, err := stepUpConfig(c, p, log); err != nil {
			return err
		}
		if stepUp == nil && len(p.StepUpActions()) > 0 {
			return fmt.Errorf("step_up on %s needs a restart with the OpenID Connect variables set", joinActions(p.StepUpActions()))
		}
		if problems := actions.CheckVerification(p, dir); len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}, svc.SetPolicy, log)
	stopDigest, err := startDigestScheduler(run, c, st, slackClient, m, log)
	if err != nil {
		ln.Close()
		if opsLn != nil {
			opsLn.Close()
		}
		return err
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8) // more than the parts started: none blocks on sending
	start := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	start("http", func() error { return serveHTTP(srv, ln) })
	if opsSrv != nil {
		start("metrics http", func() error { return serveHTTP(opsSrv, opsLn) })
	}
	go ready.watchSlack(run, readyEvery, readyRetryEvery)
	if c.SlackAppToken != "" {
		start("socket mode", func() error { return appTokenError(b.RunSocketMode(run, c.SlackAppToken)) })
	}
	start("executor", func() error { return exec.Run(run) })
	start("courier", func() error { return courier.Run(run) })
	start("sweeper", func() error { svc.RunSweeper(run, 30*time.Second); return nil })
	start("verifications", func() error { svc.RunVerifications(run, verifyPollEvery); return nil })

	var failure error
	select {
	case <-ctx.Done():
		log.Info("shutting down: intake stopped, draining", "timeout", c.ShutdownTimeout)
	case failure = <-errc:
		log.Error("stopping after failure", "error", failure)
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("http shutdown", "error", err)
	}
	if opsSrv != nil {
		// Probes and scrapes answer until the Slack listener has drained.
		if err := opsSrv.Shutdown(shutdown); err != nil {
			log.Warn("metrics http shutdown", "error", err)
		}
	}
	stopAll() // the executor drains for up to the shutdown timeout
	if err := stopDigest(shutdown); err != nil {
		log.Warn("digest shutdown", "error", err)
	}
	wg.Wait()
	// Last, so that the executor's final notifications still reach Slack.
	if err := b.Shutdown(shutdown); err != nil {
		log.Warn("bot shutdown", "error", err)
	}
	log.Info("stopped")
	return failure
}

// soleServe makes this process the one serve of an SQLite database and
// then migrates it: a second serve, or a newer binary started beside a
// running one, is refused before it changes the schema under the running
// process. The sole serve then takes over every lease left by a previous
// process at once, so that work resumes as soon as it starts (README,
// "Database outages and crash recovery"). On PostgreSQL replicas share the
// database (migrations take their own lock) and take over lapsed leases
// instead.
func soleServe(ctx context.Context, st *storage.Store, log *slog.Logger) (unlock func(), err error) {
	unlock, err = st.LockServe()
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		unlock()
		return nil, err
	}
	if st.Dialect() != storage.DialectSQLite {
		return unlock, nil
	}
	n, err := st.ReleaseAllLeases(ctx)
	if err != nil {
		unlock()
		return nil, err
	}
	if n > 0 {
		log.Info("resuming requests a previous process left running", "requests", n)
	}
	return unlock, nil
}
