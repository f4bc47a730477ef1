package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/mfadesk/mfadesk/actions"
)

// Update loads request id under a lock that excludes every other Update and
// ClaimNext of it, from any Store on the same database (PostgreSQL: SELECT …
// FOR UPDATE; SQLite: the write transaction), and calls fn with it. fn runs
// once (never again: the transaction is not retried), under the lock, so it
// must do no I/O. When fn returns an error nothing is written and Update
// returns that error unchanged. Otherwise it writes what fn changed — the
// state, decision, message, lease and times, new approvals, new target
// results, new caller verifications and the outcome of waiting ones — sets
// Version to the loaded one plus one, appends fn's events to the audit
// chain, all in one transaction, and returns the request as stored.
//
// Errors: actions.ErrNotFound (wrapped) when there is no request id;
// actions.ErrDuplicate (wrapped) when fn changes a target result already
// stored, adds an approval by someone who approved already, changes or
// drops a decided verification, or tries a method on a target twice —
// nothing is written then. fn may not change what a request never changes after it is
// made (its ID, requester, action, reason, ticket, targets, creation time,
// approvals needed, manual flag, submission key) nor drop approvals; Update
// fails without writing when it does.
func (s *Store) Update(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	var (
		out   actions.Request
		fnErr error
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		cur, err := loadRequest(tx, "id = ?", id, true)
		if err != nil {
			return err
		}
		next, events, err := fn(cur)
		if err != nil {
			fnErr = err
			return err
		}
		out, err = persist(tx, cur, next, events)
		return err
	})
	switch {
	case fnErr != nil:
		return actions.Request{}, fnErr
	case err != nil:
		return actions.Request{}, fmt.Errorf("update request %s: %w", id, unavailable(err))
	}
	return out, nil
}

// ClaimNext takes one request that needs an executor and is not a tracked
// manual step — approved, running with no lease (released), or, when
// takeOver is true, running with a lease that lapsed before now — least
// recently updated first, calls claim with it under the lock and stores
// claim's change like Update, in one transaction. On PostgreSQL a lapsed
// lease is taken over only when no live session holds its owner's liveness
// lock (HoldLiveness), and rows locked by another claimer or updater are
// skipped (FOR UPDATE SKIP LOCKED), not waited for; on SQLite claimers take
// turns. A containment request whose after_request has not ended is not
// taken. It returns an error wrapping actions.ErrNotFound when there is
// nothing to claim, and one wrapping claim's error when claim fails.
func (s *Store) ClaimNext(ctx context.Context, now time.Time, takeOver bool, claim func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	var out actions.Request
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var rows []requestRow
		q := tx.Where("NOT manual AND (state = ? OR (state = ? AND lease_until IS NULL)) AND "+afterEnded,
			string(actions.StateApproved), string(actions.StateRunning), terminalStates)
		if takeOver {
			lapsed := "lease_until < ?"
			if s.dialect == DialectPostgres {
				lapsed += " AND " + livenessCheck // the owner's process is gone (HoldLiveness)
			}
			q = tx.Where("NOT manual AND (state = ? OR (state = ? AND (lease_until IS NULL OR ("+lapsed+")))) AND "+afterEnded,
				string(actions.StateApproved), string(actions.StateRunning), ceilMicros(now), terminalStates)
		}
		err := q.Order("updated_at, created_at, id").Limit(1).
			Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Options: clause.LockingOptionsSkipLocked}).
			Find(&rows).Error
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return actions.ErrNotFound
		}
		loaded, err := complete(tx, rows)
		if err != nil {
			return err
		}
		cur := loaded[0]
		next, events, err := claim(cur.Clone())
		if err != nil {
			return err
		}
		out, err = persist(tx, cur, next, events)
		return err
	})
	if err != nil {
		return actions.Request{}, fmt.Errorf("claim next request: %w", unavailable(err))
	}
	return out, nil
}

// RenewLease extends owner's lease on running request id to until, with one
// guarded UPDATE that neither loads the request nor appends to the audit
// log, so that executors can renew every second. It returns an error
// wrapping actions.ErrLeaseLost when id is not running under owner's lease
// (another executor took it over, or it ended), and one wrapping
// actions.ErrUnavailable when the database could not be reached.
func (s *Store) RenewLease(ctx context.Context, id, owner string, until time.Time) error {
	res := s.db.WithContext(ctx).Table(requestRow{}.TableName()).
		Where("id = ? AND lease_owner = ? AND state = ?", id, owner, string(actions.StateRunning)).
		Update("lease_until", micros(until))
	if res.Error != nil {
		return fmt.Errorf("renew lease of request %s: %w", id, unavailable(res.Error))
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("renew lease of request %s: %w", id, actions.ErrLeaseLost)
	}
	return nil
}

// ReleaseAllLeases clears the lease of every running request that is not a
// tracked manual step, so that the next ClaimNext takes them at once, and
// returns how many it released. Only a process that knows it is the
// database's one executor may call it: `mfadesk serve` on SQLite, which
// holds the database's serve lock (LockServe), at start.
func (s *Store) ReleaseAllLeases(ctx context.Context) (int, error) {
	res := s.db.WithContext(ctx).Table(requestRow{}.TableName()).
		Where("NOT manual AND state = ? AND lease_owner <> ?", string(actions.StateRunning), "").
		Updates(map[string]any{"lease_owner": "", "lease_until": nil})
	if res.Error != nil {
		return 0, fmt.Errorf("release leases: %w", unavailable(res.Error))
	}
	return int(res.RowsAffected), nil
}

// persist writes the difference between cur, as loaded under the lock, and
// next, fn's result, with events; it returns next as stored.
func persist(tx *gorm.DB, cur, next actions.Request, events []actions.Event) (actions.Request, error) {
	if err := checkImmutable(cur, normalize(next)); err != nil {
		return actions.Request{}, err
	}
	for i := range next.Targets {
		if err := persistResult(tx, cur, next, i); err != nil {
			return actions.Request{}, err
		}
		if next.Targets[i].Privileged && !cur.Targets[i].Privileged {
			// A target seen holding an admin role stays privileged.
			err := tx.Table(targetRow{}.TableName()).Where("request_id = ? AND idx = ?", cur.ID, i).
				Update("privileged", true).Error
			if err != nil {
				return actions.Request{}, fmt.Errorf("mark target %d privileged: %w", i, err)
			}
		}
	}
	if err := persistNotices(tx, cur, next); err != nil {
		return actions.Request{}, err
	}
	if err := persistVerifications(tx, cur, next); err != nil {
		return actions.Request{}, err
	}
	for i := len(cur.Approvals); i < len(next.Approvals); i++ {
		row := newApprovalRow(cur.ID, i, next.Approvals[i])
		err := tx.Create(&row).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return actions.Request{}, fmt.Errorf("approval of request %s by %s: approved by them already: %w", cur.ID, row.ApproverSlackID, actions.ErrDuplicate)
		}
		if err != nil {
			return actions.Request{}, fmt.Errorf("store approval: %w", err)
		}
	}
	res := tx.Table(requestRow{}.TableName()).Where("id = ? AND version = ?", cur.ID, cur.Version).
		Updates(map[string]any{
			"state":               string(next.State),
			"expires_at":          micros(next.ExpiresAt),
			"updated_at":          micros(next.UpdatedAt),
			"decided_by_slack_id": clean(next.DecidedBy.SlackID),
			"decided_by_email":    clean(next.DecidedBy.Email),
			"decision_note":       clean(next.DecisionNote),
			"message":             clean(next.Message),
			"lease_owner":         next.LeaseOwner,
			"lease_until":         nullMicros(next.LeaseUntil),
			"version":             cur.Version + 1,
		})
	if res.Error != nil {
		return actions.Request{}, fmt.Errorf("store request: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		// The row is locked, so this means a writer that does not lock.
		return actions.Request{}, fmt.Errorf("request %s changed concurrently (version %d): %w", cur.ID, cur.Version, actions.ErrConflict)
	}
	if err := appendEvents(tx, events); err != nil {
		return actions.Request{}, err
	}
	next.Version = cur.Version + 1
	return normalize(next), nil
}

// persistResult stores target i's result when next gives it one that cur
// did not have. A stored result is never changed: the update is guarded by
// outcome IS NULL, and any difference is actions.ErrDuplicate.
func persistResult(tx *gorm.DB, cur, next actions.Request, i int) error {
	old, res := cur.Targets[i].Result, next.Targets[i].Result
	switch {
	case old == nil && res == nil:
		return nil
	case old != nil:
		if res == nil || !sameResult(*old, *res) {
			return fmt.Errorf("request %s: target %d (%s) has a result already: %w", cur.ID, i, cur.Targets[i].Email, actions.ErrDuplicate)
		}
		return nil
	}
	if res.Outcome == "" {
		return fmt.Errorf("request %s: target %d: result without an outcome", cur.ID, i)
	}
	up := tx.Table(targetRow{}.TableName()).Where("request_id = ? AND idx = ? AND outcome IS NULL", cur.ID, i).
		Updates(map[string]any{"outcome": string(res.Outcome), "detail": clean(res.Detail), "result_at": micros(res.At)})
	if up.Error != nil {
		return fmt.Errorf("store result of target %d: %w", i, up.Error)
	}
	if up.RowsAffected != 1 {
		return fmt.Errorf("request %s: target %d (%s) has a result already: %w", cur.ID, i, cur.Targets[i].Email, actions.ErrDuplicate)
	}
	return nil
}

func sameResult(a, b actions.TargetResult) bool {
	return a.Outcome == b.Outcome && clean(a.Detail) == clean(b.Detail) && normalTime(a.At).Equal(normalTime(b.At))
}

// checkImmutable fails when next, normalized, differs from cur in what a
// request never changes once made, or drops or alters an approval. A target
// may become privileged, never the other way.
func checkImmutable(cur, next actions.Request) error {
	bad := ""
	switch {
	case next.ID != cur.ID:
		bad = "ID"
	case next.Requester != cur.Requester:
		bad = "requester"
	case next.Action != cur.Action:
		bad = "action"
	case next.Reason != cur.Reason || next.Ticket != cur.Ticket:
		bad = "reason or ticket"
	case !next.CreatedAt.Equal(cur.CreatedAt):
		bad = "creation time"
	case next.ApprovalsNeeded != cur.ApprovalsNeeded:
		bad = "approvals needed"
	case next.Manual != cur.Manual:
		bad = "manual flag"
	case next.SubmissionKey != cur.SubmissionKey:
		bad = "submission key"
	case len(next.Targets) != len(cur.Targets):
		bad = "number of targets"
	case len(next.Approvals) < len(cur.Approvals):
		bad = "approvals (some were dropped)"
	case next.NotifyTarget != cur.NotifyTarget || next.NotifyManager != cur.NotifyManager:
		bad = "notify flags"
	case (next.Containment == nil) != (cur.Containment == nil) || next.Containment != nil && *next.Containment != *cur.Containment:
		bad = "containment"
	case joinMethods(next.Verify) != joinMethods(cur.Verify):
		bad = "verification methods"
	}
	for i := 0; bad == "" && i < len(cur.Targets); i++ {
		c, n := cur.Targets[i], next.Targets[i]
		if c.SlackID != n.SlackID || c.Email != n.Email || c.DirectoryID != n.DirectoryID || (c.Privileged && !n.Privileged) {
			bad = fmt.Sprintf("target %d", i)
		}
	}
	for i := 0; bad == "" && i < len(cur.Approvals); i++ {
		c, n := cur.Approvals[i], next.Approvals[i]
		if c.By != n.By || !c.At.Equal(n.At) {
			bad = fmt.Sprintf("approval %d", i)
		}
	}
	if bad != "" {
		return fmt.Errorf("request %s: the update changed its %s, which is fixed once stored", cur.ID, bad)
	}
	return nil
}
