package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // CRON_TZ and MFADESK_BUSINESS_HOURS zones, also on images without zoneinfo

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions/digest"
	"github.com/mfadesk/mfadesk/bot/digestview"
	"github.com/mfadesk/mfadesk/storage"
)

// digestCmd is `mfadesk digest [--print] [--since D]`: the digest of the
// period since the last digest (or since D) up to now, posted to the audit
// channel and recorded like a scheduled one, or with --print written to
// stdout and recorded nowhere.
func digestCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("digest", flag.ContinueOnError)
	printOnly := fs.Bool("print", false, "write the digest to stdout as text instead of posting it")
	since := fs.String("since", "", "start at: a duration back from now (168h) or RFC 3339; default: the end of the last digest")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	from, err := parseSince(*since, now)
	if err != nil {
		return usageError("digest: %v", err)
	}
	c, err := loadConfig(getenv, needDB)
	if err != nil {
		return err
	}
	hours, err := parseHours(c)
	if err != nil {
		return err
	}
	if !*printOnly {
		if err := postingConfig(c); err != nil {
			return err
		}
	}
	log := newLogger(c, stderr)
	st, err := openStore(ctx, c, stderr, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Ready(ctx); err != nil {
		return err
	}
	opts := digest.RunnerOptions{Hours: hours, Logger: log, Owner: digestOwner("cli")}
	if *printOnly {
		r := digest.NewRunner(st, nil, opts)
		p, err := r.PeriodTo(ctx, now, from)
		if err != nil {
			return err
		}
		d, err := r.Build(ctx, p)
		if err != nil {
			return err
		}
		return digestview.WriteText(stdout, d)
	}
	poster := digestview.NewPoster(newSlackClient(c), c.AuditChannel)
	opts.MinPeriod = time.Minute
	rec, err := digest.NewRunner(st, poster, opts).Post(ctx, now, from)
	switch {
	case errors.Is(err, digest.ErrNothingToPost):
		fmt.Fprintln(stdout, err.Error()+"; nothing posted")
		return nil
	case errors.Is(err, digest.ErrPosted), errors.Is(err, digest.ErrSuperseded):
		return fmt.Errorf("a digest up to %s exists already; nothing posted", now.Format(time.RFC3339))
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "posted the digest of %s – %s to %s (ts %s); audit chain head: %d events, %s\n",
		rec.Period.Start.Format(time.RFC3339), rec.Period.End.Format(time.RFC3339), rec.Channel, rec.TS, rec.Head.Seq, rec.Head.Hash)
	return nil
}

// parseHours reads MFADESK_BUSINESS_HOURS.
func parseHours(c config) (digest.BusinessHours, error) {
	h, err := digest.ParseBusinessHours(c.BusinessHours)
	if err != nil {
		return digest.BusinessHours{}, fmt.Errorf("MFADESK_BUSINESS_HOURS: %w", err)
	}
	return h, nil
}

// postingConfig checks what posting a digest needs, one line per problem.
func postingConfig(c config) error {
	var errs []string
	if !strings.HasPrefix(c.SlackBotToken, "xoxb-") {
		errs = append(errs, "SLACK_BOT_TOKEN: required to post the digest: the bot token (xoxb-…)")
	}
	if !channelID.MatchString(c.AuditChannel) {
		errs = append(errs, "MFADESK_AUDIT_CHANNEL: required to post the digest (or MFADESK_APPROVAL_CHANNEL): a channel ID such as C0123456789")
	}
	if err := httpURL(c.SlackAPIURL); err != nil {
		errs = append(errs, "SLACK_API_URL: "+err.Error())
	}
	if len(errs) > 0 {
		return &configError{lines: errs}
	}
	return nil
}

func newSlackClient(c config) *slack.Client {
	return slack.New(c.SlackBotToken, slack.OptionAPIURL(c.SlackAPIURL),
		slack.OptionHTTPClient(&http.Client{Timeout: 15 * time.Second}))
}

// digestOwner names this process in the digest ledger: host, pid and a
// random part, so that two processes never share a claim.
func digestOwner(role string) string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%s/%d/%s", role, host, os.Getpid(), hex.EncodeToString(b[:]))
}

// digestTuning are the scheduler's knobs that are not configuration; tests
// shorten them.
type digestTuning struct {
	retryEvery time.Duration // how often failed posts are looked for (1m)
	retryBase  time.Duration // first backoff after a failed post (1m)
}

// startDigestScheduler starts the digest schedule of `mfadesk serve`:
// MFADESK_DIGEST_SCHEDULE's ticks, a catch-up run at once, and retries of
// failed posts every minute, posting to MFADESK_AUDIT_CHANNEL through
// client. Runs get contexts derived from ctx (the server's run context,
// cancelled at shutdown). The returned stop stops the schedule and waits
// for a running digest up to its context's deadline. It fails when
// MFADESK_DIGEST_SCHEDULE or MFADESK_BUSINESS_HOURS is malformed.
func startDigestScheduler(ctx context.Context, c config, st *storage.Store, client digestview.SlackAPI, observer digest.Observer, log *slog.Logger) (stop func(context.Context) error, err error) {
	return newDigestScheduler(ctx, c, st, client, observer, log, digestTuning{})
}

func newDigestScheduler(ctx context.Context, c config, st *storage.Store, client digestview.SlackAPI, observer digest.Observer, log *slog.Logger, tune digestTuning) (func(context.Context) error, error) {
	sched, err := digest.ParseSchedule(c.DigestSchedule)
	if err != nil {
		return nil, fmt.Errorf("MFADESK_DIGEST_SCHEDULE: %w", err)
	}
	hours, err := parseHours(c)
	if err != nil {
		return nil, err
	}
	log = log.With("component", "digest")
	runner := digest.NewRunner(st, digestview.NewPoster(client, c.AuditChannel), digest.RunnerOptions{
		Owner: digestOwner("serve"), Hours: hours, RetryBase: tune.retryBase, Logger: log, Observer: observer,
	})
	s := digest.NewScheduler(sched, func(ctx context.Context, tick time.Time) {
		if err := runner.Reconcile(ctx, tick); err != nil {
			log.WarnContext(ctx, "digest run: some periods are not posted yet", "error", err)
		}
	}, digest.SchedulerOptions{RetryEvery: tune.retryEvery, Logger: log})
	s.Start(ctx)
	return s.Stop, nil
}
