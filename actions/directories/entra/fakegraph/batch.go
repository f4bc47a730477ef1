package fakegraph

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// tokenBucket is a Graph-like throttle: rate requests a second, bursts of
// burst.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate, burst float64) *tokenBucket {
	return &tokenBucket{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// take spends a token, or says how long until one is there.
func (b *tokenBucket) take() (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// batch answers POST /$batch: every inner request is served (and throttled)
// on its own; answers come back in reverse order, as Graph does not promise
// any order.
func (g *Server) batch(r fakeReq) fakeResp {
	g.calls.Add("POST /$batch")
	if hit, ok := g.faults.Take("$batch"); ok {
		resp := g.errResp(hit.Status, hit.Code, "Injected batch failure.")
		hit.WriteHeaders(resp.header)
		return resp
	}
	var in struct {
		Requests []struct {
			ID      string            `json:"id"`
			Method  string            `json:"method"`
			URL     string            `json:"url"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		} `json:"requests"`
	}
	if err := json.Unmarshal(r.body, &in); err != nil || len(in.Requests) == 0 {
		return g.errResp(400, "BadRequest", "Invalid batch payload.")
	}
	if len(in.Requests) > 20 {
		return g.errResp(400, "BadRequest", "A batch takes at most 20 requests.")
	}
	seen := map[string]bool{}
	var out []any
	for i := len(in.Requests) - 1; i >= 0; i-- {
		q := in.Requests[i]
		if q.ID == "" || seen[q.ID] || !strings.HasPrefix(q.URL, "/") {
			return g.errResp(400, "BadRequest", "Batch request ids must be unique and URLs relative.")
		}
		seen[q.ID] = true
		hdr := http.Header{}
		for k, v := range q.Headers {
			hdr.Set(k, v)
		}
		body := []byte(bytes.TrimSpace(q.Body))
		if len(body) > 0 && string(body) != "null" && hdr.Get("Content-Type") == "" {
			out = append(out, map[string]any{"id": q.ID, "status": 400, "body": g.errResp(400, "BadRequest", "Content-Type header is required with a body.").body})
			continue
		}
		p, rawQ, _ := strings.Cut(q.URL, "?")
		qv, _ := url.ParseQuery(rawQ)
		resp := g.handle(fakeReq{method: q.Method, path: p, query: qv, raw: rawQ, header: hdr, body: body, batch: true})
		item := map[string]any{"id": q.ID, "status": resp.status}
		h := map[string]string{}
		for k := range resp.header {
			h[k] = resp.header.Get(k)
		}
		item["headers"] = h
		if resp.body != nil {
			item["body"] = resp.body
		}
		out = append(out, item)
	}
	return g.ok(200, map[string]any{"responses": out})
}
