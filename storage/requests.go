package storage

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mfadesk/mfadesk/actions"
)

// defaultListLimit is RequestFilter.Limit's meaning of 0.
const defaultListLimit = 500

// CreateRequest stores the new request r with its targets (and approvals,
// normally none) and appends events to the audit chain, in one transaction.
// When a request with r.ID or with r's non-empty SubmissionKey exists it
// stores nothing and returns an error wrapping actions.ErrDuplicate. r is
// stored as given, Version included; times are kept to the microsecond.
func (s *Store) CreateRequest(ctx context.Context, r actions.Request, events []actions.Event) error {
	if r.ID == "" {
		return errors.New("create request: empty request ID")
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := createRequest(tx, r); err != nil {
			return err
		}
		return appendEvents(tx, events)
	})
	if err != nil {
		return fmt.Errorf("create request %s: %w", r.ID, unavailable(err))
	}
	return nil
}

// createRequest inserts r with its targets, approvals and notices.
func createRequest(tx *gorm.DB, r actions.Request) error {
	row := newRequestRow(r)
	if err := tx.Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("a request with this ID or submission key exists: %w", actions.ErrDuplicate)
		}
		return err
	}
	if err := insertRows(tx, r.ID, 0, r.Targets, newTargetRow); err != nil {
		return fmt.Errorf("store targets: %w", err)
	}
	if err := insertNotices(tx, r.ID, 0, r.Notices); err != nil {
		return err
	}
	if err := insertRows(tx, r.ID, 0, r.Verifications, newVerificationRow); err != nil {
		return fmt.Errorf("store verifications: %w", err)
	}
	err := insertRows(tx, r.ID, 0, r.Approvals, newApprovalRow)
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("one approver listed twice: %w", actions.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store approvals: %w", err)
	}
	return nil
}

// insertRows stores items of request id in one INSERT, the k-th as
// row(id, from+k, item); with no items it runs no statement.
func insertRows[T, R any](tx *gorm.DB, id string, from int, items []T, row func(string, int, T) R) error {
	if len(items) == 0 {
		return nil
	}
	rows := make([]R, len(items))
	for k, it := range items {
		rows[k] = row(id, from+k, it)
	}
	return tx.Create(&rows).Error
}

// Request returns request id with its targets (and their results) in order
// and its approvals in the order they were given. It returns an error
// wrapping actions.ErrNotFound when there is no such request.
func (s *Store) Request(ctx context.Context, id string) (actions.Request, error) {
	var r actions.Request
	err := s.readTx(ctx, func(tx *gorm.DB) (err error) {
		r, err = loadRequest(tx, "id = ?", id, false)
		return err
	})
	if err != nil {
		return actions.Request{}, fmt.Errorf("load request %s: %w", id, unavailable(err))
	}
	return r, nil
}

// RequestBySubmissionKey returns the request stored for a form submission,
// fully loaded; an error wrapping actions.ErrNotFound when there is none
// (always for the empty key).
func (s *Store) RequestBySubmissionKey(ctx context.Context, key string) (actions.Request, error) {
	if key == "" {
		return actions.Request{}, fmt.Errorf("load request by submission key: empty key: %w", actions.ErrNotFound)
	}
	var r actions.Request
	err := s.readTx(ctx, func(tx *gorm.DB) (err error) {
		r, err = loadRequest(tx, "submission_key = ?", key, false)
		return err
	})
	if err != nil {
		return actions.Request{}, fmt.Errorf("load request by submission key: %w", unavailable(err))
	}
	return r, nil
}

// loadRequest reads the one request matching where, with its targets and
// approvals; forUpdate locks its row until the end of the transaction on
// PostgreSQL (SQLite's write transaction holds the database already). Not
// found is actions.ErrNotFound.
func loadRequest(db *gorm.DB, where string, arg any, forUpdate bool) (actions.Request, error) {
	q := db.Where(where, arg)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var row requestRow
	// Find with Limit, not First: First adds ORDER BY the primary key, and
	// reports a miss as an error gorm would also log.
	res := q.Limit(1).Find(&row)
	if res.Error != nil {
		return actions.Request{}, res.Error
	}
	if res.RowsAffected == 0 {
		return actions.Request{}, actions.ErrNotFound
	}
	rs, err := complete(db, []requestRow{row})
	if err != nil {
		return actions.Request{}, err
	}
	return rs[0], nil
}

// complete turns request rows into requests, loading the targets and
// approvals of all of them with one query each.
func complete(db *gorm.DB, rows []requestRow) ([]actions.Request, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	var targets []targetRow
	if err := db.Where("request_id IN ?", ids).
		Order("request_id, idx").Find(&targets).Error; err != nil {
		return nil, fmt.Errorf("load targets: %w", err)
	}
	var approvals []approvalRow
	if err := db.Where("request_id IN ?", ids).
		Order("request_id, idx").Find(&approvals).Error; err != nil {
		return nil, fmt.Errorf("load approvals: %w", err)
	}
	var notices []noticeRow
	if err := db.Where("request_id IN ?", ids).
		Order("request_id, idx").Find(&notices).Error; err != nil {
		return nil, fmt.Errorf("load notices: %w", err)
	}
	byID := make(map[string]*actions.Request, len(rows))
	out := make([]actions.Request, len(rows))
	for i, row := range rows {
		out[i] = row.request()
		byID[row.ID] = &out[i]
	}
	for _, t := range targets {
		r := byID[t.RequestID]
		if t.Idx != len(r.Targets) {
			return nil, fmt.Errorf("request %s: target %d missing", t.RequestID, len(r.Targets))
		}
		r.Targets = append(r.Targets, t.target())
	}
	for _, a := range approvals {
		r := byID[a.RequestID]
		r.Approvals = append(r.Approvals, a.approval())
	}
	for _, n := range notices {
		r := byID[n.RequestID]
		if n.Idx != len(r.Notices) {
			return nil, fmt.Errorf("request %s: notice %d missing", n.RequestID, len(r.Notices))
		}
		r.Notices = append(r.Notices, n.notice())
	}
	if err := loadVerifications(db, ids, byID); err != nil {
		return nil, err
	}
	return out, nil
}

// ListRequests returns the requests matching f, oldest first (by CreatedAt,
// then ID), fully loaded and read as of one moment: at most f.Limit of
// them, 500 when f.Limit is 0. ExpiresBefore compares with ExpiresAt as
// stored, to the microsecond. It fails only when the database cannot be
// read.
func (s *Store) ListRequests(ctx context.Context, f actions.RequestFilter) ([]actions.Request, error) {
	var out []actions.Request
	err := s.readTx(ctx, func(tx *gorm.DB) (err error) {
		out, err = listRequests(tx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", unavailable(err))
	}
	return out, nil
}

// listRequests is ListRequests within the transaction tx.
func listRequests(tx *gorm.DB, f actions.RequestFilter) ([]actions.Request, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultListLimit
	}
	q := tx.Model(&requestRow{})
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		q = q.Where("state IN ?", states)
	}
	if f.Requester != "" {
		q = q.Where("requester_slack_id = ?", f.Requester)
	}
	if !f.ExpiresBefore.IsZero() {
		q = q.Where("expires_at < ?", ceilMicros(f.ExpiresBefore))
	}
	q = filterMore(tx, q, f)
	var rows []requestRow
	if err := q.Order("created_at, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	return complete(tx, rows)
}

// CountOpen returns how many requests are pending, approved and running,
// for the open-requests gauge; a state with none is absent from the map.
// It fails only when the database cannot be read.
func (s *Store) CountOpen(ctx context.Context) (map[actions.State]int, error) {
	var rows []struct {
		State string
		N     int
	}
	err := s.db.WithContext(ctx).Model(&requestRow{}).Select("state, COUNT(*) AS n").
		Where("state IN ?", []string{string(actions.StatePending), string(actions.StateApproved), string(actions.StateRunning)}).
		Group("state").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count open requests: %w", err)
	}
	out := make(map[actions.State]int, len(rows))
	for _, r := range rows {
		out[actions.State(r.State)] = r.N
	}
	return out, nil
}
