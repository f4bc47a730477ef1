package storage_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// awkwardEvents hold what a text format could get wrong: tabs, newlines,
// backslashes, quotes, COPY's NULL marker as text, non-ASCII, targets that
// need JSON escapes, and no targets at all.
func awkwardEvents() []actions.Event {
	at := time.Date(2026, 11, 30, 12, 0, 0, 123456000, time.UTC)
	return []actions.Event{
		{Time: at, RequestID: "R1", Kind: actions.EventCreated, Actor: "U0HELP1", Action: actions.ResetPassword,
			Targets: []actions.TargetRef{{SlackID: "U1", Email: "a@x.example", DirectoryID: "d1"},
				{SlackID: "U2", Email: `"o'hara"&<b>@x.example`, DirectoryID: `d\2`}},
			Detail: "reason: caller\tsaid \"locked out\"\nticket: \\N INC-1"},
		{Time: at.Add(time.Second), RequestID: "R1", Kind: actions.EventTargetResult, Actor: actions.BotActor,
			Action: actions.ResetPassword, Target: &actions.TargetRef{Email: "zoë@x.example"}, Method: "target",
			Outcome: "failed", Detail: `\N`},
		{Time: at.Add(2 * time.Second), RequestID: "", Kind: actions.EventCreated, Actor: "", Detail: "\r\v\f\b ✓ 日本"},
	}
}

// StreamEvents reads each event exactly as Events does, on both databases,
// whatever the text holds.
func TestStreamEventsMatchesEvents(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		ctx := t.Context()
		if err := db.Store.AppendEvents(ctx, awkwardEvents()...); err != nil {
			t.Fatal(err)
		}
		want := allEvents(t, db.Store)
		for _, tc := range []struct {
			name        string
			after, upTo int64
		}{
			{"all", 0, 3}, {"from the second", 1, 3}, {"up to the second", 0, 2}, {"none", 3, 3}, {"past the end", 0, 99},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got []actions.Event
				err := db.Store.StreamEvents(ctx, tc.after, tc.upTo, func(e actions.Event) error {
					got = append(got, e)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				w := want[tc.after:min(tc.upTo, int64(len(want)))]
				if len(w) == 0 {
					w = nil
				}
				if !reflect.DeepEqual(got, w) {
					t.Errorf("StreamEvents(%d, %d):\n got %#v\nwant %#v", tc.after, tc.upTo, got, w)
				}
			})
		}
	})
}

// yield's error stops the walk and comes back unchanged, and the Store
// still works afterwards (on PostgreSQL the copy's connection is dropped).
func TestStreamEventsStops(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		ctx := t.Context()
		if err := db.Store.AppendEvents(ctx, awkwardEvents()...); err != nil {
			t.Fatal(err)
		}
		stop := errors.New("stop here")
		var seen int
		err := db.Store.StreamEvents(ctx, 0, 3, func(e actions.Event) error {
			seen++
			return stop
		})
		if err != stop || seen != 1 {
			t.Fatalf("StreamEvents = %v after %d events; want the yield's error after 1", err, seen)
		}
		if seq, _, err := db.Store.AuditHead(ctx); err != nil || seq != 3 {
			t.Fatalf("after a stopped walk: head %d, %v", seq, err)
		}
	})
}

// pgconn hands the copy over in pieces of any size; every cut decodes to
// the same events, and a copy cut short is an error.
func TestEventsCopyInPieces(t *testing.T) {
	t.Parallel()
	db := storagetest.New(t, storage.DialectPostgres)
	ctx := t.Context()
	if err := db.Store.AppendEvents(ctx, awkwardEvents()...); err != nil {
		t.Fatal(err)
	}
	want := allEvents(t, db.Store)
	conn, err := storagetest.Raw(t, db).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var copied bytes.Buffer
	err = conn.Raw(func(dc any) error {
		_, err := dc.(*stdlib.Conn).Conn().PgConn().CopyTo(ctx, &copied, storage.EventsCopySQL(0, 3))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	data := copied.Bytes()
	for size := 1; size <= len(data); size++ {
		var pieces [][]byte
		for rest := data; len(rest) > 0; rest = rest[min(size, len(rest)):] {
			pieces = append(pieces, bytes.Clone(rest[:min(size, len(rest))]))
		}
		var got []actions.Event
		if err := storage.DecodeEventsCopy(pieces, func(e actions.Event) error { got = append(got, e); return nil }); err != nil {
			t.Fatalf("pieces of %d bytes: %v", size, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("pieces of %d bytes:\n got %#v\nwant %#v", size, got, want)
		}
	}
	for _, cut := range []int{1, 10, 19, len(data) / 2, len(data) - 2} {
		err := storage.DecodeEventsCopy([][]byte{data[:cut]}, func(actions.Event) error { return nil })
		if err == nil {
			t.Errorf("a copy cut at byte %d of %d decoded without error", cut, len(data))
		}
	}
	bad := bytes.Clone(data)
	bad[0] = 'X'
	if err := storage.DecodeEventsCopy([][]byte{bad}, func(actions.Event) error { return nil }); err == nil {
		t.Error("a copy without the binary signature decoded without error")
	}
}

// On SQLite the walk reads the rows by rowid first. Rows stored out of seq
// order, rowids that are not the seqs, a row missing, or text the joined read
// cannot split back must still come out exactly as the plain query in seq
// order gives them.
func TestStreamEventsStorageOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tamper []string
	}{
		{"as written", nil},
		{"second row stored last", []string{
			`CREATE TEMP TABLE moved AS SELECT * FROM audit_events WHERE seq = 2`,
			`DELETE FROM audit_events WHERE seq = 2`,
			`INSERT INTO audit_events SELECT * FROM moved`}},
		{"a row missing", []string{`DELETE FROM audit_events WHERE seq = 2`}},
		{"rowids are not the seqs", []string{`UPDATE audit_events SET rowid = rowid + 100`}},
		{"rowids shifted by one", []string{`UPDATE audit_events SET rowid = rowid + 1000`, `UPDATE audit_events SET rowid = rowid - 999`}},
		{"a NUL in the text", []string{`UPDATE audit_events SET detail = 'a' || char(0) || 'b' WHERE seq = 2`}},
		{"the tail cut", []string{`DELETE FROM audit_events WHERE seq = 3`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := storagetest.New(t, storage.DialectSQLite)
			ctx := t.Context()
			if err := db.Store.AppendEvents(ctx, awkwardEvents()...); err != nil {
				t.Fatal(err)
			}
			storagetest.Tamper(t, db, tc.tamper...)
			var want []actions.Event
			rows, err := storagetest.Raw(t, db).QueryContext(ctx, `SELECT seq, detail FROM audit_events ORDER BY seq`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var e actions.Event
				if err := rows.Scan(&e.Seq, &e.Detail); err != nil {
					t.Fatal(err)
				}
				want = append(want, e)
			}
			var got []actions.Event
			err = db.Store.StreamEvents(ctx, 0, 3, func(e actions.Event) error {
				got = append(got, actions.Event{Seq: e.Seq, Detail: e.Detail})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

// UnclosedRequests names each request in a final state whose created or
// closing event is missing, and only those, in ID order, up to the limit.
func TestUnclosedRequests(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		ctx := t.Context()
		at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		requests := []struct {
			id, state string
			events    []actions.EventKind
		}{
			{"R1", "succeeded", []actions.EventKind{actions.EventCreated, actions.EventApproved, actions.EventCompleted}},
			{"R2", "denied", []actions.EventKind{actions.EventCreated}},
			{"R3", "expired", []actions.EventKind{actions.EventExpired}},
			{"R4", "failed", nil},
			{"R5", "pending", []actions.EventKind{actions.EventCreated}},
			{"R6", "cancelled", []actions.EventKind{actions.EventCreated, actions.EventCancelled}},
			{"R7", "partially_failed", []actions.EventKind{actions.EventCreated, actions.EventDenied}},
		}
		raw := storagetest.Raw(t, db)
		for _, r := range requests {
			if _, err := raw.ExecContext(ctx, `INSERT INTO requests (id, requester_slack_id, requester_email, action, reason, state, created_at, expires_at, updated_at, approvals_needed)
				VALUES ($1, 'U0HELP1', 'help@example.com', 'revoke-mfa-sessions', 'phished', $2, 0, 0, 0, 1)`, r.id, r.state); err != nil {
				t.Fatal(err)
			}
			for _, k := range r.events {
				at = at.Add(time.Second)
				if err := db.Store.AppendEvents(ctx, actions.Event{Time: at, RequestID: r.id, Kind: k, Actor: "U0HELP1"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, tc := range []struct {
			limit int
			want  []storage.UnclosedRequest
		}{
			{20, []storage.UnclosedRequest{
				{ID: "R2", State: "denied", Missing: []actions.EventKind{actions.EventDenied}},
				{ID: "R3", State: "expired", Missing: []actions.EventKind{actions.EventCreated}},
				{ID: "R4", State: "failed", Missing: []actions.EventKind{actions.EventCreated, actions.EventCompleted}},
				{ID: "R7", State: "partially_failed", Missing: []actions.EventKind{actions.EventCompleted}},
			}},
			{2, []storage.UnclosedRequest{
				{ID: "R2", State: "denied", Missing: []actions.EventKind{actions.EventDenied}},
				{ID: "R3", State: "expired", Missing: []actions.EventKind{actions.EventCreated}},
			}},
		} {
			got, err := db.Store.UnclosedRequests(ctx, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("UnclosedRequests(%d):\n got %+v\nwant %+v", tc.limit, got, tc.want)
			}
		}
	})
}

// A walk after Close says the database is closed; it neither panics nor
// opens a reader pool that nothing would close.
func TestStreamEventsAfterClose(t *testing.T) {
	t.Parallel()
	storagetest.EachDB(t, func(t *testing.T, db storagetest.DB) {
		st := storagetest.Open(t, db.URL)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		err := st.StreamEvents(t.Context(), 0, 10, func(actions.Event) error { return nil })
		if err == nil {
			t.Fatal("StreamEvents after Close succeeded")
		}
	})
}
