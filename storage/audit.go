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

// eventBatch is how many audit events Events reads per query.
const eventBatch = 1000

// headID is the key of audit_head's one row.
const headID = 1

// appendEvents seals events into the audit chain after its head and inserts
// them, inside tx. It locks the head row first (PostgreSQL: SELECT … FOR
// UPDATE; SQLite: the write transaction holds the database), so appends from
// any number of Stores form one chain without gaps or forks. Events are
// never updated or deleted.
func appendEvents(tx *gorm.DB, events []actions.Event) error {
	if len(events) == 0 {
		return nil
	}
	var heads []headRow
	err := tx.Where("id = ?", headID).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Limit(1).Find(&heads).Error
	if err != nil {
		return fmt.Errorf("lock audit head: %w", err)
	}
	if len(heads) == 0 {
		return errors.New("lock audit head: no audit_head row: is the database migrated?")
	}
	head := heads[0]
	seq, hash := head.Seq, head.Hash
	rows := make([]eventRow, len(events))
	for i, e := range events {
		if e.Kind == "" {
			return fmt.Errorf("append audit event %d of %d: no event kind", i+1, len(events))
		}
		e.Seal(seq, hash)
		row, err := newEventRow(e)
		if err != nil {
			return fmt.Errorf("append audit event: %w", err)
		}
		rows[i] = row
		seq, hash = e.Seq, e.Hash
	}
	if err := tx.Create(&rows).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			// Not the caller's duplicate: the head and the log disagree.
			return fmt.Errorf("append audit events after %d: the log has that seq or hash already: %v", head.Seq, err)
		}
		return fmt.Errorf("append audit events: %w", err)
	}
	res := tx.Table(headRow{}.TableName()).Where("id = ? AND seq = ?", headID, head.Seq).
		Updates(map[string]any{"seq": seq, "hash": hash})
	if res.Error != nil {
		return fmt.Errorf("move audit head: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("move audit head: it moved from %d concurrently: %w", head.Seq, actions.ErrConflict)
	}
	return nil
}

// AppendEvents appends events that belong to no state change, such as a
// refused click, to the audit chain, in order, in one transaction. Each
// needs a Kind; Seq, PrevHash and Hash are set here (see actions.Event.Seal)
// and Time is kept to the microsecond. Nothing is appended when it fails.
func (s *Store) AppendEvents(ctx context.Context, events ...actions.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := s.tx(ctx, func(tx *gorm.DB) error { return appendEvents(tx, events) }); err != nil {
		return fmt.Errorf("append audit events: %w", unavailable(err))
	}
	return nil
}

// Events calls fn for every audit event with Seq > afterSeq and Time at or
// after since (the zero time: any), in Seq order. It reads the log in
// batches, holding no connection while fn runs, so fn may call the Store.
// fn's error stops the walk and is returned unchanged; other errors say
// that the log could not be read or decoded.
func (s *Store) Events(ctx context.Context, afterSeq int64, since time.Time, fn func(actions.Event) error) error {
	for {
		q := s.db.WithContext(ctx).Where("seq > ?", afterSeq)
		if !since.IsZero() {
			q = q.Where(`"time" >= ?`, ceilMicros(since))
		}
		var rows []eventRow
		if err := q.Order("seq").Limit(eventBatch).Find(&rows).Error; err != nil {
			return fmt.Errorf("read audit events after %d: %w", afterSeq, err)
		}
		for _, row := range rows {
			e, err := row.event()
			if err != nil {
				return fmt.Errorf("read audit events: %w", err)
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(rows) < eventBatch {
			return nil
		}
		afterSeq = rows[len(rows)-1].Seq
	}
}

// AuditHead returns the seq and hash of the last audit event: (0, "") when
// the log is empty. It fails when the database cannot be read or is not
// migrated.
func (s *Store) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	var heads []headRow
	if err := s.db.WithContext(ctx).Where("id = ?", headID).Limit(1).Find(&heads).Error; err != nil {
		return 0, "", fmt.Errorf("read audit head: %w", err)
	}
	if len(heads) == 0 {
		return 0, "", errors.New("read audit head: no audit_head row: is the database migrated?")
	}
	return heads[0].Seq, heads[0].Hash, nil
}
