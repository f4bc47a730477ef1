package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// ErrBadData: the database refused what was written because of the data
// itself (a value it cannot store), not because it was unreachable. Writing
// the same again fails the same way.
var ErrBadData = errors.New("the database cannot store the data")

// UnstorableDetail is the result detail of a target whose own result the
// database refused: the target is recorded as failed and never run again.
const UnstorableDetail = "the result could not be stored, so the target is recorded as failed and will not be run again; see the log for what the directory answered"

// recordUnstorable records target i of request id as failed with
// UnstorableDetail after its result was refused by the database (err wraps
// ErrBadData), so that the target is never run again. It returns the stored
// request.
func (e *Executor) recordUnstorable(ctx context.Context, id string, i int, err error, log *slog.Logger) (Request, error) {
	log.ErrorContext(ctx, "result refused by the database: recording the target as failed", "target", i, "error", err)
	res := TargetResult{Outcome: OutcomeFailed, Detail: UnstorableDetail}
	cur, serr := e.store.Update(context.WithoutCancel(ctx), id, func(cur Request) (Request, []Event, error) {
		if cur.LeaseOwner != e.opts.Owner {
			return cur, nil, ErrLeaseLost
		}
		return cur.RecordResult(i, res, e.opts.Now())
	})
	if serr != nil {
		return cur, fmt.Errorf("record target %d as failed: %w", i, serr)
	}
	return cur, nil
}
