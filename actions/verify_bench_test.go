package actions_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/dryrun"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// BenchmarkPollVerifications is the cost of one pass of the verification
// poller (every 3 s in serve) over 500 pending requests, 100 of which have
// a push waiting that the directory still reports as waiting: the pass
// lists the pending requests and asks about each push.
func BenchmarkPollVerifications(b *testing.B) {
	st := storagetest.New(b, storage.DialectSQLite).Store
	pushers := map[string]actions.PushOutcome{}
	for i := range 100 {
		pushers[fmt.Sprintf("u%03d@example.com", i)] = actions.PushWaiting
	}
	dir := dryrun.New(dryrun.Options{Push: pushers})
	pol, err := actions.ParsePolicy("p.yaml", []byte(verifyPolicyYAML))
	if err != nil {
		b.Fatal(err)
	}
	n := &verifyNotifier{accounts: map[string]string{}}
	now := time.Now()
	svc := actions.NewService(st, dir, pol, actions.ServiceOptions{Notifier: n, Now: func() time.Time { return now }})
	ctx := context.Background()
	for i := range 500 {
		email := fmt.Sprintf("u%03d@example.com", i)
		r, err := svc.Submit(ctx, actions.Draft{Requester: requester, Action: actions.ResetPassword,
			Targets: []actions.Person{{SlackID: fmt.Sprintf("U%05d", i), Email: email}}, Reason: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if i < 100 {
			if _, _, err := svc.StartVerification(ctx, r.ID, requester, actions.VerifyPush); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		if decided, err := svc.PollVerifications(ctx); err != nil || decided != 0 {
			b.Fatalf("poll: %d %v", decided, err)
		}
	}
}
