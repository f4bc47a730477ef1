package bot

import (
	"net/http"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// /mfa help lists only what the caller may request; a mistyped word is
// answered as unknown, not taken as the reason; an action the caller may
// not request is refused with why, not dropped from a form.
func TestCommandHelpAndUnknownWords(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, store *storage.Store) {
		h := newHarness(t, store)
		inline := []struct {
			user, text string
			want       []string
			notWant    []string
		}{
			{"U0HELP1", "help", []string{"Actions you may request: `reset-password`, `require-reregister-mfa`, `revoke-mfa-sessions`."},
				[]string{"delete-app-passwords", "block-sign-in", "issue-temporary-access-pass"}},
			// A helpdesk member listed by profile email.
			{"U0HELP2", "help", []string{"Actions you may request: `reset-password`"}, []string{"delete-app-passwords"}},
			{"U0GLOB1", "help", []string{"`delete-app-passwords`"}, nil},
			{"U0NOBODY", "help", []string{"You hold no role that may request an action."}, []string{"reset-password"}},
			{"U0HELP1", "frobnicate", []string{"Unknown command or action `frobnicate`.", "/mfa pending", "`revoke-mfa-sessions`"}, nil},
			{"U0HELP1", "Frobnicate <@U0BOB> now", []string{"Unknown command or action `frobnicate`."}, nil},
		}
		for _, c := range inline {
			reply, err := h.app.Command(c.user, "/mfa", c.text)
			if err != nil || reply.Status != http.StatusOK {
				t.Fatalf("/mfa %s: %v %+v", c.text, err, reply)
			}
			contains(t, c.user+" /mfa "+c.text, reply.Body, append(c.want, `"response_type":"ephemeral"`)...)
			for _, nw := range c.notWant {
				if strings.Contains(string(reply.Body), nw) {
					t.Errorf("%s /mfa %s lists %s: %s", c.user, c.text, nw, reply.Body)
				}
			}
		}
		// Not enabled in the policy, and enabled only for another role.
		for _, text := range []string{"block-sign-in <@U0BOB> lost laptop", "delete-app-passwords <@U0BOB>"} {
			reply, err := h.app.Command("U0HELP1", "/mfa", text)
			if err != nil || reply.Status != http.StatusOK || len(reply.Body) != 0 {
				t.Fatalf("/mfa %s: %v %+v", text, err, reply)
			}
			action, _, _ := strings.Cut(text, " ")
			h.waitEphemeral("U0HELP1", "You cannot request `"+action+"`: mfadesk's policy does not enable it, or no role of yours may request it.")
		}
		if v := h.fake.Views("U0HELP1"); len(v) != 0 {
			t.Errorf("%d forms opened, want none", len(v))
		}
		// Mentions first still open the form.
		h.openForm("U0HELP1", "<@U0BOB> locked out")
	})
}
