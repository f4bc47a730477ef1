package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mfadesk/mfadesk/actions"
)

// StreamEvents calls yield for every audit event with afterSeq < seq <=
// upToSeq, in seq order, from one query read row by row, so memory does
// not grow with the log. It holds a database connection while yield runs:
// yield must not call the Store. yield's error stops the walk and is
// returned unchanged; other errors say the log could not be read or decoded.
func (s *Store) StreamEvents(ctx context.Context, afterSeq, upToSeq int64, yield func(actions.Event) error) error {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT seq, "time", request_id, event, actor, action, targets, target, method, outcome, detail, prev_hash, hash
		FROM audit_events WHERE seq > ? AND seq <= ? ORDER BY seq`, afterSeq, upToSeq).Rows()
	if err != nil {
		return fmt.Errorf("read audit events after %d: %w", afterSeq, err)
	}
	defer rows.Close()
	var (
		e               actions.Event
		us              int64
		kind, action    string
		targets, target sql.NullString
	)
	for rows.Next() {
		e = actions.Event{}
		if err := rows.Scan(&e.Seq, &us, &e.RequestID, &kind, &e.Actor, &action, &targets, &target,
			&e.Method, &e.Outcome, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return fmt.Errorf("read audit events after %d: %w", afterSeq, err)
		}
		e.Time, e.Kind, e.Action = fromMicros(us), actions.EventKind(kind), actions.Action(action)
		if targets.Valid {
			if err := json.Unmarshal([]byte(targets.String), &e.Targets); err != nil {
				return fmt.Errorf("decode targets of event %d: %w", e.Seq, err)
			}
		}
		if target.Valid {
			e.Target = new(actions.TargetRef)
			if err := json.Unmarshal([]byte(target.String), e.Target); err != nil {
				return fmt.Errorf("decode target of event %d: %w", e.Seq, err)
			}
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
	var cases strings.Builder
	var finals []any
	for _, st := range actions.FinalStates() {
		fmt.Fprintf(&cases, " WHEN '%s' THEN '%s'", st, actions.ClosingEvent(st))
		finals = append(finals, string(st))
	}
	q := `SELECT id, state, has_created, has_closing FROM (
		SELECT r.id, r.state,
			EXISTS (SELECT 1 FROM audit_events e WHERE e.request_id = r.id AND e.event = 'created') AS has_created,
			EXISTS (SELECT 1 FROM audit_events e WHERE e.request_id = r.id AND e.event = CASE r.state` + cases.String() + ` END) AS has_closing
		FROM requests r WHERE r.state IN (?` + strings.Repeat(", ?", len(finals)-1) + `)
	) x WHERE NOT (has_created AND has_closing) ORDER BY id LIMIT ?`
	rows, err := s.db.WithContext(ctx).Raw(q, append(finals, limit)...).Rows()
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
