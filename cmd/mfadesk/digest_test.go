package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
	"github.com/mfadesk/mfadesk/bot/digestview"
	"github.com/mfadesk/mfadesk/bot/fakeslack"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

const auditChannel = "C0AUDIT"

// runDigest runs `mfadesk digest …` in process; args start with "digest".
// (It calls digestCmd rather than run until run dispatches "digest".)
func runDigest(t *testing.T, e env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := digestCmd(t.Context(), args[1:], e.get, &out, &errOut)
	return exitCode(err, &errOut), out.String(), errOut.String()
}

var headInText = regexp.MustCompile(`mfadesk audit verify --head ([0-9a-f]{64})`)

// TestDigestPrintStatesAVerifiableHead: the head a digest states is what
// `audit verify --head` checks, before and after more events, and no longer
// after the log before it is rewritten.
func TestDigestPrintStatesAVerifiableHead(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		e := auditDB(t, db) // 7 events
		code, out, errOut := runDigest(t, e, "digest", "--print")
		if code != 0 {
			t.Fatalf("digest --print: exit %d, %s", code, errOut)
		}
		for _, want := range []string{"1 request made · 1 approval given · 0 refused", "3 ok · 0 failed · 0 skipped", "held 7 events"} {
			if !strings.Contains(out, want) {
				t.Errorf("digest --print lacks %q:\n%s", want, out)
			}
		}
		m := headInText.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no head in:\n%s", out)
		}
		head := m[1]
		if code, out, _ := runCmd(t, e, "audit", "verify", "--head", head); code != 0 || out != "ok 7 events; head "+head+" is event 7\n" {
			t.Fatalf("verify the stated head: exit %d, %q", code, out)
		}
		// Life goes on: the head stays in the chain.
		approvedRequest(t, db.Store, e["MFADESK_POLICY_FILE"], 1)
		if code, out, _ := runCmd(t, e, "audit", "verify", "--head", head); code != 0 || !strings.Contains(out, "ok 9 events; head "+head+" is event 7") {
			t.Fatalf("verify after more events: exit %d, %q", code, out)
		}
		// --since: only what happened since; the head is the chain's now.
		code, out, _ = runDigest(t, e, "digest", "--print", "--since", "1h")
		if code != 0 || !strings.Contains(out, "2 requests made") || !strings.Contains(out, "held 9 events") {
			t.Errorf("digest --print --since 1h: exit %d:\n%s", code, out)
		}
		// Someone rewrites an event before the stated head, even recomputing
		// every hash after it: the stated head is gone.
		storagetest.Tamper(t, db, `DELETE FROM audit_events WHERE seq >= 5`)
		if code, out, _ := runCmd(t, e, "audit", "verify", "--head", head); code != 1 || !strings.Contains(out, "not in the chain") {
			t.Errorf("verify after a rewrite: exit %d, %q", code, out)
		}
	})
}

func newFakeSlackChannel(t *testing.T) *fakeslack.Server {
	t.Helper()
	fs := fakeslack.New()
	t.Cleanup(fs.Close)
	fs.AddChannel(auditChannel)
	return fs
}

func slackEnv(e env, fs *fakeslack.Server) env {
	return e.with("SLACK_BOT_TOKEN", fakeslack.DefaultToken, "SLACK_API_URL", fs.APIURL(), "MFADESK_AUDIT_CHANNEL", auditChannel)
}

// TestDigestCommandPosts: `mfadesk digest` posts the blocks, then the chart
// in the message's thread, and records the period, so that the next digest
// starts where it ended.
func TestDigestCommandPosts(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		fs := newFakeSlackChannel(t)
		e := slackEnv(auditDB(t, db), fs)
		code, out, errOut := runDigest(t, e, "digest")
		if code != 0 || !strings.HasPrefix(out, "posted the digest of ") {
			t.Fatalf("digest: exit %d, %q, %s", code, out, errOut)
		}
		msgs := fs.Messages(auditChannel)
		if len(msgs) != 1 {
			t.Fatalf("%d messages, want 1", len(msgs))
		}
		_, hash, err := db.Store.AuditHead(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(msgs[0].Blocks), "mfadesk audit verify --head "+hash) {
			t.Errorf("message does not state the head %s: %s", hash, msgs[0].Blocks)
		}
		files := fs.Files()
		if len(files) != 1 || files[0].Channel != auditChannel || !files[0].Completed || len(files[0].Content) == 0 {
			t.Errorf("chart upload: %+v", files)
		}
		done := fs.Calls("files.completeUploadExternal")
		if len(done) != 1 || done[0].Args["thread_ts"] != msgs[0].TS {
			t.Errorf("chart not in the digest's thread: %+v", done)
		}
		recs, err := db.Store.Digests(t.Context(), 10)
		if err != nil || len(recs) != 1 || recs[0].Status != digest.StatusPosted || recs[0].TS != msgs[0].TS || recs[0].Head.Hash != hash {
			t.Fatalf("digest records: %+v, %v", recs, err)
		}
		// The next digest covers only what came after.
		code, out, _ = runDigest(t, e, "digest", "--print")
		if code != 0 || !strings.Contains(out, "Nothing happened in this period.") {
			t.Errorf("digest --print after a posted digest: exit %d:\n%s", code, out)
		}
		// Posting needs Slack's token.
		code, _, errOut = runDigest(t, e.with("SLACK_BOT_TOKEN", ""), "digest")
		if code != 1 || !strings.Contains(errOut, "SLACK_BOT_TOKEN") {
			t.Errorf("digest without a token: exit %d, %q", code, errOut)
		}
		code, _, errOut = runDigest(t, e.with("MFADESK_BUSINESS_HOURS", "always"), "digest", "--print")
		if code != 1 || !strings.Contains(errOut, "MFADESK_BUSINESS_HOURS") {
			t.Errorf("digest with bad business hours: exit %d, %q", code, errOut)
		}
	})
}

// scheduler starts a digest scheduler of st posting to fs, as serve would,
// and returns its stop.
func scheduler(t *testing.T, st *storage.Store, fs *fakeslack.Server, spec string, tune digestTuning) func() {
	t.Helper()
	c := config{DigestSchedule: spec, BusinessHours: digest.DefaultBusinessHours, AuditChannel: auditChannel}
	client := slack.New(fakeslack.DefaultToken, slack.OptionAPIURL(fs.APIURL()))
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	stop, err := newDigestScheduler(t.Context(), c, st, client, nil, log, tune)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	halt := func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			t.Errorf("stop digest scheduler: %v", err)
		}
	}
	t.Cleanup(halt)
	return halt
}

// checkOnce checks that every posted period has exactly one message, and
// every message one posted period.
func checkOnce(t *testing.T, st *storage.Store, fs *fakeslack.Server) []digest.Record {
	t.Helper()
	recs, err := st.Digests(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var posted []digest.Record
	var recTS []string
	for _, r := range recs {
		if r.Status == digest.StatusPosted {
			posted = append(posted, r)
			recTS = append(recTS, r.TS)
		}
	}
	var msgTS []string
	for _, m := range fs.Messages(auditChannel) {
		msgTS = append(msgTS, m.TS)
	}
	slices.Sort(recTS)
	slices.Sort(msgTS)
	if !slices.Equal(recTS, msgTS) {
		t.Errorf("posted periods' messages %v; messages in the channel %v", recTS, msgTS)
	}
	for i := 1; i < len(recs); i++ { // latest first: each starts where the one before ended
		if !recs[i-1].Period.Start.Equal(recs[i].Period.End) {
			t.Errorf("periods not contiguous: %v after %v", recs[i-1].Period, recs[i].Period)
		}
	}
	return posted
}

// TestDigestSchedulersPostEachPeriodOnce: two replicas on one PostgreSQL
// (two Stores, as two processes) on a schedule ticking every second post
// each period exactly once.
func TestDigestSchedulersPostEachPeriodOnce(t *testing.T) {
	t.Parallel()
	db := storagetest.New(t, storage.DialectPostgres)
	fs := newFakeSlackChannel(t)
	approvedRequest(t, db.Store, writePolicy(t), 2)
	tune := digestTuning{retryEvery: 50 * time.Millisecond, retryBase: 100 * time.Millisecond}
	stopA := scheduler(t, db.Store, fs, "@every 1s", tune)
	stopB := scheduler(t, db.Open(t), fs, "@every 1s", tune)
	waitFor(t, "three periods posted", 15*time.Second, func() bool { return len(fs.Messages(auditChannel)) >= 3 })
	stopA()
	stopB()
	posted := checkOnce(t, db.Store, fs)
	if len(posted) < 3 {
		t.Errorf("%d periods posted", len(posted))
	}
	if n := len(fs.Calls("chat.postMessage")); n != len(posted) {
		t.Errorf("%d chat.postMessage calls for %d periods", n, len(posted))
	}
}

// TestDigestCatchUpAtStart: the weekly tick passed while no replica ran;
// the digest is posted at start, covering everything since the last one.
func TestDigestCatchUpAtStart(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		fs := newFakeSlackChannel(t)
		sched := defaultSchedule(t)
		now := time.Now()
		last := sched.Prev(now)            // missed
		before := sched.Prev(last.Add(-1)) // posted, the week before
		ctx := t.Context()
		claim := digest.Claim{End: before, FallbackStart: before.Add(-7 * 24 * time.Hour), Owner: "old", Now: now, LeaseUntil: now.Add(time.Minute)}
		if _, err := db.Store.ClaimDigest(ctx, claim); err != nil {
			t.Fatal(err)
		}
		if err := db.Store.DigestPosting(ctx, before, "old", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.Store.DigestPosted(ctx, before, "old", digest.Posted{Channel: auditChannel, TS: "1.1", At: now}); err != nil {
			t.Fatal(err)
		}
		// A refused click in the missed week, one after its end.
		for _, at := range []time.Time{last.Add(-time.Hour), last.Add(time.Minute)} {
			err := db.Store.AppendEvents(ctx, actions.Event{Time: at, Kind: actions.EventRefused, Actor: "U0HELP1", Detail: "no"})
			if err != nil {
				t.Fatal(err)
			}
		}
		stop := scheduler(t, db.Store, fs, digest.DefaultSchedule, digestTuning{retryEvery: -1})
		waitFor(t, "the missed digest", 10*time.Second, func() bool { return len(fs.Messages(auditChannel)) == 1 })
		stop()
		recs, err := db.Store.Digests(ctx, 10)
		if err != nil || len(recs) != 2 {
			t.Fatalf("records: %+v %v", recs, err)
		}
		if got := recs[0]; !got.Period.End.Equal(last) || !got.Period.Start.Equal(before) || got.Status != digest.StatusPosted {
			t.Errorf("caught-up record %+v, want %s – %s posted", got, before, last)
		}
		if blocks := string(fs.Messages(auditChannel)[0].Blocks); !strings.Contains(blocks, "*1* refused") {
			t.Errorf("the caught-up digest should count the missed week's refusal: %s", blocks)
		}
		// A restart posts nothing more.
		stop = scheduler(t, db.Store, fs, digest.DefaultSchedule, digestTuning{retryEvery: -1})
		time.Sleep(500 * time.Millisecond)
		stop()
		if n := len(fs.Calls("chat.postMessage")); n != 1 {
			t.Errorf("%d posts after a restart, want the one", n)
		}
	})
}

// TestDigestFailedPostIsRetriedNotDuplicated: Slack refuses the first two
// posts; two replicas retry with backoff until it is posted, once.
func TestDigestFailedPostIsRetriedNotDuplicated(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		fs := newFakeSlackChannel(t)
		fs.Fail("chat.postMessage", "internal_error")
		fs.Fail("chat.postMessage", "fatal_error")
		eventInLastPeriod(t, db.Store)
		tune := digestTuning{retryEvery: 30 * time.Millisecond, retryBase: 150 * time.Millisecond}
		stopA := scheduler(t, db.Store, fs, digest.DefaultSchedule, tune)
		stopB := scheduler(t, db.Open(t), fs, digest.DefaultSchedule, tune)
		waitFor(t, "the digest posted", 15*time.Second, func() bool { return len(fs.Messages(auditChannel)) == 1 })
		time.Sleep(300 * time.Millisecond) // time for a duplicate to show
		stopA()
		stopB()
		posted := checkOnce(t, db.Store, fs)
		if len(posted) != 1 || posted[0].Attempts != 3 || posted[0].Error != "" {
			t.Errorf("posted: %+v; want one, after 3 attempts", posted)
		}
		if n := len(fs.Calls("chat.postMessage")); n != 3 {
			t.Errorf("%d chat.postMessage calls, want 2 refused and 1 posted", n)
		}
	})
}

// TestDigestRepostsAfterACrashWhilePosting: a replica died between marking
// the period posting and recording the post. Once its lease lapses another
// replica posts it (the documented window where Slack may have it twice).
func TestDigestRepostsAfterACrashWhilePosting(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		fs := newFakeSlackChannel(t)
		sched := defaultSchedule(t)
		now := time.Now()
		last := sched.Prev(now)
		ctx := t.Context()
		if _, err := db.Store.ClaimDigest(ctx, digest.Claim{End: last, FallbackStart: last.Add(-time.Hour), Owner: "dead", Now: now, LeaseUntil: now.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := db.Store.DigestPosting(ctx, last, "dead", now.Add(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		stop := scheduler(t, db.Store, fs, digest.DefaultSchedule, digestTuning{retryEvery: 50 * time.Millisecond})
		time.Sleep(150 * time.Millisecond)
		if n := len(fs.Messages(auditChannel)); n != 0 {
			t.Fatalf("posted while the dead replica's lease held: %d", n)
		}
		waitFor(t, "the period posted after the lease lapsed", 10*time.Second, func() bool { return len(fs.Messages(auditChannel)) == 1 })
		stop()
		posted := checkOnce(t, db.Store, fs)
		if len(posted) != 1 || posted[0].Attempts != 2 {
			t.Errorf("posted %+v", posted)
		}
	})
}

// TestDigestNothingToPost: a fresh install posts no "Nothing happened" digest,
// at start or by hand, and `mfadesk digest` run twice posts no digest of
// the seconds in between.
func TestDigestNothingToPost(t *testing.T) {
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		fs := newFakeSlackChannel(t)
		sched := defaultSchedule(t)
		client := slack.New(fakeslack.DefaultToken, slack.OptionAPIURL(fs.APIURL()))
		r := digest.NewRunner(db.Store, digestview.NewPoster(client, auditChannel), digest.RunnerOptions{Owner: "test"})
		// The first start of a fresh install catches up the last tick.
		if err := r.Reconcile(t.Context(), sched.Prev(time.Now())); err != nil {
			t.Fatalf("reconcile: %v", err)
		}
		_, err := r.Post(t.Context(), sched.Prev(time.Now()), time.Time{})
		if !errors.Is(err, digest.ErrNothingToPost) || !digest.Expected(err) {
			t.Errorf("post on a fresh install: %v, want ErrNothingToPost", err)
		}
		e := slackEnv(env{"MFADESK_DATABASE_URL": db.URL}, fs)
		code, out, errOut := runDigest(t, e, "digest")
		if code != 0 || !strings.Contains(out, "nothing to post: no audit events yet") {
			t.Errorf("mfadesk digest on a fresh install: exit %d, %q %q", code, out, errOut)
		}
		if n := len(fs.Messages(auditChannel)); n != 0 {
			t.Fatalf("%d digests posted on a fresh install", n)
		}
		if recs, err := db.Store.Digests(t.Context(), 10); err != nil || len(recs) != 0 {
			t.Errorf("records %+v %v, want none", recs, err)
		}
		// Something happens: the first digest is posted; run again at once,
		// nothing more.
		approvedRequest(t, db.Store, writePolicy(t), 1)
		if code, out, errOut := runDigest(t, e, "digest"); code != 0 || !strings.HasPrefix(out, "posted the digest of ") {
			t.Fatalf("first digest: exit %d, %q %q", code, out, errOut)
		}
		code, out, errOut = runDigest(t, e, "digest")
		if code != 0 || !strings.Contains(out, "nothing to post: the period since the last digest") {
			t.Errorf("second digest at once: exit %d, %q %q", code, out, errOut)
		}
		if n := len(fs.Messages(auditChannel)); n != 1 {
			t.Errorf("%d digests posted, want 1", n)
		}
	})
}

// defaultSchedule is digest.DefaultSchedule, parsed.
func defaultSchedule(t *testing.T) digest.Schedule {
	t.Helper()
	sched, err := digest.ParseSchedule(digest.DefaultSchedule)
	if err != nil {
		t.Fatal(err)
	}
	return sched
}

// eventInLastPeriod records an event in the week before the default
// schedule's last tick, so that the first digest has something to say (an
// empty first period is not posted).
func eventInLastPeriod(t *testing.T, st *storage.Store) {
	t.Helper()
	at := defaultSchedule(t).Prev(time.Now()).Add(-time.Hour)
	if err := st.AppendEvents(t.Context(), actions.Event{Time: at, Kind: actions.EventRefused, Actor: "U0HELP1", Detail: "no"}); err != nil {
		t.Fatal(err)
	}
}
