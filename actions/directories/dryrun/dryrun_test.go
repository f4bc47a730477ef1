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
