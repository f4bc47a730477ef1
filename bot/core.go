package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// core is what the bot's jobs share: the service, Slack, the worker pool,
// the log and the approval channel.
type core struct {
	svc     Service
	slack   *slackAPI
	jobs    *jobs
	budget  *userBudget // each Slack user's share of the queue
	log     *slog.Logger
	channel string // the approval channel
}

// explain is the one place that turns an error into what a person reads.
// Domain errors explain themselves; anything else gets a reference, and its
// detail goes to the log only.
func (c *core) explain(ctx context.Context, err error, requestID string) string {
	var v *actions.ValidationError
	var d *actions.DecisionError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &v):
		lines := make([]string, len(v.Problems))
		for i, p := range v.Problems {
			lines[i] = "• " + blocks.Sentence(p.Message)
		}
		return strings.Join(lines, "\n")
	case errors.As(err, &d):
		return blocks.Sentence(d.Reason)
	case errors.Is(err, actions.ErrNotFound):
		if requestID != "" {
			return "There is no request `" + blocks.Esc(clip.Runes(requestID, 40)) + "`."
		}
		return "That was not found."
	case errors.Is(err, actions.ErrForbidden):
		return "You may not do that."
	}
	ref := newRef()
	c.log.ErrorContext(ctx, "request failed", "ref", ref, "request_id", requestID, "error", err)
	return "Something went wrong (reference `" + ref + "`). Please try again; if it keeps failing, give the reference to whoever runs mfadesk."
}

// newRef returns a short reference that ties what a person saw to the log.
func newRef() string { return actions.RandomID("E", 8) }

const busyText = "mfadesk is busy right now. Please try again in a moment."

const tooFastText = "You are sending mfadesk more than it takes from one person at a time. Please wait a few seconds and try again."

// jobKinds are the kinds of queued work: the only values of the kind label
// of the dropped-jobs metric. Anything else is counted as "other".
var jobKinds = map[string]bool{
	"command request": true, "command pending": true, "command status": true, "command cancel": true,
	blocks.ActionApprove: true, blocks.ActionDeny: true, blocks.ActionManualDone: true, blocks.ActionManualFailed: true,
	blocks.ActionVerifyTarget: true, blocks.ActionVerifyManager: true, blocks.ActionVerifyPush: true,
	blocks.ActionVerifyYes: true, blocks.ActionVerifyNo: true, blocks.ActionNotMe: true,
	"view submission": true, "security alert": true, "outcome": true, "confirmation": true, "message update": true,
}

// metricKind is kind when it is one of jobKinds, else "other": text a
// person typed never becomes a metric label.
func metricKind(kind string) string {
	if jobKinds[kind] {
		return kind
	}
	return "other"
}

// jobs hands work to the worker pool, counting and logging what the pool
// refuses.
type jobs struct {
	pool    *pool
	metrics Metrics
	log     *slog.Logger
	closing *atomic.Bool
}

// enqueue hands fn to the worker pool; false when the queue is full.
func (j *jobs) enqueue(kind string, urgent bool, fn func(ctx context.Context)) bool {
	if j.pool.submit(kind, urgent, fn) {
		return true
	}
	j.metrics.JobDropped(metricKind(kind))
	j.log.Warn("worker queue full: work refused", "kind", metricKind(kind))
	return false
}

// mustEnqueue is enqueue for work nobody will ask for again (posting an
// approval message, telling a requester the outcome): when the queue is
// full it tries again a few times, a second apart, before giving up and
// calling dropped (if not nil).
func (j *jobs) mustEnqueue(kind string, fn func(ctx context.Context), dropped func()) {
	var try func(attempt int)
	try = func(attempt int) {
		if j.enqueue(kind, false, fn) {
			return
		}
		if j.closing.Load() || attempt >= 5 {
			j.log.Error("work dropped: the worker queue stayed full", "kind", kind)
			if dropped != nil {
				dropped()
			}
			return
		}
		time.AfterFunc(time.Second, func() { try(attempt + 1) })
	}
	try(1)
}
