package entra

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/mfadesk/mfadesk/actions"
)

// maxGraphBatch is the most requests Graph takes in one $batch.
const maxGraphBatch = 20

// retryWorkers bounds the throttled batch items retried at once.
const retryWorkers = 4

// MaxBatch is 20 (Graph's JSON batching limit) for revoke-mfa-sessions,
// block-sign-in and unblock-sign-in, and 1 for the other actions: those make
// several dependent calls or produce a secret.
func (d *Directory) MaxBatch(a actions.Action) int {
	if _, ok := simpleFor(a, "x"); ok {
		return maxGraphBatch
	}
	return 1
}

type batchItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// PerformBatch does a on every target, in JSON batches of up to 20 requests
// where a allows it, and returns the results in the order of ts, each as
// Perform would. Items that Graph throttles inside a batch (429, 503, 504)
// are retried one by one after their Retry-After; a batch that fails as a
// whole is done again target by target.
func (d *Directory) PerformBatch(ctx context.Context, a actions.Action, ts []actions.Target) []actions.BatchResult {
	out := make([]actions.BatchResult, len(ts))
	if d.MaxBatch(a) == 1 || len(ts) == 1 {
		for i, t := range ts {
			out[i] = d.performOne(ctx, a, t)
		}
		return out
	}
	for lo := 0; lo < len(ts); lo += maxGraphBatch {
		hi := min(lo+maxGraphBatch, len(ts))
		d.batch(ctx, a, ts[lo:hi], out[lo:hi])
	}
	return out
}

func (d *Directory) performOne(ctx context.Context, a actions.Action, t actions.Target) actions.BatchResult {
	p, err := d.Perform(ctx, a, t)
	return actions.BatchResult{Performed: p, Err: err}
}

// batch does one $batch of at most 20 targets of a simple action.
func (d *Directory) batch(ctx context.Context, a actions.Action, ts []actions.Target, out []actions.BatchResult) {
	items := make([]batchItem, 0, len(ts))
	ops := make([]simpleOp, len(ts))
	pos := make(map[string]int, len(ts))
	for i, t := range ts {
		id := strings.TrimSpace(t.DirectoryID)
		s, _ := simpleFor(a, id)
		ops[i] = s
		if id == "" {
			out[i] = d.performOne(ctx, a, t) // reports the missing id
			continue
		}
		it := batchItem{ID: strconv.Itoa(i + 1), Method: s.method, URL: s.path}
		if s.body != nil {
			it.Body = s.body
			it.Headers = map[string]string{"Content-Type": "application/json"}
		}
		items = append(items, it)
		pos[it.ID] = i
	}
	if len(items) == 0 {
		return
	}
	var ans struct {
		Responses []batchAnswer `json:"responses"`
	}
	r, err := d.do(ctx, "batch "+string(a), http.MethodPost, d.base+"/$batch", nil,
		map[string]any{"requests": items}, &ans)
	if err != nil {
		d.log.Warn("graph batch failed; doing its targets one by one", "action", string(a),
			"targets", len(items), "error", err.Error())
		for _, it := range items {
			i := pos[it.ID]
			out[i] = d.performOne(ctx, a, ts[i])
		}
		return
	}
	answered := make(map[int]bool, len(items))
	var again []throttled
	for _, an := range ans.Responses {
		i, ok := pos[an.ID]
		if !ok || answered[i] {
			continue
		}
		answered[i] = true
		if an.Status/100 == 2 {
			out[i] = actions.BatchResult{Performed: actions.Performed{
				Outcome: actions.OutcomeOK,
				Detail:  withRequestID(ops[i].done, firstNonEmpty(header(an.Headers, "request-id"), r.requestID)),
			}}
			continue
		}
		de := d.answerError(ops[i].op, an.Status, http.Header{}, an.Body)
		if id := header(an.Headers, "request-id"); id != "" {
			de.RequestID = id
		}
		de.RetryAfter = actions.ParseRetryAfter(header(an.Headers, "Retry-After"), d.cfg.Now())
		switch an.Status {
		case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			again = append(again, throttled{i, de})
		default:
			out[i] = actions.BatchResult{Err: de}
		}
	}
	for _, it := range items {
		if i := pos[it.ID]; !answered[i] {
			// Graph left it out of the answer: do it on its own.
			again = append(again, throttled{i: i})
		}
	}
	d.retryEach(ctx, a, ts, out, again)
}

type throttled struct {
	i   int
	err *actions.DirectoryError // nil when Graph gave no answer for it
}

// retryEach performs throttled batch items on their own, each after its own
// Retry-After (capped by the retry policy), a few at a time.
func (d *Directory) retryEach(ctx context.Context, a actions.Action, ts []actions.Target, out []actions.BatchResult, items []throttled) {
	if len(items) == 0 {
		return
	}
	sem := make(chan struct{}, retryWorkers)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if it.err != nil {
				if err := d.cfg.Sleep(ctx, d.cfg.Retry.Wait(1, it.err.RetryAfter)); err != nil {
					out[it.i] = actions.BatchResult{Err: it.err}
					return
				}
			}
			out[it.i] = d.performOne(ctx, a, ts[it.i])
		}()
	}
	wg.Wait()
}

// header looks a batch item's header up without regard to case.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if http.CanonicalHeaderKey(k) == http.CanonicalHeaderKey(name) {
			return v
		}
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
