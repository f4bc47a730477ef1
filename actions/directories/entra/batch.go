package entra

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// maxGraphBatch is the most requests Graph takes in one $batch.
const maxGraphBatch = 20

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
// Perform would. A $batch is sent, and retried, through the shared client;
// it carries as many requests as the pacer lets go now. A request that Graph
// throttles or fails transiently inside a batch (or leaves out of its answer)
// is then sent on its own, after its Retry-After, with the tries that are
// left: each target's request is sent at most as often as the retry policy
// allows in all, inside batches and alone. A batch that Graph refuses as a
// whole is done target by target with the tries that are left.
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
// large as the pacer allows, then sends on its own each request the batches
// left to retry.
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
	var again []retry
	for len(todo) > 0 {
		t, err := d.api.Acquire(ctx, len(todo))
		if err != nil {
			for _, i := range todo {
				out[i] = actions.BatchResult{Err: &actions.DirectoryError{Op: ops[i].op, Err: err}}
			}
			break
		}
		part := todo[:t.Units()]
		todo = todo[t.Units():]
		res := d.sendBatch(ctx, a, part, ops, out, &t)
		d.api.Release(t, res.throttled, res.ok)
		again = append(again, res.again...)
	}
	var wg sync.WaitGroup
	for _, r := range again {
		wg.Go(func() { out[r.i] = d.doSimple(ctx, ops[r.i], r.tried, r.after) })
	}
	wg.Wait()
}

// retry is a target's request to send again on its own: tried times it went
// in a $batch already, and after is the retryable error it last met there
// (nil: send it at once).
type retry struct {
	i     int
	tried int
	after error
}

type batchResult struct {
	ok, throttled int     // for the pacer
	again         []retry // to send on their own
}

// sendBatch sends the targets at positions part in one $batch, holding the
// pacer units of t, and records their results in out, except those to send
// again on their own.
func (d *Directory) sendBatch(ctx context.Context, a actions.Action, part []int, ops []simpleOp, out []actions.BatchResult, t *httpapi.Ticket) batchResult {
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
	req := call{op: "batch " + string(a), method: http.MethodPost, path: "/$batch", body: map[string]any{"requests": items}}.request()
	req.Ticket = t
	r, err := d.api.Do(ctx, req, &ans)
	if err != nil {
		return d.batchFailed(ctx, a, part, out, r.Attempts, err)
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
				Detail:  httpapi.WithRequestID(ops[i].done, cmp.Or(header(an.Headers, "request-id"), r.RequestID)),
			}}
			continue
		}
		de := d.answerError(ops[i].op, an.Status, http.Header{}, an.Body)
		if id := header(an.Headers, "request-id"); id != "" {
			de.RequestID = id
		}
		de.RetryAfter = httpapi.ParseRetryAfter(header(an.Headers, "Retry-After"), d.api.Now())
		if httpapi.Throttled(an.Status) {
			res.throttled++
		}
		if de.Retryable() {
			res.again = append(res.again, retry{i: i, tried: r.Attempts, after: de})
			continue
		}
		out[i] = actions.BatchResult{Err: de}
	}
	for _, i := range part {
		if !answered[i] {
			// Graph left it out of the answer: send it on its own.
			res.again = append(res.again, retry{i: i, tried: r.Attempts})
		}
	}
	return res
}

// batchFailed records what a $batch that failed as a whole, after tries
// tries, means for its targets. Only when Graph refused the batch itself (an
// answer 4xx that is neither 401 nor retryable, such as 400, 403 or 413) and
// tries are left is each target sent on its own with the tries left. Any
// other failure fails each target with it: one the policy retries (so the
// tries are spent), a credential that is refused (a token that cannot be
// had, or 401: every target would ask again and be refused too), no answer,
// or ctx ended.
func (d *Directory) batchFailed(ctx context.Context, a actions.Action, part []int, out []actions.BatchResult, tries int, err error) batchResult {
	var res batchResult
	if httpapi.ThrottledErr(err) {
		res.throttled = len(part)
	}
	if !refusedBatch(err) || tries >= d.api.Retry.Attempts || ctx.Err() != nil {
		for _, i := range part {
			out[i] = actions.BatchResult{Err: err}
		}
		return res
	}
	d.log.Warn("graph batch refused; doing its targets one by one", "action", string(a),
		"targets", len(part), "error", err.Error())
	for _, i := range part {
		res.again = append(res.again, retry{i: i, tried: tries})
	}
	return res
}

// refusedBatch reports whether err is Graph refusing a $batch request
// itself: a 4xx answer other than 401 that is not worth another try.
func refusedBatch(err error) bool {
	var de *actions.DirectoryError
	return errors.As(err, &de) && de.Status/100 == 4 && de.Status != http.StatusUnauthorized && !de.Retryable()
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
