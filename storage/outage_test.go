package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// With the database down, the notice and guarded-create calls say so with
// actions.ErrUnavailable, as every other Store call does, so that callers
// retry them instead of taking the outage for a refusal.
func TestNoticeCallsUnavailableWhenTheDatabaseIsDown(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	cluster := storagetest.NewCluster(t)
	st := storagetest.Open(t, cluster.URL)
	if _, err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	cluster.Stop(t)
	nothing := func(r actions.Request) (actions.Request, []actions.Request, []actions.Event, error) {
		return r, nil, nil, nil
	}
	for name, call := range map[string]func(ctx context.Context) error{
		"UpdateCreate": func(ctx context.Context) error {
			_, _, err := st.UpdateCreate(ctx, "R1", nothing)
			return err
		},
		"ClaimNotice": func(ctx context.Context) error {
			_, _, err := st.ClaimNotice(ctx, time.Now(), func(r actions.Request, _ int) (actions.Request, []actions.Event, error) { return r, nil, nil })
			return err
		},
		"CreateRequestIf": func(ctx context.Context) error {
			return st.CreateRequestIf(ctx, actions.Request{ID: "R2"}, nil, []string{"k"}, func(func(actions.RequestFilter) ([]actions.Request, error)) error { return nil })
		},
	} {
		if err := call(t.Context()); !errors.Is(err, actions.ErrUnavailable) {
			t.Errorf("%s with the database down: %v; want actions.ErrUnavailable", name, err)
		}
	}
}
