package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// The audit log is append-only in the database itself: a program with the
// same credentials as mfadesk cannot edit or delete events.
func TestAuditEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		ctx := t.Context()
		ev := actions.Event{Time: time.Now(), Kind: actions.EventRefused, Actor: "U0EVIL", Detail: "not allowed"}
		if err := db.Store.AppendEvents(ctx, ev, ev); err != nil {
			t.Fatal(err)
		}
		raw := storagetest.Raw(t, db)
		tests := []string{
			`UPDATE audit_events SET detail = 'allowed' WHERE seq = 1`,
			`DELETE FROM audit_events WHERE seq = 2`,
			`DELETE FROM audit_events`,
		}
		if db.Dialect == "postgres" {
			tests = append(tests, `TRUNCATE audit_events`)
		}
		for _, q := range tests {
			_, err := raw.ExecContext(ctx, q)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: %v, want it refused as append-only", q, err)
			}
		}
		var n int
		var detail string
		if err := raw.QueryRowContext(ctx, `SELECT COUNT(*), MIN(detail) FROM audit_events`).Scan(&n, &detail); err != nil {
			t.Fatal(err)
		}
		if n != 2 || detail != "not allowed" {
			t.Errorf("after the refused statements: %d events, detail %q; want 2, unchanged", n, detail)
		}
		// Appending still works.
		if err := db.Store.AppendEvents(ctx, ev); err != nil {
			t.Fatalf("append after the refusals: %v", err)
		}
	})
}

// Text from outside (a directory's error, a Slack reason) may hold NUL or
// invalid UTF-8; PostgreSQL refuses both. Sealing cleans them, so the event
// is stored on both databases and the chain still verifies.
func TestAuditEventWithBadBytes(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		ctx := t.Context()
		ev := actions.Event{Time: time.Now(), RequestID: "R\x00", Kind: actions.EventTargetResult, Actor: "mfadesk",
			Target: &actions.TargetRef{Email: "bob\xff@example.com"}, Outcome: "failed", Detail: "request-id \x00\xfe\xff 42"}
		if err := db.Store.AppendEvents(ctx, ev); err != nil {
			t.Fatalf("append: %v", err)
		}
		_, _, err := actions.VerifyChain(ctx, 2, func(ctx context.Context, yield func(actions.Event) error) error {
			return db.Store.StreamEvents(ctx, 0, 1, func(e actions.Event) error {
				if e.Detail != "request-id \uFFFD\uFFFD 42" || e.Target.Email != "bob\uFFFD@example.com" || e.RequestID != "R\uFFFD" {
					t.Errorf("stored %+v", e)
				}
				return yield(e)
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
