package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/mfadesk/mfadesk/actions/clip"
	"github.com/mfadesk/mfadesk/actions/digest"
)

// The digest ledger: one row per period, claimed by one replica under a
// lease and marked posted once (the claim protocol of actions/digest).

var _ digest.Store = (*Store)(nil)

// digestRow mirrors migrations/0002_digest.sql.
type digestRow struct {
	PeriodEnd    int64         `gorm:"column:period_end;primaryKey;autoIncrement:false"`
	PeriodStart  int64         `gorm:"column:period_start"`
	Status       string        `gorm:"column:status"`
	ClaimedBy    string        `gorm:"column:claimed_by"`
	LeaseUntilUS sql.NullInt64 `gorm:"column:lease_until"`
	Attempts     int           `gorm:"column:attempts"`
	Error        string        `gorm:"column:error"`
	SlackChannel string        `gorm:"column:slack_channel"`
	SlackTS      string        `gorm:"column:slack_ts"`
	HeadSeq      int64         `gorm:"column:head_seq"`
	HeadHash     string        `gorm:"column:head_hash"`
	CreatedUS    int64         `gorm:"column:created_at"`
	PostedUS     sql.NullInt64 `gorm:"column:posted_at"`
}

func (digestRow) TableName() string { return "digests" }

func (row digestRow) record() digest.Record {
	return digest.Record{
		Period: digest.Period{Start: fromMicros(row.PeriodStart), End: fromMicros(row.PeriodEnd)},
		Status: digest.Status(row.Status), Owner: row.ClaimedBy, LeaseUntil: fromNullMicros(row.LeaseUntilUS),
		Attempts: row.Attempts, Error: row.Error, Channel: row.SlackChannel, TS: row.SlackTS,
		Head: digest.Head{Seq: row.HeadSeq, Hash: row.HeadHash}, PostedAt: fromNullMicros(row.PostedUS),
	}
}

// maxDigestError bounds the error text kept in a digest row.
const maxDigestError = 1000

// lockDigests serializes digest claims across Stores: PostgreSQL takes a
// transaction-scoped advisory lock keyed by the schema; SQLite's write
// transaction holds the database already.
func (s *Store) lockDigests(tx *gorm.DB) error {
	if s.dialect != DialectPostgres {
		return nil
	}
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('mfadesk.digest.' || current_schema()))`).Error; err != nil {
		return fmt.Errorf("lock digests: %w", err)
	}
	return nil
}

// ClaimDigest implements digest.Ledger. Claims are serialized (PostgreSQL:
// an advisory lock; SQLite: the write transaction), the row's primary key
// is the period's end, and taking over an existing row is an UPDATE guarded
// by its status and lease, so two Stores never both hold a period. Errors:
// digest.ErrPosted, digest.ErrBusy and digest.ErrSuperseded, wrapped, with
// the record where there is one; others when the database fails.
func (s *Store) ClaimDigest(ctx context.Context, c digest.Claim) (digest.Record, error) {
	if c.Owner == "" {
		return digest.Record{}, errors.New("claim digest: empty owner")
	}
	end := micros(c.End)
	var (
		rec     digest.Record
		outcome error
	)
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.lockDigests(tx); err != nil {
			return err
		}
		var rows []digestRow
		if err := tx.Where("period_end = ?", end).Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return s.newDigest(tx, c, &rec, &outcome)
		}
		row := rows[0]
		rec = row.record()
		switch {
		case row.Status == string(digest.StatusPosted):
			outcome = digest.ErrPosted
			return nil
		case row.LeaseUntilUS.Valid && row.LeaseUntilUS.Int64 >= ceilMicros(c.Now):
			outcome = digest.ErrBusy
			return nil
		}
		res := tx.Model(&digestRow{}).
			Where("period_end = ? AND status <> ? AND (lease_until IS NULL OR lease_until < ?)", end, string(digest.StatusPosted), ceilMicros(c.Now)).
			Updates(map[string]any{"claimed_by": c.Owner, "lease_until": micros(c.LeaseUntil), "attempts": gorm.Expr("attempts + 1")})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			outcome = digest.ErrBusy
			return nil
		}
		rec.Owner, rec.LeaseUntil, rec.Attempts = c.Owner, fromMicros(micros(c.LeaseUntil)), row.Attempts+1
		return nil
	})
	if err != nil {
		return digest.Record{}, fmt.Errorf("claim digest: %w", err)
	}
	if outcome != nil {
		return rec, fmt.Errorf("claim digest: %w", outcome)
	}
	return rec, nil
}

// newDigest creates the row of a period not yet recorded, inside ClaimDigest.
func (s *Store) newDigest(tx *gorm.DB, c digest.Claim, rec *digest.Record, outcome *error) error {
	end := micros(c.End)
	var later int64
	if err := tx.Model(&digestRow{}).Where("period_end > ?", end).Count(&later).Error; err != nil {
		return err
	}
	if later > 0 {
		*outcome = digest.ErrSuperseded
		return nil
	}
	start := c.Start
	if start.IsZero() {
		var prev sql.NullInt64
		if err := tx.Raw(`SELECT MAX(period_end) FROM digests WHERE period_end < ?`, end).Scan(&prev).Error; err != nil {
			return err
		}
		start = c.FallbackStart
		if prev.Valid {
			start = fromMicros(prev.Int64)
		}
	}
	if micros(start) >= end {
		return fmt.Errorf("period %s – %s is empty", start.UTC().Format(time.RFC3339), c.End.UTC().Format(time.RFC3339))
	}
	row := digestRow{
		PeriodEnd: end, PeriodStart: micros(start), Status: string(digest.StatusPending), ClaimedBy: c.Owner,
		LeaseUntilUS: nullMicros(c.LeaseUntil), Attempts: 1, CreatedUS: micros(c.Now),
	}
	if err := tx.Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			*outcome = digest.ErrBusy
			return nil
		}
		return err
	}
	*rec = row.record()
	return nil
}

// guarded runs an UPDATE of the period's row that must hit it, else the
// claim was lost.
func (s *Store) guarded(ctx context.Context, what string, where string, args []any, set map[string]any) error {
	res := s.db.WithContext(ctx).Model(&digestRow{}).Where(where, args...).Updates(set)
	if res.Error != nil {
		return fmt.Errorf("%s: %w", what, unavailable(res.Error))
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("%s: %w", what, digest.ErrLeaseLost)
	}
	return nil
}

// DigestPosting implements digest.Ledger: a guarded UPDATE that fails with
// digest.ErrLeaseLost unless owner holds the period and it is not posted.
func (s *Store) DigestPosting(ctx context.Context, end time.Time, owner string, until time.Time) error {
	return s.guarded(ctx, "mark digest posting", "period_end = ? AND claimed_by = ? AND status IN ?",
		[]any{micros(end), owner, []string{string(digest.StatusPending), string(digest.StatusPosting)}},
		map[string]any{"status": string(digest.StatusPosting), "lease_until": micros(until)})
}

// DigestPosted implements digest.Ledger: a guarded UPDATE that fails with
// digest.ErrLeaseLost unless owner is posting the period.
func (s *Store) DigestPosted(ctx context.Context, end time.Time, owner string, p digest.Posted) error {
	return s.guarded(ctx, "mark digest posted", "period_end = ? AND claimed_by = ? AND status = ?",
		[]any{micros(end), owner, string(digest.StatusPosting)},
		map[string]any{
			"status": string(digest.StatusPosted), "slack_channel": p.Channel, "slack_ts": p.TS,
			"head_seq": p.Head.Seq, "head_hash": p.Head.Hash, "posted_at": micros(p.At), "lease_until": nil, "error": "",
		})
}

// DigestFailed implements digest.Ledger: a guarded UPDATE that fails with
// digest.ErrLeaseLost unless owner holds the period and it is not posted.
func (s *Store) DigestFailed(ctx context.Context, end time.Time, owner, reason string, retryAt time.Time) error {
	return s.guarded(ctx, "mark digest failed", "period_end = ? AND claimed_by = ? AND status <> ?",
		[]any{micros(end), owner, string(digest.StatusPosted)},
		map[string]any{"status": string(digest.StatusPending), "error": clip.Runes(reason, maxDigestError), "lease_until": micros(retryAt)})
}

// DigestNote implements digest.Ledger; a period with no row is not an error.
func (s *Store) DigestNote(ctx context.Context, end time.Time, note string) error {
	err := s.db.WithContext(ctx).Model(&digestRow{}).Where("period_end = ?", micros(end)).
		Update("error", clip.Runes(note, maxDigestError)).Error
	if err != nil {
		return fmt.Errorf("note on digest: %w", err)
	}
	return nil
}

// DueDigests implements digest.Ledger.
func (s *Store) DueDigests(ctx context.Context, now time.Time, limit int) ([]time.Time, error) {
	var ends []int64
	err := s.db.WithContext(ctx).Model(&digestRow{}).
		Where("status <> ? AND (lease_until IS NULL OR lease_until < ?)", string(digest.StatusPosted), ceilMicros(now)).
		Order("period_end").Limit(limit).Pluck("period_end", &ends).Error
	if err != nil {
		return nil, fmt.Errorf("due digests: %w", err)
	}
	out := make([]time.Time, len(ends))
	for i, e := range ends {
		out[i] = fromMicros(e)
	}
	return out, nil
}

// LatestDigest implements digest.Ledger.
func (s *Store) LatestDigest(ctx context.Context, t time.Time) (digest.Record, bool, error) {
	var rows []digestRow
	err := s.db.WithContext(ctx).Where("period_end <= ?", micros(t)).Order("period_end DESC").Limit(1).Find(&rows).Error
	if err != nil {
		return digest.Record{}, false, fmt.Errorf("latest digest: %w", err)
	}
	if len(rows) == 0 {
		return digest.Record{}, false, nil
	}
	return rows[0].record(), true, nil
}

// Digests returns the digest records, latest period first, at most limit.
// It fails only when the database cannot be read.
func (s *Store) Digests(ctx context.Context, limit int) ([]digest.Record, error) {
	var rows []digestRow
	if err := s.db.WithContext(ctx).Order("period_end DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list digests: %w", err)
	}
	out := make([]digest.Record, len(rows))
	for i, row := range rows {
		out[i] = row.record()
	}
	return out, nil
}
