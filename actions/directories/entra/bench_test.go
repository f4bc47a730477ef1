package entra

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// The bulk benchmark's Graph: every HTTP request takes benchLatency, and a
// token bucket lets rate requests a second through (bursts of rate/5),
// answering 429 with Retry-After (whole seconds, as Graph) past that. Graph
// counts each request inside a $batch against its limits, and so does the
// fake.
const (
	benchTargets = 500
	benchLatency = 50 * time.Millisecond
)

// benchMinimum is the least time any client needs against the throttle: the
// burst goes at once, the rest at the bucket's rate, and the last answer
// takes one latency.
func benchMinimum(rate, burst float64) time.Duration {
	return time.Duration((benchTargets-burst)/rate*float64(time.Second)) + benchLatency
}

// BenchmarkBulkRevoke500 revokes the sessions of 500 users with 8 or 16
// concurrent workers, in JSON batches of 20 (batch) and one request per user
// (single), against a tight throttle (250 requests/s, where the throttle is
// the bottleneck) and a loose one (1000/s, where latency is), and reports the
// time against the throttle's theoretical minimum (x_min), with the HTTP
// requests and 429s per run.
func BenchmarkBulkRevoke500(b *testing.B) {
	for _, rate := range []float64{250, 1000} {
		for _, workers := range []int{8, 16} {
			for _, mode := range []string{"batch", "single"} {
				name := fmt.Sprintf("rate=%.0f/workers=%d/%s", rate, workers, mode)
				b.Run(name, func(b *testing.B) { benchBulk(b, rate, workers, mode) })
			}
		}
	}
}

func benchBulk(b *testing.B, rate float64, workers int, mode string) {
	burst := rate / 5
	g := fakegraph.New(b)
	ts := make([]actions.Target, benchTargets)
	for i := range ts {
		u := g.AddUser(fakegraph.User{UPN: "u@contoso.com"})
		ts[i] = actions.Target{DirectoryID: u.ID}
	}
	g.SetLatency(benchLatency)
	d, err := New(Config{
		GraphURL:   g.URL(),
		Credential: staticCred{token: g.Token()},
		Retry:      httpapi.RetryPolicy{Attempts: 10, Base: 200 * time.Millisecond, Max: 5 * time.Second},
	})
	if err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	var requests, throttled int
	b.ResetTimer()
	for range b.N {
		g.SetThrottle(rate, burst)
		callsBefore, throttledBefore := len(g.Calls()), g.Throttled()
		start := time.Now()
		failed := runBulk(d, mode, workers, ts)
		elapsed += time.Since(start)
		if failed > 0 {
			b.Fatalf("%d targets failed", failed)
		}
		requests += countHTTP(g.Calls()[callsBefore:])
		throttled += g.Throttled() - throttledBefore
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(elapsed.Seconds()/n/benchMinimum(rate, burst).Seconds(), "x_min")
	b.ReportMetric(float64(requests)/n, "http_requests/op")
	b.ReportMetric(float64(throttled)/n, "429s/op")
}

// runBulk performs revoke-mfa-sessions on ts with concurrent workers and
// returns how many targets failed.
func runBulk(d *Directory, mode string, workers int, ts []actions.Target) int {
	size := 1
	if mode == "batch" {
		size = d.MaxBatch(actions.RevokeMFASessions)
	}
	jobs := make(chan []actions.Target)
	var failed atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunk := range jobs {
				var res []actions.BatchResult
				if mode == "batch" {
					res = d.PerformBatch(context.Background(), actions.RevokeMFASessions, chunk)
				} else {
					p, err := d.Perform(context.Background(), actions.RevokeMFASessions, chunk[0])
					res = []actions.BatchResult{{Performed: p, Err: err}}
				}
				for _, r := range res {
					if r.Err != nil {
						failed.Add(1)
					}
				}
			}
		}()
	}
	for lo := 0; lo < len(ts); lo += size {
		jobs <- ts[lo:min(lo+size, len(ts))]
	}
	close(jobs)
	wg.Wait()
	return int(failed.Load())
}

// countHTTP counts the fake's HTTP requests (not the items inside batches).
func countHTTP(calls []string) int {
	n := 0
	for _, c := range calls {
		if len(c) < 7 || c[:7] != "batch: " {
			n++
		}
	}
	return n
}
