package bot

import (
	"context"
	"time"

	"github.com/slack-go/slack"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/clip"
	"github.com/mfadesk/mfadesk/bot/blocks"
)

// Submitting the request modal, and the 3-second rule.
//
// Slack shows a submission's problems under the inputs only when they come
// back in the HTTP response (response_action: errors), and that response
// must leave within 3 seconds. Checking a submission takes Slack look-ups
// (users.info for the requester and every target: bots, deactivated users,
// missing emails) and directory look-ups (Service.Submit resolves every
// target and its admin roles), which are usually quick but have no bound.
//
// So the check runs as one job in the worker pool while the handler waits
// for it up to SubmitBudget (2s by default):
//   - finished in time: the answer is errors on the offending blocks, or the
//     "submitted" view (response_action: update);
//   - not finished: the answer is a "Checking…" view (response_action:
//     update) and the job goes on. When it ends it puts up the result with
//     views.update on the same view ID: the "submitted" view, or the form
//     again, filled in as submitted, with the problems listed at the top. It
//     waits until the "Checking…" answer has been written (plus a short
//     pause) so that Slack applies the two in order. If the person closed the
//     modal meanwhile, views.update fails and the outcome goes to them as a
//     direct message instead.
//
// Redelivery: the view ID is the domain's SubmissionKey, so a submission
// stored once returns the stored request (ErrDuplicate) whichever replica
// sees it again, and the answer is the same "submitted" view. Within one
// process, a redelivery of the same view state (view ID and hash) joins the
// job already under way instead of starting another.

// submitResult is the outcome of checking a submission.
type submitResult struct {
	// resp is the answer when it is ready within the budget.
	resp *slack.ViewSubmissionResponse
	// late replaces the "Checking…" view when the answer came too late.
	late slack.ModalViewRequest
	// note goes to the submitter as a DM when late cannot be shown (the
	// modal was closed); empty when there is nothing they would miss.
	note string
}

// forms answers view submissions within Slack's 3 seconds (see above), for
// intake's request modal and the decisions' deny modal alike.
type forms struct {
	*core
	flights *flights
	budget  time.Duration // SubmitBudget
	// lateUpdateDelay separates the HTTP answer "Checking…" from the
	// views.update that replaces it, so that Slack applies them in order.
	lateUpdateDelay time.Duration
}

// run runs work for a view submission once per view state and answers
// within the budget: with work's answer, or with waiting and a views.update
// later.
func (fm *forms) run(ctx context.Context, ic slack.InteractionCallback, d *delivery, waiting slack.ModalViewRequest,
	work func(ctx context.Context) submitResult) any {
	start := time.Now()
	key := "view:" + ic.View.ID + ":" + ic.View.Hash
	f, created := fm.flights.get(key)
	if created && !fm.core.budget.allow(ic.User.ID) {
		fm.flights.drop(key)
		fm.log.WarnContext(ctx, "view submission refused: over the user's budget", "slack_user", ic.User.ID)
		return slack.NewErrorsViewSubmissionResponse(map[string]string{firstInput(ic.View): tooFastText})
	}
	if created {
		viewID, user := ic.View.ID, ic.User.ID
		ok := fm.jobs.enqueue("view submission", true, func(ctx context.Context) {
			res := work(ctx)
			f.mu.Lock()
			f.resp, f.finished = res.resp, true
			late, acked := f.answeredLate, f.acked
			f.mu.Unlock()
			close(f.done)
			if late {
				fm.showLate(ctx, viewID, user, acked, res)
			}
		})
		if !ok {
			fm.flights.drop(key)
			return slack.NewErrorsViewSubmissionResponse(map[string]string{firstInput(ic.View): busyText})
		}
	} else {
		fm.log.InfoContext(ctx, "view submission redelivered", "view_id", ic.View.ID, "retry", d.retry)
	}
	t := time.NewTimer(max(fm.budget-time.Since(start), 0))
	defer t.Stop()
	select {
	case <-f.done:
	case <-t.C:
	case <-ctx.Done():
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.finished {
		return f.resp
	}
	f.answeredLate, f.acked = true, d.acked
	return slack.NewUpdateViewSubmissionResponse(&waiting)
}

// showLate puts up a result that missed the budget, once Slack has had the
// "Checking…" answer.
func (fm *forms) showLate(ctx context.Context, viewID, user string, acked <-chan struct{}, res submitResult) {
	select {
	case <-acked:
	case <-ctx.Done():
	}
	_ = actions.SleepContext(ctx, fm.lateUpdateDelay)
	err := fm.slack.updateView(ctx, viewID, res.late)
	if err == nil {
		return
	}
	fm.log.WarnContext(ctx, "late result not shown in the modal", "view_id", viewID, "error", err)
	if res.note != "" {
		if _, _, err := fm.slack.dm(ctx, user, clip.Runes(res.note, blocks.MaxFallbackText), []slack.Block{blocks.Section(res.note)}); err != nil {
			fm.log.ErrorContext(ctx, "late result not sent", "slack_user", user, "error", err)
		}
	}
}

// firstInput is the block ID of a view's first input block, where an error
// about the whole submission is shown.
func firstInput(v slack.View) string {
	for _, bl := range v.Blocks.BlockSet {
		if in, ok := bl.(*slack.InputBlock); ok {
			return in.BlockID
		}
	}
	return blocks.BlockTargets
}
