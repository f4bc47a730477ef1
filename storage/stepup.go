package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/mfadesk/mfadesk/actions"
)

var _ actions.StepUpStore = (*Store)(nil)

// stepUpRow mirrors migrations/0004_stepup.sql.
type stepUpRow struct {
	ID                  string        `gorm:"column:id;primaryKey"`
	TokenHash           string        `gorm:"column:token_hash"`
	RequestID           string        `gorm:"column:request_id"`
	ApproverSlackID     string        `gorm:"column:approver_slack_id"`
	ApproverEmail       string        `gorm:"column:approver_email"`
	ApproverDirectoryID string        `gorm:"column:approver_directory_id"`
	Action              string        `gorm:"column:action"`
	Targets             string        `gorm:"column:targets"`
	State               string        `gorm:"column:state"`
	BrowserHash         string        `gorm:"column:browser_hash"`
	CreatedUS           int64         `gorm:"column:created_at"`
	ExpiresUS           int64         `gorm:"column:expires_at"`
	StartedUS           sql.NullInt64 `gorm:"column:started_at"`
	FinishedUS          sql.NullInt64 `gorm:"column:finished_at"`
}

func (stepUpRow) TableName() string { return "step_ups" }

func (r stepUpRow) stepUp() actions.StepUp {
	return actions.StepUp{
		ID: r.ID, TokenHash: r.TokenHash, RequestID: r.RequestID,
		Approver:            actions.Person{SlackID: r.ApproverSlackID, Email: r.ApproverEmail},
		ApproverDirectoryID: r.ApproverDirectoryID, Action: actions.Action(r.Action), Targets: r.Targets,
		State: actions.StepUpState(r.State), BrowserHash: r.BrowserHash,
		CreatedAt: fromMicros(r.CreatedUS), ExpiresAt: fromMicros(r.ExpiresUS),
		StartedAt: fromNullMicros(r.StartedUS), FinishedAt: fromNullMicros(r.FinishedUS),
	}
}

// CreateStepUp stores a new issued attempt. An attempt with the same ID or
// token hash is an error wrapping actions.ErrDuplicate; an unknown request
// is an error.
func (s *Store) CreateStepUp(ctx context.Context, a actions.StepUp) error {
	row := stepUpRow{
		ID: a.ID, TokenHash: a.TokenHash, RequestID: a.RequestID,
		ApproverSlackID: a.Approver.SlackID, ApproverEmail: a.Approver.Email,
		ApproverDirectoryID: a.ApproverDirectoryID, Action: string(a.Action), Targets: a.Targets,
		State: string(actions.StepUpIssued), CreatedUS: micros(a.CreatedAt), ExpiresUS: micros(a.ExpiresAt),
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("create step-up: %w", actions.ErrDuplicate)
		}
		return fmt.Errorf("create step-up for request %s: %w", a.RequestID, err)
	}
	return nil
}

// StartStepUp marks the issued attempt with tokenHash started and bound to
// browserHash with one guarded UPDATE (state = issued, not expired), so
// that of two openings of one link exactly one succeeds. Errors wrap
// actions.ErrNotFound, ErrConflict (opened already) or ErrExpired, and then
// return the attempt found, if any.
func (s *Store) StartStepUp(ctx context.Context, tokenHash, browserHash string, now time.Time) (actions.StepUp, error) {
	if tokenHash == "" || browserHash == "" {
		return actions.StepUp{}, fmt.Errorf("start step-up: empty token or browser: %w", actions.ErrNotFound)
	}
	var out actions.StepUp
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&stepUpRow{}).
			Where("token_hash = ? AND state = ? AND expires_at > ?", tokenHash, string(actions.StepUpIssued), micros(now)).
			Updates(map[string]any{"state": string(actions.StepUpStarted), "browser_hash": browserHash, "started_at": micros(now)})
		if res.Error != nil {
			return res.Error
		}
		var rows []stepUpRow
		if err := tx.Where("token_hash = ?", tokenHash).Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return actions.ErrNotFound
		}
		out = rows[0].stepUp()
		switch {
		case res.RowsAffected == 1:
			return nil
		case out.State != actions.StepUpIssued:
			return actions.ErrConflict
		default:
			return actions.ErrExpired
		}
	})
	if err != nil {
		return out, fmt.Errorf("start step-up: %w", err)
	}
	return out, nil
}

// FinishStepUp marks started attempt id, bound to browserHash and started
// less than actions.StepUpSignInTTL before now, finished with one guarded
// UPDATE, so that of two callbacks exactly one succeeds. Errors wrap
// actions.ErrNotFound, ErrForbidden (another browser; nothing changes),
// ErrConflict (not started, or finished already) or ErrExpired (which
// finishes it), and then return the attempt found, if any.
func (s *Store) FinishStepUp(ctx context.Context, id, browserHash string, now time.Time) (actions.StepUp, error) {
	var out actions.StepUp
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var rows []stepUpRow
		if err := tx.Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
			return err
		}
		if id == "" || len(rows) == 0 {
			return actions.ErrNotFound
		}
		out = rows[0].stepUp()
		if out.State != actions.StepUpStarted {
			return actions.ErrConflict
		}
		if browserHash == "" || !actions.SameHash(out.BrowserHash, browserHash) {
			return actions.ErrForbidden
		}
		res := tx.Model(&stepUpRow{}).Where("id = ? AND state = ?", id, string(actions.StepUpStarted)).
			Updates(map[string]any{"state": string(actions.StepUpFinished), "finished_at": micros(now)})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return actions.ErrConflict
		}
		out.State, out.FinishedAt = actions.StepUpFinished, normalTime(now)
		return nil
	})
	switch {
	case err != nil:
		return out, fmt.Errorf("finish step-up: %w", err)
	case now.Sub(out.StartedAt) > actions.StepUpSignInTTL:
		return out, fmt.Errorf("finish step-up: started at %s: %w", out.StartedAt.Format(time.RFC3339), actions.ErrExpired)
	}
	return out, nil
}
