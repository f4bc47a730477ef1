package digest_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/digest"
	"github.com/mfadesk/mfadesk/storage"
	"github.com/mfadesk/mfadesk/storage/storagetest"
)

// outageLedger is a store whose first few DigestPosted calls find the
// database unavailable, as during a restart right after Slack took a post.
type outageLedger struct {
	*storage.Store
	fails atomic.Int32
}

func (l *outageLedger) DigestPosted(ctx context.Context, end time.Time, owner string, p digest.Posted) error {
	if l.fails.Add(-1) >= 0 {
		return fmt.Errorf("mark digest posted: dial tcp: connection refused: %w", actions.ErrUnavailable)
	}
	return l.Store.DigestPosted(ctx, end, owner, p)
}

type countingPublisher struct{ posts atomic.Int32 }

func (p *countingPublisher) Publish(context.Context, digest.Digest) (digest.Receipt, error) {
	n := p.posts.Add(1)
	return digest.Receipt{Channel: "C0AUDIT", TS: fmt.Sprintf("1700000000.%06d", n)}, nil
}

func (p *countingPublisher) Attach(context.Context, digest.Digest, digest.Receipt) error { return nil }

// TestDigestRecordSurvivesOutage: a digest that Slack accepted while the
// database was away is recorded once it is back, and no replica posts it
// again.
func TestDigestRecordSurvivesOutage(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ledger := &outageLedger{Store: st}
		ledger.fails.Store(3)
		pub := &countingPublisher{}
		end := time.Now().UTC().Truncate(time.Hour)
		start := end.Add(-7 * 24 * time.Hour)
		runner := func(owner string) *digest.Runner {
			return digest.NewRunner(ledger, pub, digest.RunnerOptions{Owner: owner})
		}
		rec, err := runner("a").Post(t.Context(), end, start)
		if err != nil || rec.Status != digest.StatusPosted {
			t.Fatalf("post during the outage: %s, %v; want posted", rec.Status, err)
		}
		if _, err := runner("b").Post(t.Context(), end, start); !errors.Is(err, digest.ErrPosted) {
			t.Errorf("another replica: %v, want ErrPosted", err)
		}
		if n := pub.posts.Load(); n != 1 {
			t.Errorf("posted %d times, want 1", n)
		}
	})
}
