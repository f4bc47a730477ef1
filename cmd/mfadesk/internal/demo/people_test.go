package demo

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

func dirID(t *testing.T, d *Directory, email string) string {
	t.Helper()
	u, err := d.ResolveUser(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

func TestDirectoryLookups(t *testing.T) {
	d := NewDirectory()
	ctx := context.Background()
	if _, err := d.ResolveUser(ctx, "nobody@example.com"); !errors.Is(err, actions.ErrUnknownUser) {
		t.Errorf("unknown email: %v", err)
	}
	tests := []struct {
		email, manager string
		admin          bool
	}{
		{"BOB@example.com", "mark@example.com", false},
		{"carol@example.com", "mark@example.com", false},
		{"priya@example.com", "grace@example.com", true},
		{"ada@example.com", "grace@example.com", true},
		{"grace@example.com", "", true},
	}
	for _, tt := range tests {
		id := dirID(t, d, tt.email)
		admin, err := d.IsPrivileged(ctx, id)
		if err != nil || admin != tt.admin {
			t.Errorf("%s: privileged %v %v, want %v", tt.email, admin, err, tt.admin)
		}
		m, err := d.Manager(ctx, id)
		switch {
		case tt.manager == "" && !errors.Is(err, actions.ErrNoManager):
			t.Errorf("%s: manager %v %v, want ErrNoManager", tt.email, m, err)
		case tt.manager != "" && (err != nil || m.Email != tt.manager):
			t.Errorf("%s: manager %v %v, want %s", tt.email, m, err, tt.manager)
		}
	}
	if _, err := d.IsPrivileged(ctx, "00uNOBODY"); !errors.Is(err, actions.ErrUnknownUser) {
		t.Errorf("unknown ID: %v", err)
	}
}

func TestDirectoryPerform(t *testing.T) {
	d := NewDirectory()
	ctx := context.Background()
	bob := actions.Target{DirectoryID: dirID(t, d, "bob@example.com")}
	tests := []struct {
		action  actions.Action
		outcome actions.Outcome
		secret  string
	}{
		{actions.ResetPassword, actions.OutcomeOK, "Temporary password"},
		{actions.IssueTemporaryAccessPass, actions.OutcomeOK, "Temporary Access Pass"},
		{actions.RevokeMFASessions, actions.OutcomeOK, ""},
		{actions.RequireReregisterMFA, actions.OutcomeOK, ""},
		{actions.RequireReregisterMFA, actions.OutcomeSkipped, ""}, // nothing left to remove
		{actions.BlockSignIn, actions.OutcomeOK, ""},
		{actions.BlockSignIn, actions.OutcomeSkipped, ""},
		{actions.UnblockSignIn, actions.OutcomeOK, ""},
	}
	for _, tt := range tests {
		p, err := d.Perform(ctx, tt.action, bob)
		if err != nil || p.Outcome != tt.outcome {
			t.Fatalf("%s: %+v %v, want %s", tt.action, p, err, tt.outcome)
		}
		switch {
		case tt.secret == "" && p.Secret != nil:
			t.Errorf("%s made a secret", tt.action)
		case tt.secret != "" && (p.Secret == nil || p.Secret.Kind != tt.secret || len(p.Secret.Reveal()) < 12):
			t.Errorf("%s: secret %v", tt.action, p.Secret)
		}
	}
	if d.Supports(actions.DeleteAppPasswords) != actions.Manual {
		t.Error("delete-app-passwords should be a tracked manual step")
	}
	if _, err := d.Perform(ctx, actions.DeleteAppPasswords, bob); !errors.Is(err, actions.ErrUnsupported) {
		t.Errorf("manual action performed: %v", err)
	}
	var u UserState
	for _, x := range d.Users() {
		if x.Email == "bob@example.com" {
			u = x
		}
	}
	if len(u.Factors) != 0 || u.Blocked || u.PasswordResetAt.IsZero() || len(u.Log) != len(tests) {
		t.Errorf("bob afterwards: %+v", u)
	}
}

func TestPush(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		answer func(p Push) int // the number tapped; -1 for no answer
		wait   time.Duration
		want   actions.PushOutcome
	}{
		{"right number", func(p Push) int { return p.Number }, 0, actions.PushApproved},
		{"wrong number", func(p Push) int {
			for _, c := range p.Choices {
				if c != p.Number {
					return c
				}
			}
			return 0
		}, 0, actions.PushRejected},
		{"not me", func(Push) int { return 0 }, 0, actions.PushRejected},
		{"no answer yet", func(Push) int { return -1 }, time.Minute, actions.PushWaiting},
		{"no answer in time", func(Push) int { return -1 }, pushLife + time.Second, actions.PushTimedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDirectory()
			clock := now
			d.now = func() time.Time { return clock }
			bob := dirID(t, d, "bob@example.com")
			c, err := d.StartPush(ctx, bob)
			if err != nil {
				t.Fatal(err)
			}
			phone := d.Pushes(bob)
			if len(phone) != 1 || phone[0].Number != c.Number || len(phone[0].Choices) != 3 || c.Number < 10 || c.Number > 99 {
				t.Fatalf("phone %+v, challenge %+v", phone, c)
			}
			if n := tt.answer(phone[0]); n >= 0 {
				if err := d.AnswerPush(bob, c.Handle, n); err != nil {
					t.Fatal(err)
				}
				if err := d.AnswerPush(bob, c.Handle, n); err == nil {
					t.Error("a push answered twice")
				}
			}
			clock = clock.Add(tt.wait)
			st, err := d.PushResult(ctx, bob, c)
			if err != nil || st.Outcome != tt.want || st.TransactionID == "" {
				t.Errorf("result %+v %v, want %s", st, err, tt.want)
			}
			if waiting := len(d.Pushes(bob)) == 1; waiting != (tt.want == actions.PushWaiting) {
				t.Errorf("phone still shows the push: %v", waiting)
			}
		})
	}
	d := NewDirectory()
	if _, err := d.StartPush(ctx, dirID(t, d, "carol@example.com")); !errors.Is(err, actions.ErrNoPushFactor) {
		t.Errorf("carol has no Okta Verify: %v", err)
	}
	if err := d.AnswerPush(dirID(t, d, "bob@example.com"), "push-nope", 12); err == nil {
		t.Error("answered a push that does not exist")
	}
	if !actions.SupportsVerify(d, actions.VerifyPush) {
		t.Error("the demo directory should offer push")
	}
}
