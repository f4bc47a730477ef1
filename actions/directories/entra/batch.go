package entra

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
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

// batch does at most 20 targets of a simple action in $batch requests as
// large as the pacer allows.
func (d *Directory) batch(ctx context.Context, a actions.Action, ts []actions.Target, out []actions.BatchResult) {
	ops := make([]simpleOp, len(ts))
	var todo []int
	for i, t := range ts {
		id := strings.TrimSpace(t.DirectoryID)
		if id == "" {
			out[i] = d.performOne(ctx, a, t) // reports the missing id
			continue
		}
		ops[i], _ = simpleFor(a, id)
		todo = append(todo, i)
	}
	var again []throttled
	for len(todo) > 0 {
		t, err := d.pace.acquire(ctx, len(todo))
		if err != nil {
			for _, i := range todo {
				out[i] = actions.BatchResult{Err: &actions.DirectoryError{Op: ops[i].op, Err: err}}
			}
			return
		}
		part := todo[:t.n]
		todo = todo[t.n:]
		res := d.sendBatch(ctx, a, part, ops, out)
		d.pace.release(t, res.throttled, res.ok)
		again = append(again, res.again...)
		if res.failed != nil {
			d.log.Warn("graph batch failed; doing its targets one by one", "action", string(a),
				"targets", len(part), "error", res.failed.Error())
			for _, i := range part {
				out[i] = d.performOne(ctx, a, ts[i])
			}
		}
	}
	d.retryEach(ctx, a, ts, out, again)
}

type batchResult struct {
	ok, throttled int
	again         []throttled
	failed        error // the $batch itself failed: do part one by one
}

// sendBatch sends the targets at positions part in one $batch and records
// their results in out, except those to try again on their own.
func (d *Directory) sendBatch(ctx context.Context, a actions.Action, part []int, ops []simpleOp, out []actions.BatchResult) batchResult {
	items := make([]batchItem, len(part))
	pos := make(map[string]int, len(part))
	for k, i := range part {
		it := batchItem{ID: strconv.Itoa(i + 1), Method: ops[i].method, URL: ops[i].path}
		if ops[i].body != nil {
			it.Body = ops[i].body
			it.Headers = map[string]string{"Content-Type": "application/json"}
		}
		items[k] = it
		pos[it.ID] = i
	}
	var ans struct {
		Responses []batchAnswer `json:"responses"`
	}
	r, err := d.do(ctx, call{op: "batch " + string(a), method: http.MethodPost, url: d.base + "/$batch",
		body: map[string]any{"requests": items}, out: &ans, paced: true})
	if err != nil {
		res := batchResult{failed: err}
		if throttledErr(err) {
			res.throttled = len(part)
		}
		return res
	}
	var res batchResult
	answered := make(map[int]bool, len(part))
	for _, an := range ans.Responses {
		i, ok := pos[an.ID]
		if !ok || answered[i] {
			continue
		}
		answered[i] = true
		if an.Status/100 == 2 {
			res.ok++
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
		de.RetryAfter = httpapi.ParseRetryAfter(header(an.Headers, "Retry-After"), d.cfg.Now())
		if isThrottle(an.Status) {
			res.throttled++
			res.again = append(res.again, throttled{i, de})
			continue
		}
		out[i] = actions.BatchResult{Err: de}
	}
	for _, i := range part {
		if !answered[i] {
			// Graph left it out of the answer: do it on its own.
			res.again = append(res.again, throttled{i: i})
		}
	}
	return res
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
