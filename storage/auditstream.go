package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"

	"github.com/mfadesk/mfadesk/actions"
)

// StreamEvents calls yield for every audit event with afterSeq < seq <=
// upToSeq, in seq order, read as one stream (a binary COPY on PostgreSQL,
// see streamEventsCopy; one query on SQLite, see streamEventsSQLite), so
// memory does not grow with the log. It holds a database connection while
// yield runs: yield must not call the Store. yield's error stops the walk
// and is returned unchanged; other errors say the log could not be read or
// decoded.
func (s *Store) StreamEvents(ctx context.Context, afterSeq, upToSeq int64, yield func(actions.Event) error) error {
	if s.dialect == DialectPostgres {
		return s.streamEventsCopy(ctx, afterSeq, upToSeq, yield)
	}
	next, err := s.streamEventsSQLite(ctx, afterSeq, upToSeq, yield)
	if err != nil || next > upToSeq {
		return err
	}
	return s.streamEventsRows(ctx, next-1, upToSeq, yield)
}

// joinedFields are the text columns streamEventsSQLite reads as one value,
// in the order it splits them.
const joinedFields = 9

// eventReaders is the pool StreamEvents reads a SQLite file through. The
// Store keeps one connection (SQLite has one writer at a time), so walks
// that run at once, such as the segments of `audit verify`, would take
// turns on it; these query-only connections let them read side by side
// (WAL lets readers run beside a writer). An in-memory database exists only
// on the Store's connection, so it is read there.
func (s *Store) eventReaders() (*gorm.DB, error) {
	if s.sqlitePath == "" || strings.Contains(s.sqlitePath, ":memory:") {
		return s.db, nil
	}
	s.readers.once.Do(func() {
		dsn, err := sqliteDSN(s.sqlitePath)
		if err != nil {
			s.readers.err = err
			return
		}
		db, err := gorm.Open(sqlite.Open(dsn+"&_pragma=query_only(1)"), &gorm.Config{
			Logger: newGormLogger(s.log), SkipDefaultTransaction: true, DisableAutomaticPing: true,
		})
		if err != nil {
			s.readers.err = fmt.Errorf("open a reader of %s: %w", s.sqlitePath, err)
			return
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.SetMaxOpenConns(8)
			sqlDB.SetMaxIdleConns(8)
		}
		s.readers.db = db
	})
	if s.readers.db == nil && s.readers.err == nil {
		// Closed before any walk opened the pool: the Store's own
		// (closed) connection says so.
		return s.db, nil
	}
	return s.readers.db, s.readers.err
}

// streamEventsSQLite reads the events by rowid, which is seq for every row
// the Store appended, with the NOT NULL text columns joined into one value
// by NUL bytes: the driver's work per column and per row is most of the cost
// of reading, and this reads about twice as fast as the plain query. It
// stops at the first row that is not the next seq (rows stored out of
// order, or a rowid that is not the seq) or whose text does not split back
// (a NUL that Seal would have removed), and returns the seq it expected
// there: the caller reads on from it with the plain query, so the walk is
// exactly streamEventsRows's (seq is unique, so a range read in full by
// rowid holds every row of it). A result past upToSeq means it read
// everything.
func (s *Store) streamEventsSQLite(ctx context.Context, afterSeq, upToSeq int64, yield func(actions.Event) error) (next int64, err error) {
	next = afterSeq + 1
	db, err := s.eventReaders()
	if err != nil {
		return next, fmt.Errorf("read audit events after %d: %w", afterSeq, err)
	}
	rows, err := db.WithContext(ctx).Raw(`SELECT seq, "time",
		request_id || char(0) || event || char(0) || actor || char(0) || action || char(0) || method || char(0) ||
		outcome || char(0) || detail || char(0) || prev_hash || char(0) || hash,
		targets, target
		FROM audit_events WHERE rowid > ? AND rowid <= ? ORDER BY rowid`, afterSeq, upToSeq).Rows()
	if err != nil {
		return next, fmt.Errorf("read audit events after %d: %w", afterSeq, err)
	}
	defer rows.Close()
	var (
		us              int64
		joined          sql.NullString
		targets, target sql.NullString
		fields          [joinedFields]string
	)
	for rows.Next() {
		var e actions.Event
		if err := rows.Scan(&e.Seq, &us, &joined, &targets, &target); err != nil {
			return next, fmt.Errorf("read audit events after %d: %w", afterSeq, err)
		}
		if e.Seq != next || !joined.Valid || !splitFields(joined.String, fields[:]) {
			return next, nil
		}
		var kind, action string
		e.RequestID, kind, e.Actor, action, e.Method, e.Outcome, e.Detail, e.PrevHash, e.Hash =
			fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], fields[7], fields[8]
		e.Time, e.Kind, e.Action = fromMicros(us), actions.EventKind(kind), actions.Action(action)
		if err := decodeTargetColumns(&e, targets, target); err != nil {
			return next, err
		}
		if err := yield(e); err != nil {
			return next, err
		}
		next++
	}
	if err := rows.Err(); err != nil {
		return next, fmt.Errorf("read audit events after %d: %w", afterSeq, err)
	}
	// When rows are missing from the range, next <= upToSeq: the plain
	// query then reads what is there, and the chain names the gap.
	return next, nil
}

// splitFields splits s at NUL bytes into exactly len(out) parts, and
// reports whether there were exactly that many.
func splitFields(s string, out []string) bool {
	for i := range len(out) - 1 {
		j := strings.IndexByte(s, 0)
		if j < 0 {
			return false
		}
		out[i], s = s[:j], s[j+1:]
	}
	if strings.IndexByte(s, 0) >= 0 {
		return false
	}
	out[len(out)-1] = s
	return true
}

// streamEventsRows reads the events with a plain query in seq order.
func (s *Store) streamEventsRows(ctx context.Context, afterSeq, upToSeq int64, yield func(actions.Event) error) error {
	db := s.db
	if s.dialect == DialectSQLite {
		var err error
		if db, err = s.eventReaders(); err != nil {
			return fmt.Errorf("read audit events after %d: %w", afterSeq, err)
		}
	}
	rows, err := db.WithContext(ctx).Raw(`SELECT seq, "time", request_id, event, actor, action, targets, target, method, outcome, detail, prev_hash, hash
		FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq`, afterSeq, upToSeq).Rows()
	if err != nil {
		return fmt.Errorf("read audit events after %d: %w", afterSeq, err)
	}
	defer rows.Close()
	var (
		us              int64
		kind, action    string
		targets, target sql.NullString
	)
	for rows.Next() {
		var e actions.Event
		if err := rows.Scan(&e.Seq, &us, &e.RequestID, &kind, &e.Actor, &action, &targets, &target,
			&e.Method, &e.Outcome, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return fmt.Errorf("read audit events after %d: %w", afterSeq, err)
		}
		e.Time, e.Kind, e.Action = fromMicros(us), actions.EventKind(kind), actions.Action(action)
		if err := decodeTargetColumns(&e, targets, target); err != nil {
			return err
		}
		if err := yield(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read audit events after %d: %w", afterSeq, err)
	}
	return nil
}

// decodeTargetColumns decodes the targets and target columns into e.
func decodeTargetColumns(e *actions.Event, targets, target sql.NullString) error {
	var err error
	if targets.Valid {
		if e.Targets, err = decodeTargets(targets.String); err != nil {
			return fmt.Errorf("decode targets of event %d: %w", e.Seq, err)
		}
	}
	if target.Valid {
		if e.Target, err = decodeTarget(target.String); err != nil {
			return fmt.Errorf("decode target of event %d: %w", e.Seq, err)
		}
	}
	return nil
}

// UnclosedRequest is a request in a final state whose audit trail lacks an
// event it must have.
type UnclosedRequest struct {
	ID    string
	State actions.State
	// Missing are the kinds of the events that are not in the log.
	Missing []actions.EventKind
}

// UnclosedRequests returns up to limit requests, by ID, that are in a final
// state but lack their `created` event or the event that closed them (see
// actions.ClosingEvent) in the audit log. It fails only when the database
// cannot be read.
func (s *Store) UnclosedRequests(ctx context.Context, limit int) ([]UnclosedRequest, error) {
	var closing strings.Builder
	var finals, kinds []any
	kinds = append(kinds, string(actions.EventCreated))
	for _, st := range actions.FinalStates() {
		fmt.Fprintf(&closing, " WHEN '%s' THEN '%s'", st, actions.ClosingEvent(st))
		finals = append(finals, string(st))
		if k := string(actions.ClosingEvent(st)); !slices.Contains(kinds, any(k)) {
			kinds = append(kinds, k)
		}
	}
	closingKind := `CASE r.state` + closing.String() + ` END`
	inFinals := `r.state IN (?` + strings.Repeat(", ?", len(finals)-1) + `)`
	// The same question, asked the way each database answers fastest
	// (measured over 143,000 requests): PostgreSQL merges one join over the
	// (request_id, event) index, twice as fast as probing it per request;
	// SQLite probes it per request, three times as fast as its join.
	var q string
	var args []any
	if s.dialect == DialectPostgres {
		q = `SELECT r.id, r.state,
			sum(CASE WHEN e.event = 'created' THEN 1 ELSE 0 END) > 0 AS has_created,
			sum(CASE WHEN e.event = ` + closingKind + ` THEN 1 ELSE 0 END) > 0 AS has_closing`
		q = `SELECT id, state, has_created, has_closing FROM (` + q + `
			FROM requests r LEFT JOIN audit_events e ON e.request_id = r.id AND e.event IN (?` + strings.Repeat(", ?", len(kinds)-1) + `)
			WHERE ` + inFinals + ` GROUP BY r.id, r.state
		) x WHERE NOT (has_created AND has_closing) ORDER BY id LIMIT ?`
		args = append(append(kinds, finals...), limit)
	} else {
		q = `SELECT id, state, has_created, has_closing FROM (
			SELECT r.id, r.state,
				EXISTS (SELECT 1 FROM audit_events e WHERE e.request_id = r.id AND e.event = 'created') AS has_created,
				EXISTS (SELECT 1 FROM audit_events e WHERE e.request_id = r.id AND e.event = ` + closingKind + `) AS has_closing
			FROM requests r WHERE ` + inFinals + `
		) x WHERE NOT (has_created AND has_closing) ORDER BY id LIMIT ?`
		args = append(finals, limit)
	}
	rows, err := s.db.WithContext(ctx).Raw(q, args...).Rows()
	if err != nil {
		return nil, fmt.Errorf("check requests against the audit log: %w", err)
	}
	defer rows.Close()
	var out []UnclosedRequest
	for rows.Next() {
		var u UnclosedRequest
		var created, closing bool
		if err := rows.Scan(&u.ID, &u.State, &created, &closing); err != nil {
			return nil, fmt.Errorf("check requests against the audit log: %w", err)
		}
		if !created {
			u.Missing = append(u.Missing, actions.EventCreated)
		}
		if !closing {
			u.Missing = append(u.Missing, actions.ClosingEvent(u.State))
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check requests against the audit log: %w", err)
	}
	return out, nil
}
