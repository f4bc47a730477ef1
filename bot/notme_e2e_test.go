package bot

import (
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/bot/blocks"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// "This wasn't me" is taken even from a user past their budget, and a
// second click says mfadesk protected the account only when containment
// ran: with none in the policy it claims nothing.
func TestNotMeOverBudgetAndRepeated(t *testing.T) {
	tests := []struct {
		name        string
		containment string // the policy's containment line
		wantSteps   int
		wantRepeat  string
		avoidRepeat string
	}{
		{"with containment", "containment: [revoke-mfa-sessions]\n", 1,
			"the security team knows, and mfadesk protected your account once.", ""},
		{"without containment", "", 0,
			"the security team knows. Please call the security team in person.", "protected your account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storagetest.Each(t, func(t *testing.T, store *storage.Store) {
				h := newHarness(t, store, func(o *harnessOptions) { o.policy = testPolicy + tt.containment })
				r := h.request("U0HELP1", actions.ResetPassword, "U0BOB")
				h.click("U0AUTH1", r, blocks.ActionApprove)
				h.waitState(r.ID, actions.StateSucceeded)

				// Bob has used up his budget.
				for h.bot.decisions.budget.allow("U0BOB") {
				}
				h.click("U0BOB", r, blocks.ActionNotMe)
				eventually(t, "bob's report recorded", func() bool {
					for _, e := range h.events(r.ID) {
						if e.Kind == actions.EventReportedNotMe && e.Actor == "U0BOB" {
							return true
						}
					}
					return false
				})
				steps, err := h.svc.ContainmentOf(t.Context(), r.ID)
				if err != nil || len(steps) != tt.wantSteps {
					t.Fatalf("containment: %d requests (%v), want %d", len(steps), err, tt.wantSteps)
				}

				h.click("U0BOB", r, blocks.ActionNotMe)
				m := h.waitEphemeral("U0BOB", "You reported request")
				if !strings.Contains(m.Text, tt.wantRepeat) {
					t.Errorf("repeat answer %q, want it to say %q", m.Text, tt.wantRepeat)
				}
				if tt.avoidRepeat != "" && strings.Contains(m.Text, tt.avoidRepeat) {
					t.Errorf("repeat answer %q says %q", m.Text, tt.avoidRepeat)
				}
			})
		})
	}
}
