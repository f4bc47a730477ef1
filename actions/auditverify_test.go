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

// rangeSources splits seq 1..n into parts ranges and yields evs's events
// of each, as a database read by seq range would.
func rangeSources(evs []Event, n, parts int) []EventSource {
	var out []EventSource
	for p := range parts {
		lo, hi := int64(n*p/parts), int64(n*(p+1)/parts)
		out = append(out, func(ctx context.Context, yield func(Event) error) error {
			for _, e := range evs {
				if e.Seq > lo && e.Seq <= hi {
					if err := yield(e); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}
	return out
}

// VerifyChain and VerifySegments name exactly the event ChainVerifier names,
// wherever in the log (in its hashing batches, and its segments) the break
// is, with any number of workers and segments.
func TestVerifyChainAgreesWithChainVerifier(t *testing.T) {
	t.Parallel()
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
		for _, at := range []int{0, 1, verifyBatch - 1, verifyBatch, n/3 - 1, n / 3, n/2 - 1, n / 2, 2*verifyBatch + 3, n - 1} {
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
					if workers != 2 {
						return // segments are checked with one number of workers: the split does not depend on it
					}
					for _, parts := range []int{2, 3, 8} {
						count, head, err := VerifySegments(t.Context(), workers, rangeSources(evs, n, parts))
						if diff := cmp.Diff(wantErr, err); diff != "" {
							t.Fatalf("%d segments: error (-ChainVerifier +VerifySegments):\n%s", parts, diff)
						}
						if err == nil && (count != v.Count() || head != v.Head()) {
							t.Errorf("%d segments: count %d head %s, want %d %s", parts, count, head, v.Count(), v.Head())
						}
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

// A segment that cannot be read is the error, unless an event before it is
// broken; a broken event after it is never reached by one walk, so it is not
// named.
func TestVerifySegmentsReadError(t *testing.T) {
	boom := errors.New("connection reset")
	for _, tc := range []struct {
		name     string
		editAt   int // index of an edited event, -1 for none
		wantBoom bool
	}{
		{"nothing else broken", -1, true},
		{"an edit before the failed segment", 10, false},
		{"an edit after it", 250, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := chain(300)
			if tc.editAt >= 0 {
				evs[tc.editAt].Detail = "forged"
			}
			srcs := rangeSources(evs, 300, 3)
			srcs[1] = func(ctx context.Context, yield func(Event) error) error {
				for _, e := range evs[100:150] {
					if err := yield(e); err != nil {
						return err
					}
				}
				return boom
			}
			_, _, err := VerifySegments(t.Context(), 2, srcs)
			var ce *ChainError
			switch {
			case tc.wantBoom && !errors.Is(err, boom):
				t.Fatalf("err = %v, want the read error", err)
			case !tc.wantBoom && (!errors.As(err, &ce) || ce.Seq != int64(tc.editAt+1)):
				t.Fatalf("err = %v, want the edit at event %d", err, tc.editAt+1)
			}
		})
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
