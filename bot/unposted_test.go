package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// When the bot is not in the approval channel, a new request is not left
// pending unseen: the requester is told at once what to do, and the request
// ends, cancelled by mfadesk, with the reason in the audit log.
func TestApprovalChannelWithoutTheBot(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		h.fake.AddChannelWithoutBot(approvalChannel)
		v := h.openForm("U0HELP1", "")
		a := h.decode(h.app.Submit(v.ID, "U0HELP1", formValues(string(actions.RevokeMFASessions), []string{"U0BOB"}, "lost phone", "")))
		if a.ResponseAction != "update" {
			t.Fatalf("submission answered %+v", a)
		}
		r, err := h.store.RequestBySubmissionKey(context.Background(), "slack-view:"+v.ID)
		if err != nil {
			t.Fatal(err)
		}
		dm := h.waitDM("U0HELP1", "could not be posted for approval")
		for _, want := range []string{r.ID, "`/invite @mfadesk`", "<#" + approvalChannel + ">", "nothing was done"} {
			if !strings.Contains(dm.Text, want) {
				t.Errorf("DM %q lacks %q", dm.Text, want)
			}
		}
		ended := h.waitState(r.ID, actions.StateCancelled)
		if !ended.Abandoned() || !strings.Contains(ended.DecisionNote, "not_in_channel") {
			t.Errorf("request %+v, want cancelled by mfadesk for not_in_channel", ended)
		}
		var cancelled []actions.Event
		err = store.Events(context.Background(), 0, time.Time{}, func(e actions.Event) error {
			if e.RequestID == r.ID && e.Kind == actions.EventCancelled {
				cancelled = append(cancelled, e)
			}
			return nil
		})
		if err != nil || len(cancelled) != 1 || cancelled[0].Actor != actions.BotActor ||
			!strings.Contains(cancelled[0].Detail, "could not be posted in "+approvalChannel+" (not_in_channel)") {
			t.Errorf("cancelled events %+v, %v", cancelled, err)
		}
		// Invited: the next request is posted as usual.
		h.fake.AddChannel(approvalChannel)
		h.request("U0HELP1", actions.RevokeMFASessions, "U0CAROL")
	})
}
