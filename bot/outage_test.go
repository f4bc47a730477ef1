package bot

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// outageAfterCreate is a store that becomes unreachable for a few updates
// right after a request is created: the approval message is then posted
// while its reference cannot be stored.
type outageAfterCreate struct {
	actions.Store
	fails atomic.Int32
}

func (s *outageAfterCreate) CreateRequest(ctx context.Context, r actions.Request, events []actions.Event) error {
	err := s.Store.CreateRequest(ctx, r, events)
	if err == nil {
		s.fails.Store(3)
	}
	return err
}

func (s *outageAfterCreate) Update(ctx context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
	if s.fails.Add(-1) >= 0 {
		return actions.Request{}, fmt.Errorf("update request %s: dial tcp: connection refused: %w", id, actions.ErrUnavailable)
	}
	return s.Store.Update(ctx, id, fn)
}

// TestApprovalMessageSurvivesOutage: the approval message posted while the
// database is away is remembered once it is back, and posted once.
func TestApprovalMessageSurvivesOutage(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		h := newHarness(t, st, func(o *harnessOptions) {
			o.wrap = func(s actions.Store) actions.Store { return &outageAfterCreate{Store: s} }
		})
		r := h.request("U0HELP1", actions.RevokeMFASessions, "U0BOB") // waits until the reference is stored
		if n := len(h.fake.Messages(approvalChannel)); n != 1 {
			t.Errorf("%d messages in the approval channel, want 1", n)
		}
		if got := h.message(r); !strings.Contains(got.Text+fmt.Sprint(got.Blocks), r.ID) {
			t.Errorf("the remembered message does not show %s", r.ID)
		}
		if n := strings.Count(h.logs.String(), "remembering it waits for the database"); n != 1 {
			t.Errorf("the outage was logged %d times, want once", n)
		}
	})
}
