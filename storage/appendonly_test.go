package storage_test

import (
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
