package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// BenchmarkAuditVerify times what `mfadesk audit verify` does (the chain walk
// to the recorded head and the check of every finished request) over a log
// of MFADESK_BENCH_EVENTS events (default 1,000,000) on each database:
//
//	MFADESK_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench AuditVerify -benchtime 3x ./cmd/mfadesk/
//
// Filling the log takes a minute or two per database and is not timed; on
// PostgreSQL it ends with VACUUM ANALYZE, as autovacuum would.
func BenchmarkAuditVerify(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("MFADESK_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 7 {
			b.Fatalf("MFADESK_BENCH_EVENTS=%q: want a number of events, at least 7", v)
		}
	}
	for _, dialect := range storagetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := storagetest.New(b, dialect)
			fillAuditLog(b, db, n)
			b.ResetTimer()
			for b.Loop() {
				res, err := verifyAudit(b.Context(), db.Store, "", defaultSplit())
				if err != nil || len(res.problems) > 0 || res.count != int64(n/7*7) {
					b.Fatalf("verify: %v %v, %d events", err, res.problems, res.count)
				}
			}
			b.ReportMetric(float64(n/7*7)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// fillAuditLog writes n/7 finished requests of 3 targets each, 7 events
// apiece, as the executor would leave them.
func fillAuditLog(b testing.TB, db storagetest.DB, n int) {
	b.Helper()
	const perRequest, batch = 7, 2000 / 7
	raw := storagetest.Raw(b, db)
	start := time.Now().Add(-time.Duration(n) * time.Second)
	var evs []actions.Event
	var ids []string
	flush := func() {
		if err := db.Store.AppendEvents(b.Context(), evs...); err != nil {
			b.Fatal(err)
		}
		var q strings.Builder
		q.WriteString(`INSERT INTO requests (id, requester_slack_id, requester_email, action, reason, state, created_at, expires_at, updated_at, approvals_needed) VALUES `)
		for i, id := range ids {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "('%s', 'U0HELP1', 'help@example.com', 'revoke-mfa-sessions', 'phished', 'succeeded', 0, 0, 0, 1)", id)
		}
		if _, err := raw.ExecContext(b.Context(), q.String()); err != nil {
			b.Fatal(err)
		}
		evs, ids = evs[:0], ids[:0]
	}
	for r := 0; r < n/perRequest; r++ {
		id := fmt.Sprintf("R%010d", r)
		at := start.Add(time.Duration(r*perRequest) * time.Second)
		tg := make([]actions.TargetRef, 3)
		for i := range tg {
			tg[i] = actions.TargetRef{SlackID: fmt.Sprintf("U%08d", r*3+i), Email: fmt.Sprintf("user%d@example.com", r*3+i),
				DirectoryID: fmt.Sprintf("6f1c2a3b-0000-4000-8000-%012d", r*3+i)}
		}
		ev := func(k actions.EventKind, actor string) actions.Event {
			at = at.Add(time.Second)
			return actions.Event{Time: at, RequestID: id, Kind: k, Actor: actor, Action: actions.RevokeMFASessions}
		}
		created := ev(actions.EventCreated, "U0HELP1")
		created.Targets, created.Detail = tg, "reason: phished; ticket: INC-"+strconv.Itoa(r)
		approved := ev(actions.EventApproved, "U0AUTH1")
		approved.Detail = "approval 1 of 1"
		evs = append(evs, created, approved, ev(actions.EventStarted, actions.BotActor))
		for i := range tg {
			res := ev(actions.EventTargetResult, actions.BotActor)
			res.Target, res.Outcome, res.Detail = &tg[i], "ok", "signed out everywhere (request-id 4b2f-"+strconv.Itoa(i)+")"
			evs = append(evs, res)
		}
		done := ev(actions.EventCompleted, actions.BotActor)
		done.Outcome, done.Detail = "succeeded", "3 ok, 0 failed, 0 skipped"
		evs = append(evs, done)
		ids = append(ids, id)
		if len(ids) == batch {
			flush()
		}
	}
	if len(ids) > 0 {
		flush()
	}
	if db.Dialect == storage.DialectPostgres {
		// As autovacuum leaves a live database: statistics for the
		// planner, and a visibility map for index-only scans.
		for _, table := range []string{"audit_events", "requests"} {
			if _, err := raw.ExecContext(b.Context(), "VACUUM ANALYZE "+table); err != nil {
				b.Fatal(err)
			}
		}
	}
}
