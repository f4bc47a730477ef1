package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/mfadesk/mfadesk/actions"
)

// verificationRow mirrors migrations/0006_verification.sql and
// 0009_verifier_identity.sql.
type verificationRow struct {
	RequestID       string        `gorm:"column:request_id;primaryKey"`
	Idx             int           `gorm:"column:idx;primaryKey;autoIncrement:false"`
	TargetIdx       int           `gorm:"column:target_idx"`
	Method          string        `gorm:"column:method"`
	State           string        `gorm:"column:state"`
	VerifierSlackID string        `gorm:"column:verifier_slack_id"`
	VerifierEmail   string        `gorm:"column:verifier_email"`
	VerifierDirID   string        `gorm:"column:verifier_directory_id"`
	StartedUS       int64         `gorm:"column:started_at"`
	DeadlineUS      int64         `gorm:"column:deadline_at"`
	DecidedUS       sql.NullInt64 `gorm:"column:decided_at"`
	Detail          string        `gorm:"column:detail"`
	Challenge       string        `gorm:"column:challenge"`
}

func (verificationRow) TableName() string { return "request_verifications" }

func newVerificationRow(id string, i int, v actions.Verification) verificationRow {
	return verificationRow{
		RequestID: id, Idx: i, TargetIdx: v.Target, Method: string(v.Method), State: string(v.State),
		VerifierSlackID: clean(v.Verifier.SlackID), VerifierEmail: clean(v.Verifier.Email),
		VerifierDirID: clean(v.Verifier.DirectoryID),
		StartedUS:     micros(v.StartedAt), DeadlineUS: micros(v.Deadline), DecidedUS: nullMicros(v.DecidedAt),
		Detail: clean(v.Detail), Challenge: clean(v.Challenge),
	}
}

func (row verificationRow) verification() actions.Verification {
	return actions.Verification{
		Target: row.TargetIdx, Method: actions.VerifyMethod(row.Method), State: actions.VerificationState(row.State),
		Verifier:  actions.Person{SlackID: row.VerifierSlackID, Email: row.VerifierEmail, DirectoryID: row.VerifierDirID},
		StartedAt: fromMicros(row.StartedUS), Deadline: fromMicros(row.DeadlineUS), DecidedAt: fromNullMicros(row.DecidedUS),
		Detail: row.Detail, Challenge: row.Challenge,
	}
}

// joinMethods stores a request's verification methods as one column.
func joinMethods(ms []actions.VerifyMethod) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = string(m)
	}
	return strings.Join(parts, ",")
}

func splitMethods(s string) []actions.VerifyMethod {
	if s == "" {
		return nil
	}
	var out []actions.VerifyMethod
	for _, p := range strings.Split(s, ",") {
		out = append(out, actions.VerifyMethod(p))
	}
	return out
}

// loadVerifications adds the verifications of the requests in byID.
func loadVerifications(db *gorm.DB, ids []string, byID map[string]*actions.Request) error {
	var rows []verificationRow
	if err := db.Where("request_id IN ?", ids).Order("request_id, idx").Find(&rows).Error; err != nil {
		return fmt.Errorf("load verifications: %w", err)
	}
	for _, v := range rows {
		r := byID[v.RequestID]
		r.Verifications = append(r.Verifications, v.verification())
	}
	return nil
}

// persistVerifications stores what next changed in cur's verifications: new
// ones are inserted, and a waiting one may become verified or failed (an
// update guarded by state = 'waiting'). A decided verification never
// changes, and none is dropped: either is actions.ErrDuplicate.
func persistVerifications(tx *gorm.DB, cur, next actions.Request) error {
	if len(next.Verifications) < len(cur.Verifications) {
		return fmt.Errorf("request %s: the update dropped verifications: %w", cur.ID, actions.ErrDuplicate)
	}
	for i, old := range cur.Verifications {
		nv := newVerificationRow(cur.ID, i, next.Verifications[i])
		ov := newVerificationRow(cur.ID, i, old)
		if nv == ov {
			continue
		}
		if old.State != actions.VerificationWaiting || nv.TargetIdx != ov.TargetIdx || nv.Method != ov.Method ||
			nv.VerifierSlackID != ov.VerifierSlackID || nv.StartedUS != ov.StartedUS {
			return fmt.Errorf("request %s: verification %d was decided already: %w", cur.ID, i, actions.ErrDuplicate)
		}
		up := tx.Table(verificationRow{}.TableName()).
			Where("request_id = ? AND idx = ? AND state = ?", cur.ID, i, string(actions.VerificationWaiting)).
			Updates(map[string]any{"state": nv.State, "decided_at": nv.DecidedUS, "detail": nv.Detail, "challenge": nv.Challenge})
		if up.Error != nil {
			return fmt.Errorf("store verification %d: %w", i, up.Error)
		}
		if up.RowsAffected != 1 {
			return fmt.Errorf("request %s: verification %d was decided already: %w", cur.ID, i, actions.ErrDuplicate)
		}
	}
	for i := len(cur.Verifications); i < len(next.Verifications); i++ {
		row := newVerificationRow(cur.ID, i, next.Verifications[i])
		err := tx.Create(&row).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return fmt.Errorf("request %s: %s was tried on target %d already: %w", cur.ID, row.Method, row.TargetIdx, actions.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("store verification: %w", err)
		}
	}
	return nil
}
