// Package httpapi is the small JSON-over-HTTP client that the directory
// adapters (okta, google) share: request building, per-call timeouts,
// retries through RetryPolicy, pacing before the next call, and the
// skeleton of error decoding. What an error body means stays with each
// provider, which passes a Decode function.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mfadesk/mfadesk/actions"
)

// DefaultTimeout bounds one HTTP attempt when the client names none.
const DefaultTimeout = 30 * time.Second

const (
	maxBody      = 4 << 20  // largest success body read
	maxErrorBody = 64 << 10 // largest error body read
)

// Decoder turns an answer outside 2xx into the provider's error. body is the
// (possibly truncated) response body and now the client's clock when the
// answer came. It never returns nil.
type Decoder func(op string, resp *http.Response, body []byte, now time.Time) *actions.DirectoryError

// Client sends JSON requests to one API. Its zero value is not usable: set
// BaseURL, HTTP and Decode. It is safe for concurrent use.
type Client struct {
	// BaseURL is the scheme and host (and optional path prefix), without a
	// trailing slash; request paths are appended to it.
	BaseURL string
	HTTP    *http.Client
	Retry   RetryPolicy
	// Timeout bounds each attempt; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits between attempts and before paced calls; nil means
	// actions.SleepContext. Tests inject it.
	Sleep  func(context.Context, time.Duration) error
	Logger *slog.Logger
	// UserAgent is sent with every request when set.
	UserAgent string
	// Authorize sets credentials on each attempt. An *actions.DirectoryError
	// it returns is passed on as is (so a token endpoint's refusal is not
	// retried); any other error counts as a transport error.
	Authorize func(ctx context.Context, req *http.Request) error
	// Decode turns a non-2xx answer into an error.
	Decode Decoder
	// Pace, when set, sees every answer and may name a time before which
	// the next call should not start (a rate-limit window that is used up).
	// The wait is capped at Retry.Max.
	Pace func(resp *http.Response, now time.Time) time.Time

	mu        sync.Mutex
	notBefore time.Time
}

// Request is one API call.
type Request struct {
	// Op names the call for errors and logs, e.g. "suspend user".
	Op     string
	Method string
	// Path is appended to BaseURL; its segments must already be escaped
	// (url.PathEscape), and it starts with "/".
	Path  string
	Query url.Values
	// Body, when non-nil, is sent as JSON. It is never logged.
	Body any
}

// Response is what came back from the last attempt.
type Response struct {
	Status   int
	Header   http.Header
	Attempts int
}

// Do sends r, retrying throttled and transient failures under c.Retry. On a
// 2xx answer it decodes a non-empty body into out (when out is non-nil). It
// returns an *actions.DirectoryError for every failure but a request that
// cannot be built; when ctx ends, that error wraps ctx's error.
func (c *Client) Do(ctx context.Context, r Request, out any) (Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return Response{}, fmt.Errorf("%s: encode request: %w", r.Op, err)
		}
		body = b
	}
	var last Response
	attempts, err := c.Retry.Do(ctx, c.Sleep, func(ctx context.Context) error {
		resp, err := c.attempt(ctx, r, body, out)
		last = resp
		if err != nil {
			if ok, _ := Retryable(err); ok {
				c.logger().LogAttrs(ctx, slog.LevelWarn, "directory call failed, may retry",
					slog.String("op", r.Op), slog.Int("status", resp.Status), slog.String("error", err.Error()))
			}
		}
		return err
	})
	last.Attempts = attempts
	return last, err
}

func (c *Client) attempt(ctx context.Context, r Request, body []byte, out any) (Response, error) {
	if err := c.waitPace(ctx); err != nil {
		return Response{}, &actions.DirectoryError{Op: r.Op, Err: err}
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	u := c.BaseURL + r.Path
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, u, rd)
	if err != nil {
		return Response{}, fmt.Errorf("%s: build request: %w", r.Op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if c.Authorize != nil {
		if err := c.Authorize(actx, req); err != nil {
			var de *actions.DirectoryError
			if errors.As(err, &de) {
				return Response{Status: de.Status}, de
			}
			return Response{}, &actions.DirectoryError{Op: r.Op, Err: c.transportErr(ctx, actx, err)}
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, &actions.DirectoryError{Op: r.Op, Err: c.transportErr(ctx, actx, err)}
	}
	defer resp.Body.Close()
	now := c.now()
	if c.Pace != nil {
		c.setPace(c.Pace(resp, now))
	}
	res := Response{Status: resp.StatusCode, Header: resp.Header}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		de := c.Decode(r.Op, resp, b, now)
		if de.RetryAfter == 0 {
			de.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		}
		return res, de
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return res, &actions.DirectoryError{Op: r.Op, Err: c.transportErr(ctx, actx, err)}
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return res, &actions.DirectoryError{Op: r.Op, Status: resp.StatusCode,
				Message: "unreadable response body", Err: err}
		}
	}
	return res, nil
}

// transportErr keeps a per-attempt timeout retryable: when the attempt's own
// deadline passed but the caller's context is alive, the error no longer
// wraps context.DeadlineExceeded (which actions treats as final).
func (c *Client) transportErr(parent, attempt context.Context, err error) error {
	if parent.Err() == nil && errors.Is(attempt.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", c.timeoutOrDefault())
	}
	return err
}

func (c *Client) timeoutOrDefault() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Client) setPace(t time.Time) {
	if t.IsZero() {
		return
	}
	c.mu.Lock()
	if t.After(c.notBefore) {
		c.notBefore = t
	}
	c.mu.Unlock()
}

// waitPace holds the call back until a used-up rate-limit window resets,
// at most Retry.Max.
func (c *Client) waitPace(ctx context.Context) error {
	c.mu.Lock()
	nb := c.notBefore
	c.mu.Unlock()
	if nb.IsZero() {
		return nil
	}
	d := nb.Sub(c.now())
	if d <= 0 {
		return nil
	}
	if c.Retry.Max > 0 && d > c.Retry.Max {
		d = c.Retry.Max
	}
	c.logger().LogAttrs(ctx, slog.LevelInfo, "rate limit used up, pausing", slog.Duration("wait", d))
	sleep := c.Sleep
	if sleep == nil {
		sleep = actions.SleepContext
	}
	return sleep(ctx, d)
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Path joins literal segments and escapes each one, e.g.
// Path("users", "a/b@x") is "/users/a%2Fb@x".
func Path(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// CheckBaseURL parses raw as an API base URL: https, or http only for a
// loopback host (tests). It returns raw without a trailing slash.
func CheckBaseURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("not a URL: %w", err)
	}
	if u.Host == "" {
		return "", errors.New("not an absolute URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must have no user, query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		switch u.Hostname() {
		case "127.0.0.1", "localhost", "::1":
		default:
			return "", errors.New("must use https")
		}
	default:
		return "", errors.New("must use https")
	}
	return strings.TrimRight(u.String(), "/"), nil
}
