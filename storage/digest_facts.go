package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
)

// The digest's numbers: SQL aggregates over the audit log and the
// requests, so that a digest of a million events reads a few rows.

// FirstEventTime implements digest.Source.
func (s *Store) FirstEventTime(ctx context.Context) (time.Time, error) {
	var first sql.NullInt64
	if err := s.db.WithContext(ctx).Raw(`SELECT MIN("time") FROM audit_events`).Scan(&first).Error; err != nil {
		return time.Time{}, fmt.Errorf("first audit event: %w", err)
	}
	return fromNullMicros(first), nil
}

// dayUS is a day in microseconds.
const dayUS = int64(24 * time.Hour / time.Microsecond)

// timeSQL is how the digest's queries see business hours and days: SQL
// expressions over an event's stored time (microseconds, UTC), built from
// the query's spans of constant UTC offset. The numbers are computed here,
// never user text, and are written into the SQL as integer literals.
type timeSQL struct {
	spans []digest.Span
	hours digest.BusinessHours
}

// local is col's wall-clock time in microseconds: col plus the offset of
// the span it falls in.
func (t timeSQL) local(col string) string {
	switch len(t.spans) {
	case 0:
		return col
	case 1:
		return fmt.Sprintf("(%s + %d)", col, t.spans[0].Offset.Microseconds())
	}
	var b strings.Builder
	b.WriteString("(CASE")
	for _, sp := range t.spans[:len(t.spans)-1] {
		fmt.Fprintf(&b, " WHEN %s < %d THEN %s + %d", col, ceilMicros(sp.End), col, sp.Offset.Microseconds())
	}
	fmt.Fprintf(&b, " ELSE %s + %d END)", col, t.spans[len(t.spans)-1].Offset.Microseconds())
	return b.String()
}

// day is the day number (days since 1970-01-01) of col's wall-clock date.
func (t timeSQL) day(col string) string { return fmt.Sprintf("(%s / %d)", t.local(col), dayUS) }

// offHours is a condition true when col is outside business hours. Day 0,
// 1970-01-01, was a Thursday: (day + 4) % 7 is the weekday, Sunday 0.
func (t timeSQL) offHours(col string) string {
	var days []string
	for d, on := range t.hours.Days {
		if on {
			days = append(days, strconv.Itoa(d))
		}
	}
	if len(days) == 0 {
		return "(1 = 1)"
	}
	l := t.local(col)
	return fmt.Sprintf("(NOT ((%s / %d + 4) %% 7 IN (%s) AND %s %% %d >= %d AND %s %% %d < %d))",
		l, dayUS, strings.Join(days, ", "), l, dayUS, t.hours.Open.Microseconds(), l, dayUS, t.hours.Close.Microseconds())
}

// humanEvents are the events a person causes by choice.
var humanEvents = []string{
	string(actions.EventCreated), string(actions.EventApproved), string(actions.EventDenied),
	string(actions.EventCancelled), string(actions.EventManualDone), string(actions.EventManualFailed),
}

// DigestFacts implements digest.Source: each count, list and total comes
// from one aggregating query (GROUP BY; COUNT(*) OVER () for the totals of
// cut lists), so that only what the digest shows leaves the database, all
// read in one snapshot. It fails only when the database cannot be read.
func (s *Store) DigestFacts(ctx context.Context, q digest.Query) (digest.Digest, error) {
	d := digest.Digest{Period: q.Period, Hours: q.Hours, Location: q.Hours.Loc()}
	from, to := ceilMicros(q.Period.Start), ceilMicros(q.Period.End)
	ts := timeSQL{spans: q.Hours.Spans(q.Period), hours: q.Hours}
	limit := max(q.Limit, 1)
	err := s.readTx(ctx, func(tx *gorm.DB) error {
		steps := []struct {
			what string
			fn   func() error
		}{
			{"head", func() error { return digestHead(tx, to, &d) }},
			{"counts", func() error { return digestCounts(tx, from, to, &d) }},
			{"people", func() error { return digestPeople(tx, from, to, limit, &d) }},
			{"closed", func() error { return digestClosed(tx, from, to, limit, &d) }},
			{"events", func() error { return digestEventLists(tx, from, to, limit, ts, &d) }},
			{"requests", func() error { return s.digestRequests(tx, from, to, limit, q, &d) }},
			{"daily", func() error { return digestDaily(tx, from, to, ts, &d) }},
			{"reports", func() error { return digestNotMe(tx, from, to, limit, &d) }},
		}
		for _, st := range steps {
			if err := st.fn(); err != nil {
				return fmt.Errorf("%s: %w", st.what, err)
			}
		}
		return nil
	})
	if err != nil {
		return digest.Digest{}, fmt.Errorf("digest facts: %w", err)
	}
	return d, nil
}

func digestHead(tx *gorm.DB, to int64, d *digest.Digest) error {
	var rows []struct {
		Seq  int64
		Hash string
	}
	if err := tx.Raw(`SELECT seq, hash FROM audit_events WHERE "time" < ? ORDER BY seq DESC LIMIT 1`, to).Scan(&rows).Error; err != nil {
		return err
	}
	if len(rows) > 0 {
		d.Head = digest.Head{Seq: rows[0].Seq, Hash: rows[0].Hash}
	}
	return nil
}

func digestCounts(tx *gorm.DB, from, to int64, d *digest.Digest) error {
	var rows []struct {
		Action, Event, Outcome string
		N                      int
	}
	err := tx.Raw(`SELECT action, event, outcome, COUNT(*) AS n FROM audit_events
		WHERE "time" >= ? AND "time" < ? GROUP BY action, event, outcome`, from, to).Scan(&rows).Error
	if err != nil {
		return err
	}
	by := map[actions.Action]*digest.ActionCount{}
	for _, r := range rows {
		d.Events += r.N
		a := by[actions.Action(r.Action)]
		if a == nil {
			a = &digest.ActionCount{Action: actions.Action(r.Action)}
			by[a.Action] = a
		}
		switch actions.EventKind(r.Event) {
		case actions.EventCreated:
			a.Requested += r.N
		case actions.EventApproved:
			a.Approvals += r.N
			d.Approvals += r.N
		case actions.EventRefused:
			a.Refused += r.N
		case actions.EventDenied:
			a.Denied += r.N
		case actions.EventExpired:
			a.Expired += r.N
		case actions.EventCancelled:
			a.Cancelled += r.N
		case actions.EventCompleted:
			switch actions.State(r.Outcome) {
			case actions.StateSucceeded:
				a.Succeeded += r.N
			case actions.StatePartiallyFailed:
				a.PartiallyFailed += r.N
			case actions.StateFailed:
				a.Failed += r.N
			}
		case actions.EventTargetResult:
			switch actions.Outcome(r.Outcome) {
			case actions.OutcomeOK:
				a.TargetsOK += r.N
			case actions.OutcomeFailed:
				a.TargetsFailed += r.N
			default:
				a.TargetsSkipped += r.N
			}
		}
	}
	order := actions.AllActions()
	rank := func(a actions.Action) int {
		if i := slices.Index(order, a); i >= 0 {
			return i
		}
		return len(order)
	}
	for _, a := range by {
		if *a == (digest.ActionCount{Action: a.Action}) {
			continue // only started or manual events: nothing to count
		}
		d.Actions = append(d.Actions, *a)
	}
	slices.SortFunc(d.Actions, func(x, y digest.ActionCount) int {
		if c := rank(x.Action) - rank(y.Action); c != 0 {
			return c
		}
		return strings.Compare(string(x.Action), string(y.Action))
	})
	return nil
}

func digestPeople(tx *gorm.DB, from, to int64, limit int, d *digest.Digest) error {
	var reqs []struct {
		Actor    string
		N, Total int
	}
	err := tx.Raw(`SELECT actor, COUNT(*) AS n, COUNT(*) OVER () AS total FROM audit_events
		WHERE event = ? AND "time" >= ? AND "time" < ?
		GROUP BY actor ORDER BY n DESC, actor LIMIT ?`, string(actions.EventCreated), from, to, limit).Scan(&reqs).Error
	if err != nil {
		return err
	}
	for _, r := range reqs {
		d.Requesters.Items = append(d.Requesters.Items, digest.PersonCount{SlackID: r.Actor, Count: r.N})
		d.Requesters.Total = r.Total
	}
	var apprs []struct {
		Actor                   string
		Approved, Denied, Total int
	}
	err = tx.Raw(`SELECT actor,
			SUM(CASE WHEN event = ? THEN 1 ELSE 0 END) AS approved,
			SUM(CASE WHEN event = ? THEN 1 ELSE 0 END) AS denied,
			COUNT(*) OVER () AS total
		FROM audit_events WHERE event IN ? AND "time" >= ? AND "time" < ?
		GROUP BY actor ORDER BY COUNT(*) DESC, actor LIMIT ?`,
		string(actions.EventApproved), string(actions.EventDenied),
		[]string{string(actions.EventApproved), string(actions.EventDenied)}, from, to, limit).Scan(&apprs).Error
	if err != nil {
		return err
	}
	for _, a := range apprs {
		d.Approvers.Items = append(d.Approvers.Items, digest.ApproverCount{SlackID: a.Actor, Approved: a.Approved, Denied: a.Denied})
		d.Approvers.Total = a.Total
	}
	var pairs []struct {
		Requester, Approver string
		N                   int
	}
	// The requester of each approval by a lookup on requests' key: with a
	// join, the planner would hash every request there is for a week's few
	// thousand approvals.
	err = tx.Raw(`SELECT requester, approver, COUNT(*) AS n FROM (
			SELECT (SELECT r.requester_slack_id FROM requests r WHERE r.id = e.request_id) AS requester, e.actor AS approver
			FROM audit_events e WHERE e.event = ? AND e."time" >= ? AND e."time" < ?) x
		GROUP BY requester, approver ORDER BY n DESC, requester, approver LIMIT ?`,
		string(actions.EventApproved), from, to, limit).Scan(&pairs).Error
	if err != nil {
		return err
	}
	for _, p := range pairs {
		d.Pairs = append(d.Pairs, digest.Pair{Requester: p.Requester, Approver: p.Approver, Count: p.N})
	}
	return nil
}

func digestClosed(tx *gorm.DB, from, to int64, limit int, d *digest.Digest) error {
	var rows []struct {
		RequestID, Event, Actor, Detail string
		Time                            int64
		Action, Requester, Reason       string
		Total                           int
	}
	err := tx.Raw(`SELECT e.request_id, e.event, e.actor, e.detail, e."time" AS time,
			r.action, r.requester_slack_id AS requester, r.reason, COUNT(*) OVER () AS total
		FROM audit_events e JOIN requests r ON r.id = e.request_id
		WHERE e.event IN ? AND e."time" >= ? AND e."time" < ?
		ORDER BY e."time" DESC, e.seq DESC LIMIT ?`,
		[]string{string(actions.EventDenied), string(actions.EventExpired), string(actions.EventCancelled)},
		from, to, limit).Scan(&rows).Error
	if err != nil {
		return err
	}
	for _, r := range rows {
		c := digest.Closed{
			RequestID: r.RequestID, Action: actions.Action(r.Action), Requester: r.Requester, By: r.Actor,
			Reason: r.Reason, Note: r.Detail, At: fromMicros(r.Time),
		}
		switch actions.EventKind(r.Event) {
		case actions.EventDenied:
			c.State = actions.StateDenied
		case actions.EventExpired:
			c.State, c.By = actions.StateExpired, ""
		default:
			c.State = actions.StateCancelled
		}
		d.Closed.Items = append(d.Closed.Items, c)
		d.Closed.Total = r.Total
	}
	return nil
}

// eventRowLite is an audit event as the digest's lists read it.
type eventRowLite struct {
	RequestID, Event, Actor, Action string
	Target                          sql.NullString
	Detail                          string
	Time                            int64
	Total                           int
}

func digestEventLists(tx *gorm.DB, from, to int64, limit int, ts timeSQL, d *digest.Digest) error {
	list := func(where string, args ...any) ([]eventRowLite, error) {
		var rows []eventRowLite
		args = append([]any{from, to}, args...)
		err := tx.Raw(`SELECT request_id, event, actor, action, target, detail, "time" AS time, COUNT(*) OVER () AS total
			FROM audit_events WHERE "time" >= ? AND "time" < ? AND `+where+`
			ORDER BY "time" DESC, seq DESC LIMIT ?`, append(args, limit)...).Scan(&rows).Error
		return rows, err
	}
	fails, err := list(`event = ? AND outcome = ?`, string(actions.EventTargetResult), string(actions.OutcomeFailed))
	if err != nil {
		return fmt.Errorf("failures: %w", err)
	}
	for _, r := range fails {
		f := digest.Failure{RequestID: r.RequestID, Action: actions.Action(r.Action), Detail: r.Detail, At: fromMicros(r.Time)}
		if r.Target.Valid {
			_ = json.Unmarshal([]byte(r.Target.String), &f.Target) // a bad one shows as blank
		}
		d.Failures.Items = append(d.Failures.Items, f)
		d.Failures.Total = r.Total
	}
	refused, err := list(`event = ?`, string(actions.EventRefused))
	if err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	for _, r := range refused {
		d.Refused.Items = append(d.Refused.Items, digest.Refusal{
			RequestID: r.RequestID, Action: actions.Action(r.Action), Actor: r.Actor, Detail: r.Detail, At: fromMicros(r.Time),
		})
		d.Refused.Total = r.Total
	}
	off, err := list(`event IN ? AND `+ts.offHours(`"time"`), humanEvents)
	if err != nil {
		return fmt.Errorf("off hours: %w", err)
	}
	for _, r := range off {
		d.OffHours.Items = append(d.OffHours.Items, digest.Activity{
			RequestID: r.RequestID, Kind: actions.EventKind(r.Event), Actor: r.Actor, Action: actions.Action(r.Action), At: fromMicros(r.Time),
		})
		d.OffHours.Total = r.Total
	}
	return nil
}

func (s *Store) digestRequests(tx *gorm.DB, from, to int64, limit int, q digest.Query, d *digest.Digest) error {
	type flaggedRow struct {
		ID, Action, Requester, State string
		CreatedAt                    int64
		N, Privileged, Total         int
	}
	flagged := func(rows []flaggedRow) digest.List[digest.Flagged] {
		var l digest.List[digest.Flagged]
		for _, r := range rows {
			l.Items = append(l.Items, digest.Flagged{
				RequestID: r.ID, Action: actions.Action(r.Action), Requester: r.Requester, State: actions.State(r.State),
				Targets: r.N, CreatedAt: fromMicros(r.CreatedAt), Privileged: r.Privileged > 0,
			})
			l.Total = r.Total
		}
		return l
	}
	// Per request, its target counts by lookups on request_targets' key:
	// with a join, the planner would hash every target of every request
	// for a week's few thousand requests.
	const perRequest = `SELECT r.id, r.action, r.requester_slack_id AS requester, r.state, r.created_at,
			(SELECT COUNT(*) FROM request_targets t WHERE t.request_id = r.id) AS n,
			(SELECT COUNT(*) FROM request_targets t WHERE t.request_id = r.id AND t.privileged) AS privileged
		FROM requests r WHERE r.created_at >= ? AND r.created_at < ?`
	flaggedSQL := func(where string) string {
		return `SELECT id, action, requester, state, created_at, n, privileged, COUNT(*) OVER () AS total
			FROM (` + perRequest + `) x WHERE ` + where
	}
	var priv []flaggedRow
	if err := tx.Raw(flaggedSQL(`privileged > 0 ORDER BY created_at DESC, id LIMIT ?`), from, to, limit).
		Scan(&priv).Error; err != nil {
		return fmt.Errorf("privileged: %w", err)
	}
	for i := range priv {
		priv[i].N = priv[i].Privileged // privileged requests list their privileged targets
	}
	d.Privileged = flagged(priv)
	var many []flaggedRow
	if err := tx.Raw(flaggedSQL(`n >= ? ORDER BY n DESC, created_at DESC, id LIMIT ?`), from, to, max(q.ManyTargets, 1), limit).
		Scan(&many).Error; err != nil {
		return fmt.Errorf("many targets: %w", err)
	}
	d.ManyTargets = flagged(many)

	var rep []struct {
		SlackID, Email string
		N, Total       int
	}
	// The targets of the period's requests, request by request, for the
	// same reason. On PostgreSQL a LATERAL subquery behind OFFSET 0 (which
	// keeps the planner from turning it back into a join) does that;
	// SQLite joins that way anyway.
	targets := `JOIN request_targets t ON t.request_id = r.id`
	if s.dialect == DialectPostgres {
		targets = `CROSS JOIN LATERAL (SELECT t.request_id, t.slack_id, t.email FROM request_targets t WHERE t.request_id = r.id OFFSET 0) t`
	}
	err := tx.Raw(`SELECT t.slack_id, MAX(t.email) AS email, COUNT(DISTINCT t.request_id) AS n, COUNT(*) OVER () AS total
		FROM requests r `+targets+`
		WHERE r.created_at >= ? AND r.created_at < ?
		GROUP BY t.slack_id HAVING COUNT(DISTINCT t.request_id) >= ?
		ORDER BY n DESC, t.slack_id LIMIT ?`, from, to, max(q.RepeatedTarget, 1), limit).Scan(&rep).Error
	if err != nil {
		return fmt.Errorf("repeated targets: %w", err)
	}
	for _, r := range rep {
		d.Repeated.Items = append(d.Repeated.Items, digest.Repeated{SlackID: r.SlackID, Email: r.Email, Requests: r.N})
		d.Repeated.Total = r.Total
	}

	var open []struct {
		ID, Action, Requester string
		CreatedAt, UpdatedAt  int64
		Total                 int
	}
	err = tx.Raw(`SELECT id, action, requester_slack_id AS requester, created_at, updated_at, COUNT(*) OVER () AS total
		FROM requests WHERE manual AND state = ? AND created_at < ?
		ORDER BY created_at, id LIMIT ?`, string(actions.StateRunning), to, limit).Scan(&open).Error
	if err != nil {
		return fmt.Errorf("open manual steps: %w", err)
	}
	for _, r := range open {
		d.OpenManual.Items = append(d.OpenManual.Items, digest.OpenManual{
			RequestID: r.ID, Action: actions.Action(r.Action), Requester: r.Requester,
			CreatedAt: fromMicros(r.CreatedAt), Since: fromMicros(r.UpdatedAt),
		})
		d.OpenManual.Total = r.Total
	}
	return nil
}

func digestDaily(tx *gorm.DB, from, to int64, ts timeSQL, d *digest.Digest) error {
	var rows []struct {
		Day    int64
		Action string
		N      int
	}
	err := tx.Raw(`SELECT `+ts.day(`"time"`)+` AS day, action, COUNT(*) AS n FROM audit_events
		WHERE event = ? AND "time" >= ? AND "time" < ?
		GROUP BY 1, action ORDER BY 1, action`, string(actions.EventCreated), from, to).Scan(&rows).Error
	if err != nil {
		return err
	}
	loc := d.Hours.Loc()
	for _, r := range rows {
		y, m, dd := time.Unix(r.Day*86400, 0).UTC().Date()
		d.Daily = append(d.Daily, digest.DayCount{Day: time.Date(y, m, dd, 0, 0, 0, 0, loc), Action: actions.Action(r.Action), Count: r.N})
	}
	return nil
}
