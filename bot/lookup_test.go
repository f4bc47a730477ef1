package bot

import (
	"context"
	"errors"
	"testing"

	"github.com/mfadesk/mfadesk/bot/fakeslack"
)

func TestLookupByEmail(t *testing.T) {
	fake := fakeslack.New()
	defer fake.Close()
	b, _ := newTestBot(t, fake)
	s := b.notices.slack
	fake.AddUser(fakeslack.User{ID: "U0TGT1", Name: "tess", Email: "Tess@Example.com"})
	fake.AddUser(fakeslack.User{ID: "U0OLD1", Name: "old", Email: "old@example.com", Deleted: true})
	ctx := context.Background()

	for _, tc := range []struct {
		name, email, wantID string
		noAccount           bool
	}{
		{name: "found, any case", email: " tess@example.com ", wantID: "U0TGT1"},
		{name: "unknown: users_not_found", email: "stranger@nowhere.test", noAccount: true},
		{name: "deactivated", email: "old@example.com", noAccount: true},
		{name: "empty", email: "", noAccount: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := s.lookupByEmail(ctx, tc.email)
			if tc.noAccount {
				if !errors.Is(err, errNoSlackAccount) {
					t.Fatalf("err = %v, want errNoSlackAccount", err)
				}
				return
			}
			if err != nil || u.ID != tc.wantID {
				t.Fatalf("lookupByEmail = %+v %v, want %s", u, err, tc.wantID)
			}
		})
	}
	if u := fake.Undocumented(); len(u) != 0 {
		t.Errorf("undocumented Slack calls: %q", u)
	}
	// A Slack failure other than users_not_found is not "no account".
	fake.Fail("users.lookupByEmail", "fatal_error")
	if _, err := s.lookupByEmail(ctx, "tess@example.com"); err == nil || errors.Is(err, errNoSlackAccount) {
		t.Errorf("fatal_error: err = %v, want an error that is not errNoSlackAccount", err)
	}
}
