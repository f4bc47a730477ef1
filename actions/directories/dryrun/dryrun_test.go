package dryrun

import (
	"context"
	"errors"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
)

func TestManager(t *testing.T) {
	d := New(Options{
		Managers: map[string]string{"Eve@example.com": "boss@example.com", "orphan@example.com": "gone@example.com"},
		Unknown:  []string{"gone@example.com"},
	})
	for _, tc := range []struct {
		name, id, want string
	}{
		{"named, any case", "dryrun:eve@example.com", "dryrun:boss@example.com"},
		{"none", "dryrun:bob@example.com", ""},
		{"manager unknown to the directory", "dryrun:orphan@example.com", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Manager(context.Background(), tc.id)
			if tc.want == "" {
				if !errors.Is(err, actions.ErrNoManager) {
					t.Fatalf("err = %v, want ErrNoManager", err)
				}
				return
			}
			if err != nil || got.ID != tc.want {
				t.Fatalf("Manager = %+v, %v; want ID %s", got, err, tc.want)
			}
		})
	}
}

func TestPush(t *testing.T) {
	d := New(Options{Push: map[string]actions.PushOutcome{"Rex@example.com": actions.PushRejected}, NoPush: []string{"none@example.com"}})
	ctx := context.Background()
	for _, tc := range []struct {
		id   string
		want actions.PushOutcome
	}{
		{"dryrun:eve@example.com", actions.PushApproved},
		{"dryrun:rex@example.com", actions.PushRejected},
	} {
		ch, err := d.StartPush(ctx, tc.id)
		if err != nil || ch.Number < 10 || ch.Number > 99 || ch.TransactionID == "" {
			t.Fatalf("StartPush(%s) = %+v, %v", tc.id, ch, err)
		}
		st, err := d.PushResult(ctx, tc.id, ch)
		if err != nil || st.Outcome != tc.want || st.TransactionID != ch.TransactionID {
			t.Errorf("PushResult(%s) = %+v, %v; want %s", tc.id, st, err, tc.want)
		}
	}
	if _, err := d.StartPush(ctx, "dryrun:none@example.com"); !errors.Is(err, actions.ErrNoPushFactor) {
		t.Errorf("no push factor: %v", err)
	}
	if !actions.SupportsVerify(d, actions.VerifyPush) {
		t.Error("the dry run does not simulate push")
	}
}

// An alias resolves to its primary address's user; addresses equal only
// under Unicode case folding do not (README, "Who is who").
func TestAliases(t *testing.T) {
	d := New(Options{Aliases: map[string]string{"Auth1.Alias@example.com": "bob@example.com"}})
	tests := []struct {
		email, wantID string
	}{
		{"bob@example.com", "dryrun:bob@example.com"},
		{"auth1.alias@EXAMPLE.com", "dryrun:bob@example.com"},
		{"BOB@example.com", "dryrun:bob@example.com"},
		{"\u212Aate@example.com", "dryrun:\u212Aate@example.com"}, // Kelvin sign: not kate@
		{"kate@example.com", "dryrun:kate@example.com"},
	}
	for _, tt := range tests {
		u, err := d.ResolveUser(context.Background(), tt.email)
		if err != nil || u.ID != tt.wantID {
			t.Errorf("ResolveUser(%q) = %q, %v; want %q", tt.email, u.ID, err, tt.wantID)
		}
	}
}

// TestPrivilegedNonASCII: a user resolved from any spelling of a Privileged
// address reads as privileged, a non-ASCII address included (compared byte
// for byte, as actions.SameEmail does); an address equal only under Unicode
// case folding does not.
func TestPrivilegedNonASCII(t *testing.T) {
	d := New(Options{Privileged: []string{"Zoë.Admin@Example.com", "Root@example.com"}})
	tests := []struct {
		email string
		want  bool
	}{
		{"Zoë.Admin@Example.com", true},
		{" Zoë.Admin@Example.com ", true},
		{"zoë.admin@example.com", false}, // not byte for byte equal
		{"ROOT@EXAMPLE.COM", true},
		{"root@example.com", true},
		{"\u212Aate@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.email, func(t *testing.T) {
			u, err := d.ResolveUser(context.Background(), tt.email)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.IsPrivileged(context.Background(), u.ID)
			if err != nil || got != tt.want {
				t.Errorf("IsPrivileged(%q) = %v, %v; want %v", u.ID, got, err, tt.want)
			}
		})
	}
}
