package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mfadesk/mfadesk/actions"
)

// terminalStates are the states a request ends in, for SQL.
var terminalStates = func() (out []string) {
	for _, st := range actions.FinalStates() {
		out = append(out, string(st))
	}
	return out
}()

// afterEnded is the SQL condition that a row's after_request is empty or
// names a request that has ended.
const afterEnded = "(after_request = '' OR after_request IN (SELECT e.id FROM requests e WHERE e.state IN ?))"

// insertNotices stores notices as rows from index from on.
func insertNotices(tx *gorm.DB, id string, from int, ns []actions.Notice) error {
	err := insertRows(tx, id, from, ns, newNoticeRow)
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("request %s owes that notice already: %w", id, actions.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store notices: %w", err)
	}
	return nil
}

// persistNotices writes the notices next adds to cur's and the changes to
// cur's; a notice is never dropped, nor changed once final.
func persistNotices(tx *gorm.DB, cur, next actions.Request) error {
	if len(next.Notices) < len(cur.Notices) {
		return fmt.Errorf("request %s: the update dropped notices, which are kept once owed", cur.ID)
	}
	for k, old := range cur.Notices {
		n := next.Notices[k]
		was, now := newNoticeRow(cur.ID, k, old), newNoticeRow(cur.ID, k, n)
		if was == now {
			continue
		}
		if was.To != now.To || was.TargetIdx != now.TargetIdx || was.AfterRequest != now.AfterRequest || was.CreatedUS != now.CreatedUS {
			return fmt.Errorf("request %s: notice %d changed whom it is for", cur.ID, k)
		}
		if old.State.Final() {
			return fmt.Errorf("request %s: notice %d is %s already: %w", cur.ID, k, old.State, actions.ErrDuplicate)
		}
		res := tx.Table(noticeRow{}.TableName()).Where("request_id = ? AND idx = ? AND state = ?", cur.ID, k, string(old.State)).
			Updates(map[string]any{
				"state": now.State, "recipient": now.Recipient, "detail": now.Detail, "ref": now.Ref, "attempts": now.Attempts,
				"not_before": now.NotBeforeUS, "owner": now.Owner, "claim_until": now.UntilUS, "updated_at": now.UpdatedUS,
			})
		if res.Error != nil {
			return fmt.Errorf("store notice %d: %w", k, res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("request %s: notice %d changed concurrently: %w", cur.ID, k, actions.ErrConflict)
		}
	}
	return insertNotices(tx, cur.ID, len(cur.Notices), next.Notices[len(cur.Notices):])
}

// filterMore adds RequestFilter's Actions, CreatedAfter, ExcludeStates,
// Target and Contains to q.
func filterMore(tx *gorm.DB, q *gorm.DB, f actions.RequestFilter) *gorm.DB {
	if len(f.Actions) > 0 {
		names := make([]string, len(f.Actions))
		for i, a := range f.Actions {
			names[i] = string(a)
		}
		q = q.Where("action IN ?", names)
	}
	if !f.CreatedAfter.IsZero() {
		q = q.Where("created_at >= ?", ceilMicros(f.CreatedAfter))
	}
	if len(f.ExcludeStates) > 0 {
		states := make([]string, len(f.ExcludeStates))
		for i, st := range f.ExcludeStates {
			states[i] = string(st)
		}
		q = q.Where("state NOT IN ?", states)
	}
	if t := f.Target; t != nil {
		// Empty identifiers match nothing: '' is never compared.
		sub := tx.Session(&gorm.Session{NewDB: true}).Table(targetRow{}.TableName()).Select("request_id").
			Where("(slack_id = ? AND slack_id <> '') OR (lower(email) = ? AND email <> '') OR (directory_id = ? AND directory_id <> '')",
				t.SlackID, strings.ToLower(t.Email), t.DirectoryID)
		q = q.Where("id IN (?)", sub)
	}
	if f.Contains != "" {
		q = q.Where("contains_request = ?", f.Contains)
	}
	return q
}

// UpdateCreate is Update whose fn may also return new requests: they are
// stored with their targets (and notices) after the change, and then every
// event is appended, all in one transaction. A new request whose ID or
// SubmissionKey exists rolls everything back with an error wrapping
// actions.ErrDuplicate; fn's own error is returned unchanged.
func (s *Store) UpdateCreate(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Request, []actions.Event, error)) (actions.Request, []actions.Request, error) {
	var (
		out   actions.Request
		made  []actions.Request
		fnErr error
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		cur, err := loadRequest(tx, "id = ?", id, true)
		if err != nil {
			return err
		}
		next, created, events, err := fn(cur)
		if err != nil {
			fnErr = err
			return err
		}
		if out, err = persist(tx, cur, next, nil); err != nil {
			return err
		}
		made = made[:0]
		for _, r := range created {
			if err := createRequest(tx, r); err != nil {
				return err
			}
			made = append(made, normalize(r))
		}
		return appendEvents(tx, events)
	})
	switch {
	case fnErr != nil:
		return actions.Request{}, nil, fnErr
	case err != nil:
		return actions.Request{}, nil, fmt.Errorf("update request %s: %w", id, unavailable(err))
	}
	return out, made, nil
}

// ClaimNotice finds a notice a courier may take — due with not_before
// passed, or claimed or posting with a claim that lapsed before now — whose
// after_request is empty or has ended, least recently changed first; locks
// its request (on PostgreSQL, skipping requests locked by others), and calls
// fn with the request and the notice's index. fn's change is written like
// Update's. It returns an error wrapping actions.ErrNotFound when no notice
// is waiting, and fn's error unchanged.
func (s *Store) ClaimNotice(ctx context.Context, now time.Time, fn func(actions.Request, int) (actions.Request, []actions.Event, error)) (actions.Request, int, error) {
	var (
		out   actions.Request
		idx   int
		fnErr error
	)
	at := micros(now)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var cands []noticeRow
		err := tx.Where("((state = ? AND not_before <= ?) OR (state IN ? AND claim_until <= ?)) AND "+afterEnded,
			string(actions.NoticeDue), at, []string{string(actions.NoticeClaimed), string(actions.NoticePosting)}, at, terminalStates).
			Order("updated_at, request_id, idx").Limit(8).Find(&cands).Error
		if err != nil {
			return err
		}
		for _, c := range cands {
			var rows []requestRow
			// The request's lock guards its notices; a request another
			// transaction holds is skipped, not waited for.
			err := tx.Where("id = ?", c.RequestID).
				Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked}).
				Find(&rows).Error
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				continue
			}
			loaded, err := complete(tx, rows)
			if err != nil {
				return err
			}
			cur := loaded[0]
			next, events, err := fn(cur, c.Idx)
			if err != nil {
				fnErr = err
				return err
			}
			idx = c.Idx
			out, err = persist(tx, cur, next, events)
			return err
		}
		return actions.ErrNotFound
	})
	switch {
	case fnErr != nil:
		return actions.Request{}, 0, fnErr
	case err != nil:
		return actions.Request{}, 0, fmt.Errorf("claim notice: %w", unavailable(err))
	}
	return out, idx, nil
}

// CreateRequestIf is CreateRequest that first, in the same transaction,
// calls check with a way to list requests (as ListRequests does); check's
// error rolls everything back and is returned unchanged. Calls that share a
// key wait for each other (PostgreSQL: transaction-level advisory locks,
// taken in key order; SQLite: the write transaction), so that two
// submissions cannot both pass a check that only one of them should.
func (s *Store) CreateRequestIf(ctx context.Context, r actions.Request, events []actions.Event, keys []string,
	check func(list func(actions.RequestFilter) ([]actions.Request, error)) error) error {
	if r.ID == "" {
		return errors.New("create request: empty request ID")
	}
	var checkErr error
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if s.dialect == DialectPostgres {
			sorted := slices.Clone(keys)
			slices.Sort(sorted)
			for _, k := range slices.Compact(sorted) {
				if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext(?))`, "mfadesk.create."+k).Error; err != nil {
					return fmt.Errorf("lock %s: %w", k, err)
				}
			}
		}
		if err := check(func(f actions.RequestFilter) ([]actions.Request, error) { return listRequests(tx, f) }); err != nil {
			checkErr = err
			return err
		}
		if err := createRequest(tx, r); err != nil {
			return err
		}
		return appendEvents(tx, events)
	})
	switch {
	case checkErr != nil:
		return checkErr
	case err != nil:
		return fmt.Errorf("create request %s: %w", r.ID, unavailable(err))
	}
	return nil
}

var _ actions.GuardedCreator = (*Store)(nil)
