package bot

import (
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// An approver whose Slack email is an alias of the target's directory
// account cannot approve a reset of that account: the click is refused,
// privately and in the audit log (README, "Who is who").
func TestApproverThroughAliasOfTarget(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store, func(o *harnessOptions) {
			o.dir = dryrun.New(dryrun.Options{Aliases: map[string]string{"auth1@example.com": "bob@example.com"}})
		})
		r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
		h.click("U0AUTH1", r, "approve")
		h.waitEphemeral("U0AUTH1", "target")
		eventually(t, "the refusal in the audit log", func() bool { return count(h.events(r.ID), actions.EventRefused) == 1 })
		if got := h.waitState(r.ID, actions.StatePending); len(got.Approvals) != 0 {
			t.Errorf("approvals = %+v, want none", got.Approvals)
		}
		// Someone else approves it.
		h.click("U0AUTH2", r, "approve")
		h.waitState(r.ID, actions.StateSucceeded)
	})
}
