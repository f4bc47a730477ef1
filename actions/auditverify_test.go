package actions

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sliceSource(evs []Event) EventSource {
	return func(ctx context.Context, yield func(Event) error) error {
		for _, e := range evs {
			if err := yield(e); err != nil {
				return err
			}
		}
		return nil
	}
}

// VerifyChain names exactly the event ChainVerifier names, wherever in the
// log (and in its hashing batches) the break is, with any number of workers.
func TestVerifyChainAgreesWithChainVerifier(t *testing.T) {
	const n = 3*verifyBatch + 17
	mutations := []struct {
		name   string
		mutate func([]Event, int) []Event
	}{
		{"intact", func(e []Event, _ int) []Event { return e }},
		{"edited", func(e []Event, i int) []Event { e[i].Detail = "forged"; return e }},
		{"deleted", func(e []Event, i int) []Event { return append(e[:i:i], e[i+1:]...) }},
		{"cut tail", func(e []Event, i int) []Event { return e[:i] }},
		{"rehashed edit", func(e []Event, i int) []Event { e[i].Detail = "forged"; e[i].Hash = e[i].ComputeHash(); return e }},
		{"two edits", func(e []Event, i int) []Event { e[i].Actor = "U0EVIL"; e[n-1].Detail = "x"; return e }},
		{"edit then bad link", func(e []Event, i int) []Event { e[i].Detail = "x"; e[min(i+5, n-1)].PrevHash = "00"; return e }},
		{"bad link then edit", func(e []Event, i int) []Event { e[i].PrevHash = "00"; e[min(i+5, n-1)].Detail = "x"; return e }},
	}
	for _, m := range mutations {
		for _, at := range []int{0, 1, verifyBatch - 1, verifyBatch, 2*verifyBatch + 3, n - 1} {
			for _, workers := range []int{0, 1, 2, 7} {
				t.Run(fmt.Sprintf("%s/at%d/workers%d", m.name, at, workers), func(t *testing.T) {
					evs := m.mutate(chain(n), at)
					var v ChainVerifier
					wantErr := verify(evs)
					for _, e := range evs {
						if v.Next(e) != nil {
							break
						}
					}
					count, head, err := VerifyChain(t.Context(), workers, sliceSource(evs))
					if diff := cmp.Diff(wantErr, err); diff != "" {
						t.Fatalf("error (-ChainVerifier +VerifyChain):\n%s", diff)
					}
					if err == nil && (count != v.Count() || head != v.Head()) {
						t.Errorf("count %d head %s, want %d %s", count, head, v.Count(), v.Head())
					}
				})
			}
		}
	}
}

func TestVerifyChainReadError(t *testing.T) {
	boom := errors.New("connection reset")
	src := func(ctx context.Context, yield func(Event) error) error {
		for _, e := range chain(10) {
			if err := yield(e); err != nil {
				return err
			}
		}
		return boom
	}
	if _, _, err := VerifyChain(t.Context(), 2, src); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the read error", err)
	}
}

func BenchmarkVerifyChain(b *testing.B) {
	evs := chain(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := VerifyChain(b.Context(), 2, sliceSource(evs)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}
