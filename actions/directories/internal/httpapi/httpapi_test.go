package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/sleeprec"
)

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"https://example.okta.com/", "https://example.okta.com", ""},
		{" https://admin.googleapis.com ", "https://admin.googleapis.com", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://localhost:1/", "http://localhost:1", ""},
		{"http://example.com", "", "must use https"},
		{"ftp://example.com", "", "must use https"},
		{"example.com", "", "not an absolute URL"},
		{"https://u:p@example.com", "", "no user"},
		{"https://example.com/?a=b", "", "no user, query or fragment"},
	}
	for _, tt := range tests {
		got, err := CheckBaseURL(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CheckBaseURL(%q) err = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CheckBaseURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestPath(t *testing.T) {
	if got, want := Path("users", "a/b@x.com", "asps", "12"), "/users/a%2Fb@x.com/asps/12"; got != want {
		t.Errorf("Path = %q, want %q", got, want)
	}
}

var testNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// server answers each request with answer(n), n counting from 1, and counts
// the requests.
type server struct {
	*httptest.Server
	hits atomic.Int32
}

func newServer(t *testing.T, answer func(n int, w http.ResponseWriter)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		answer(int(s.hits.Add(1)), w)
	}))
	t.Cleanup(s.Close)
	return s
}

// status answers code with the headers given as name, value pairs.
func status(w http.ResponseWriter, code int, header ...string) {
	for i := 0; i+1 < len(header); i += 2 {
		w.Header().Set(header[i], header[i+1])
	}
	w.WriteHeader(code)
	if code != http.StatusNoContent {
		_, _ = w.Write([]byte(`{"error":"injected"}`))
	}
}

// newClient points a client at srv with a fixed clock and recorded waits;
// mods change its options first.
func newClient(t *testing.T, srv *server, mods ...func(*Options)) (*Client, *sleeprec.Recorder) {
	t.Helper()
	w := &sleeprec.Recorder{}
	o := Options{
		BaseURL: srv.URL, HTTP: srv.Client(), Retry: DefaultRetry,
		Now: func() time.Time { return testNow }, Sleep: w.Sleep, RequestIDHeader: "Request-Id",
		Decode: func(op string, resp *http.Response, body []byte, _ time.Time) *actions.DirectoryError {
			return &actions.DirectoryError{Op: op, Status: resp.StatusCode, Message: string(body)}
		},
	}
	for _, m := range mods {
		m(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

var get = Request{Op: "get user", Method: http.MethodGet, Path: "/users/1"}

// TestMaxTries shows the most tries one call gets under the default policy
// (DefaultRetry: 6) against a server that never stops failing, and the waits
// between them: a server's Retry-After (seconds, or an HTTP date) or
// X-Rate-Limit-Reset honoured up to the policy's Max of 60 s, jittered
// exponential backoff without one. An answer that is not worth another try
// is tried once.
func TestMaxTries(t *testing.T) {
	backoff := []time.Duration{0, 0, 0, 0, 0} // any, within the policy's bounds
	tests := []struct {
		name      string
		code      int
		header    []string
		wantTries int
		wantWaits []time.Duration // exact, 0 where any backoff will do
	}{
		{"429 with Retry-After in seconds", 429, []string{"Retry-After", "2"}, 6,
			[]time.Duration{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second}},
		{"429 with Retry-After as an HTTP date", 429, []string{"Retry-After", testNow.Add(90 * time.Second).Format(http.TimeFormat)}, 6,
			[]time.Duration{time.Minute, time.Minute, time.Minute, time.Minute, time.Minute}},
		{"429 with a long Retry-After, capped", 429, []string{"Retry-After", "3600"}, 6,
			[]time.Duration{time.Minute, time.Minute, time.Minute, time.Minute, time.Minute}},
		{"429 with X-Rate-Limit-Reset", 429, []string{"X-Rate-Limit-Reset", strconv.FormatInt(testNow.Add(20*time.Second).Unix(), 10),
			"Date", testNow.Format(http.TimeFormat)}, 6,
			[]time.Duration{20 * time.Second, 20 * time.Second, 20 * time.Second, 20 * time.Second, 20 * time.Second}},
		{"503 without Retry-After", 503, nil, 6, backoff},
		{"503 with Retry-After", 503, []string{"Retry-After", "5"}, 6,
			[]time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"500", 500, nil, 6, backoff},
		{"400 is tried once", 400, nil, 1, nil},
		{"403 is tried once", 403, []string{"Retry-After", "2"}, 1, nil},
		{"404 is tried once", 404, nil, 1, nil},
		{"409 is tried once", 409, nil, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter) { status(w, tt.code, append(tt.header, "Request-Id", "rq-1")...) })
			c, w := newClient(t, srv)
			res, err := c.Do(context.Background(), get, nil)
			var de *actions.DirectoryError
			if !errors.As(err, &de) || de.Status != tt.code || de.Op != "get user" {
				t.Fatalf("err = %v, want a DirectoryError with status %d", err, tt.code)
			}
			if got := int(srv.hits.Load()); got != tt.wantTries || res.Attempts != tt.wantTries {
				t.Errorf("%d requests, Attempts %d; want %d", got, res.Attempts, tt.wantTries)
			}
			if res.Status != tt.code || res.RequestID != "rq-1" {
				t.Errorf("response = %+v", res)
			}
			got := w.All()
			if len(got) != len(tt.wantWaits) {
				t.Fatalf("waits = %v, want %d", got, len(tt.wantWaits))
			}
			for i, want := range tt.wantWaits {
				lo, hi := want, want
				if want == 0 {
					lo, hi = DefaultRetry.Base/2<<i, min(DefaultRetry.Base<<i, DefaultRetry.Max)
				}
				if got[i] < lo || got[i] > hi {
					t.Errorf("wait %d = %s, want in [%s, %s]", i+1, got[i], lo, hi)
				}
			}
		})
	}
}

// TestRecovers: a call that succeeds after failures takes one try more than
// it failed, and the answer of the last.
func TestRecovers(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter) {
		switch n {
		case 1:
			status(w, 429, "Retry-After", "1")
		case 2:
			status(w, 502)
		default:
			_, _ = w.Write([]byte(`{"ok":true}`))
		}
	})
	c, w := newClient(t, srv)
	var out struct{ OK bool }
	res, err := c.Do(context.Background(), get, &out)
	if err != nil || !out.OK || res.Attempts != 3 || res.Status != 200 || len(w.All()) != 2 {
		t.Fatalf("Do = %+v, %v, %+v after waits %v", res, err, out, w.All())
	}
}

// TestTriedElsewhere: a call whose first tries were made elsewhere (items of
// a $batch) gets only what is left of the policy's tries, after the wait its
// last failure asked for.
func TestTriedElsewhere(t *testing.T) {
	throttled := &actions.DirectoryError{Op: "get user", Status: 429, RetryAfter: 3 * time.Second}
	tests := []struct {
		name      string
		tried     int
		after     error
		wantHits  int
		firstWait time.Duration // 0: none
	}{
		{"throttled in the first batch", 1, throttled, 5, 3 * time.Second},
		{"throttled in the fourth", 4, throttled, 2, 3 * time.Second},
		{"no try left", 6, throttled, 0, 0},
		{"left out of a batch answer: at once", 2, nil, 4, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter) { status(w, 503) })
			c, w := newClient(t, srv)
			r := get
			r.Tried, r.After = tt.tried, tt.after
			res, err := c.Do(context.Background(), r, nil)
			if ok, _ := Retryable(err); !ok || int(srv.hits.Load()) != tt.wantHits || res.Attempts != 6 {
				t.Fatalf("Do = %+v, %v after %d requests; want %d requests, 6 tries in all", res, err, srv.hits.Load(), tt.wantHits)
			}
			if tt.wantHits == 0 && !errors.Is(err, throttled) {
				t.Errorf("err = %v, want the error of the last try made elsewhere", err)
			}
			got := w.All()
			switch {
			case tt.firstWait == 0 && tt.wantHits > 0 && len(got) != tt.wantHits-1:
				t.Errorf("waits %v: want none before the first try", got)
			case tt.firstWait > 0 && (len(got) != tt.wantHits || got[0] != tt.firstWait):
				t.Errorf("waits %v: want %s first, then one between tries", got, tt.firstWait)
			}
		})
	}
}

// TestPacingShrinksUnderThrottling: with pacing on, every throttled answer
// halves the bound on requests in flight (down to 1); answers that are not
// throttled let it grow back.
func TestPacingShrinksUnderThrottling(t *testing.T) {
	var throttle atomic.Bool
	throttle.Store(true)
	srv := newServer(t, func(_ int, w http.ResponseWriter) {
		if throttle.Load() {
			status(w, 429, "Retry-After", "1")
			return
		}
		status(w, http.StatusNoContent)
	})
	c, _ := newClient(t, srv, func(o *Options) { o.Pacing = true })
	limit := func() float64 { c.pacer.mu.Lock(); defer c.pacer.mu.Unlock(); return c.pacer.limit }
	if got := limit(); got != pacerStart {
		t.Fatalf("limit at start = %.2f", got)
	}
	if _, err := c.Do(context.Background(), get, nil); err == nil {
		t.Fatal("a throttled call succeeded")
	}
	shrunk := limit()
	if shrunk > pacerStart/8 || shrunk < pacerMin {
		t.Errorf("limit after 6 throttled tries = %.2f, want at most %d", shrunk, pacerStart/8)
	}
	// With the limit at one, a second request waits for the first.
	held, _ := c.Acquire(context.Background(), 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, get, nil); !errors.Is(err, context.DeadlineExceeded) || srv.hits.Load() != 6 {
		t.Errorf("call beyond the limit: %v after %d requests, want it held back", err, srv.hits.Load())
	}
	c.Release(held, 0, 0)
	throttle.Store(false)
	for range 20 {
		if _, err := c.Do(context.Background(), get, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got := limit(); got <= shrunk {
		t.Errorf("limit after 20 successes = %.2f, not above %.2f", got, shrunk)
	}
}

// TestTicketHoldsTheUnits: a call made with a ticket takes no units of its
// own: a $batch holding every unit still goes.
func TestTicketHoldsTheUnits(t *testing.T) {
	srv := newServer(t, func(_ int, w http.ResponseWriter) { status(w, http.StatusNoContent) })
	c, _ := newClient(t, srv, func(o *Options) { o.Pacing = true })
	tk, err := c.Acquire(context.Background(), 100)
	if err != nil || tk.Units() != pacerStart {
		t.Fatalf("Acquire(100) = %d units, %v; want %d", tk.Units(), err, pacerStart)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := get
	r.Ticket = &tk
	if _, err := c.Do(ctx, r, nil); err != nil {
		t.Fatal(err)
	}
	c.Release(tk, 0, tk.Units())
}

// TestRateLimitWindow: an answer saying the window is used up holds the next
// call back until the reset, at most the policy's Max.
func TestRateLimitWindow(t *testing.T) {
	for _, tt := range []struct {
		resetIn time.Duration
		want    time.Duration
	}{
		{30 * time.Second, 30 * time.Second},
		{time.Hour, time.Minute},
	} {
		srv := newServer(t, func(_ int, w http.ResponseWriter) {
			status(w, http.StatusNoContent, "X-Rate-Limit-Remaining", "0", "Date", testNow.Format(http.TimeFormat),
				"X-Rate-Limit-Reset", strconv.FormatInt(testNow.Add(tt.resetIn).Unix(), 10))
		})
		c, w := newClient(t, srv)
		for range 2 {
			if _, err := c.Do(context.Background(), get, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := w.All(); len(got) != 1 || got[0] != tt.want {
			t.Errorf("reset in %s: waits %v, want [%s] before the second call", tt.resetIn, got, tt.want)
		}
	}
}

// TestAuthorizeErrors: a DirectoryError from Authorize is retried as any
// answer; any other error is final.
func TestAuthorizeErrors(t *testing.T) {
	srv := newServer(t, func(_ int, w http.ResponseWriter) { status(w, http.StatusNoContent) })
	var calls atomic.Int32
	tests := []struct {
		name      string
		err       error
		wantCalls int32
		wantRetry bool
	}{
		{"token endpoint throttled", &actions.DirectoryError{Op: "get access token", Status: 429}, 6, true},
		{"token endpoint refused", &actions.DirectoryError{Op: "get access token", Status: 400, Code: "unauthorized_client"}, 1, false},
		{"credential refused", errors.New("get token: invalid client secret"), 1, false},
	}
	for _, tt := range tests {
		calls.Store(0)
		c, _ := newClient(t, srv, func(o *Options) {
			o.Authorize = func(context.Context, *http.Request) error { calls.Add(1); return tt.err }
		})
		_, err := c.Do(context.Background(), get, nil)
		if ok, _ := Retryable(err); ok != tt.wantRetry || calls.Load() != tt.wantCalls || !strings.Contains(err.Error(), tt.err.Error()) {
			t.Errorf("%s: err %v after %d calls", tt.name, err, calls.Load())
		}
	}
	if srv.hits.Load() != 0 {
		t.Errorf("%d requests went out without credentials", srv.hits.Load())
	}
}

// TestAttemptTimeoutIsRetried: an attempt that runs out of its own time is
// retried while the caller's context is alive.
func TestAttemptTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			select { // hang until the client gives up on this attempt
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, _ := newClient(t, &server{Server: srv}, func(o *Options) { o.Timeout = 50 * time.Millisecond })
	var out struct{ OK bool }
	res, err := c.Do(context.Background(), get, &out)
	if err != nil || !out.OK || res.Attempts != 2 {
		t.Fatalf("Do = %+v, %v, %+v", res, err, out)
	}
}

func TestCancelledIsNotRetried(t *testing.T) {
	srv := newServer(t, func(_ int, w http.ResponseWriter) {})
	c, _ := newClient(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := c.Do(ctx, get, nil)
	var de *actions.DirectoryError
	if !errors.As(err, &de) || !errors.Is(err, context.Canceled) || de.Retryable() || res.Attempts != 1 {
		t.Fatalf("Do = %+v, %v", res, err)
	}
}

func TestNewChecksOptions(t *testing.T) {
	decode := func(string, *http.Response, []byte, time.Time) *actions.DirectoryError {
		return &actions.DirectoryError{}
	}
	for _, tt := range []struct {
		o       Options
		wantErr string
	}{
		{Options{Decode: decode}, "base URL"},
		{Options{BaseURL: "https://x"}, "decoder"},
		{Options{BaseURL: "https://x", Decode: decode, Retry: RetryPolicy{Attempts: 0, Base: 1, Max: 1}}, "retry policy"},
		{Options{BaseURL: "https://x", Decode: decode, Timeout: -1}, "timeout"},
	} {
		if _, err := New(tt.o); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("New(%+v) = %v, want an error about %q", tt.o, err, tt.wantErr)
		}
	}
	c, err := New(Options{BaseURL: "https://x", Decode: decode})
	if err != nil || c.Retry != DefaultRetry || c.Timeout != DefaultTimeout || c.HTTP == nil || c.pacer != nil {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

// TestNotIdempotent: a call marked NotIdempotent (a push sent to a phone) is
// tried again only after an answer that shows the request was not processed
// (429, 503); after no answer or another 5xx it may have been processed, so
// it fails with one request sent. Unmarked calls keep retrying those.
func TestNotIdempotent(t *testing.T) {
	hangUp := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		_ = conn.Close()
	}
	tests := []struct {
		name          string
		notIdempotent bool
		first         func(w http.ResponseWriter)
		wantHits      int
		wantOK        bool
	}{
		{"500", true, func(w http.ResponseWriter) { status(w, 500) }, 1, false},
		{"502", true, func(w http.ResponseWriter) { status(w, 502) }, 1, false},
		{"504", true, func(w http.ResponseWriter) { status(w, 504) }, 1, false},
		{"no answer", true, hangUp, 1, false},
		{"429", true, func(w http.ResponseWriter) { status(w, 429, "Retry-After", "2") }, 2, true},
		{"503", true, func(w http.ResponseWriter) { status(w, 503) }, 2, true},
		{"503 with Retry-After", true, func(w http.ResponseWriter) { status(w, 503, "Retry-After", "2") }, 2, true},
		{"400", true, func(w http.ResponseWriter) { status(w, 400) }, 1, false},
		{"500, idempotent", false, func(w http.ResponseWriter) { status(w, 500) }, 2, true},
		{"no answer, idempotent", false, hangUp, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(n int, w http.ResponseWriter) {
				if n == 1 {
					tt.first(w)
					return
				}
				_, _ = w.Write([]byte(`{"ok":true}`))
			})
			c, _ := newClient(t, srv)
			r := Request{Op: "send push", Method: http.MethodPost, Path: "/verify", Body: map[string]bool{"x": true},
				NotIdempotent: tt.notIdempotent}
			res, err := c.Do(context.Background(), r, nil)
			if hits := int(srv.hits.Load()); hits != tt.wantHits || (err == nil) != tt.wantOK || res.Attempts != tt.wantHits {
				t.Fatalf("Do = %+v, %v after %d requests; want %d requests, ok %v", res, err, hits, tt.wantHits, tt.wantOK)
			}
		})
	}
}

// TestNoTryLeft: a call whose tries were all made elsewhere (an item of
// $batch requests that Graph left out of the last answer) fails at once with
// a final error, not a transient one that would report the target as worth
// another try; with the retryable error of the last try made elsewhere, it
// returns that.
func TestNoTryLeft(t *testing.T) {
	throttled := &actions.DirectoryError{Op: "get user", Status: 429, RetryAfter: 3 * time.Second}
	tests := []struct {
		name          string
		tried         int
		after         error
		wantHits      int
		wantErr       bool
		wantRetryable bool
	}{
		{"every try made, left out", 6, nil, 0, true, false},
		{"more tries made than the policy has", 7, nil, 0, true, false},
		{"every try made, throttled", 6, throttled, 0, true, true},
		{"one try left", 5, nil, 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter) { _, _ = w.Write([]byte(`{}`)) })
			c, w := newClient(t, srv)
			r := get
			r.Tried, r.After = tt.tried, tt.after
			res, err := c.Do(context.Background(), r, nil)
			if hits := int(srv.hits.Load()); hits != tt.wantHits || (err != nil) != tt.wantErr || res.Attempts != max(tt.tried, 6) {
				t.Fatalf("Do = %+v, %v after %d requests; want %d requests, error %v", res, err, hits, tt.wantHits, tt.wantErr)
			}
			if ok, _ := Retryable(err); ok != tt.wantRetryable {
				t.Errorf("err = %v: retryable %v, want %v", err, ok, tt.wantRetryable)
			}
			if tt.wantErr && !tt.wantRetryable && err.Error() != "get user: no try left after "+strconv.Itoa(tt.tried) {
				t.Errorf("err = %q, want it to say no try is left", err)
			}
			if len(w.All()) != 0 {
				t.Errorf("waits %v, want none", w.All())
			}
		})
	}
}
