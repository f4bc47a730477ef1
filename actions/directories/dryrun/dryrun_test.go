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
