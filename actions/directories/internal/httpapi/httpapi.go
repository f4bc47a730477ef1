// Package httpapi is the one HTTP client that the directory adapters (entra,
// google, okta) share, and the only place where mfadesk retries a call to a
// directory (README, "Retries"). It builds JSON requests, bounds each attempt
// with a timeout, retries throttled and transient answers under one
// RetryPolicy (honouring Retry-After, in seconds or as an HTTP date, and
// X-Rate-Limit-Reset), holds calls back while a rate-limit window is used up
// (X-Rate-Limit-Remaining: 0), optionally adapts the number of requests in
// flight to the provider's throttling (Pacer), and gives every failure the
// shape of an *actions.DirectoryError. What an error body means stays with
// each provider, which passes a Decoder; credentials too (Authorize).
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
	defaultMaxBody = 4 << 20  // largest success body read, unless Options say
	maxErrorBody   = 64 << 10 // largest error body read
)

// Decoder turns an answer outside 2xx into the provider's error. body is the
// (possibly truncated) response body and now the client's clock when the
// answer came. It never returns nil. A RetryAfter it leaves at 0 is filled
// from the answer's Retry-After header.
type Decoder func(op string, resp *http.Response, body []byte, now time.Time) *actions.DirectoryError

// Options configure a Client; New checks them and fills the defaults.
type Options struct {
	// BaseURL is the scheme and host (and optional path prefix), without a
	// trailing slash; request paths are appended to it. Required.
	BaseURL string
	// HTTP sends the requests. Default: a client without an overall timeout
	// (Timeout bounds each attempt) that keeps up to 32 idle connections per
	// host, for concurrent workers.
	HTTP *http.Client
	// Retry bounds the tries of each call; the zero value means
	// DefaultRetry.
	Retry RetryPolicy
	// Timeout bounds each attempt, credentials included; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// MaxBody bounds what is read of a successful answer; 0 means 4 MiB.
	MaxBody int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits between tries and while a rate-limit window is used up;
	// nil means actions.SleepContext. Tests inject one that records.
	Sleep func(context.Context, time.Duration) error
	// Logger gets one line per failed attempt (never a body or a
	// credential); nil discards.
	Logger *slog.Logger
	// UserAgent is sent with every request when set.
	UserAgent string
	// RequestIDHeader names the header that carries the provider's ID of
	// each request ("request-id" on Graph, "X-Okta-Request-Id"); the client
	// puts it in Response.RequestID and in the errors it makes itself.
	RequestIDHeader string
	// Authorize sets credentials on each attempt. An *actions.DirectoryError
	// it returns is the attempt's error, retried when it is retryable (a
	// token endpoint that throttles). Any other error is final, returned as
	// "op: error" and never retried (a credential that is refused stays
	// refused), unless the attempt's own timeout ran out first: then it is
	// a transient "no answer".
	Authorize func(ctx context.Context, req *http.Request) error
	// Decode turns a non-2xx answer into an error. Required.
	Decode Decoder
	// Pacing bounds the requests in flight with a Pacer that shrinks when
	// the provider throttles and grows back as it answers.
	Pacing bool
}

// Client sends JSON requests to one API. Make it with New. It is safe for
// concurrent use; its Options must not change once it is in use (tests set
// them before).
type Client struct {
	Options
	pacer *Pacer

	mu        sync.Mutex
	notBefore time.Time // a used-up rate-limit window resets then
}

// New checks o, fills its defaults and returns the client. Its error names
// what is wrong with o.
func New(o Options) (*Client, error) {
	if o.BaseURL == "" {
		return nil, errors.New("no base URL")
	}
	if o.Decode == nil {
		return nil, errors.New("no error decoder")
	}
	o.Retry = o.Retry.OrDefault()
	if err := o.Retry.Check(); err != nil {
		return nil, err
	}
	if o.Timeout < 0 {
		return nil, fmt.Errorf("negative call timeout %s", o.Timeout)
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = defaultMaxBody
	}
	if o.HTTP == nil {
		// The default transport keeps 2 idle connections per host, so
		// concurrent workers would keep redialling.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		o.HTTP = &http.Client{Transport: tr}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = actions.SleepContext
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Client{Options: o}
	if o.Pacing {
		c.pacer = NewPacer()
	}
	return c, nil
}

// Request is one API call.
type Request struct {
	// Op names the call for errors and logs, e.g. "suspend user".
	Op     string
	Method string
	// Path is appended to BaseURL; its segments must already be escaped
	// (url.PathEscape), and it starts with "/".
	Path string
	// Query is encoded with url.Values.Encode. RawQuery, used when Query
	// is empty, is sent as it is (Graph's OData options keep their "$").
	Query    url.Values
	RawQuery string
	// Body, when non-nil, is sent as JSON. It is never logged.
	Body any
	// Ticket, when set, holds the Pacer units of the whole call (a $batch
	// holds one per request it carries): its attempts take none of their
	// own, and the caller gives them back (Client.Release).
	Ticket *Ticket
	// Tried counts the tries of this call already made elsewhere (as an
	// item of $batch requests): Do makes at most Retry.Attempts-Tried more.
	Tried int
	// After is the retryable error that the last of those tries ended with
	// (the item was throttled inside the batch): Do waits as the policy
	// says for it before its first try, and returns it when no try is left.
	// Nil: Do tries at once, and when no try is left returns a final
	// (not retryable) error.
	After error
	// NotIdempotent marks a call that must not happen twice (a push sent to
	// a person's phone): Do tries it again only after an answer that shows
	// the request was not processed (429, 503), never after no answer, a
	// transport error or another 5xx, since the first try may have reached
	// the provider.
	NotIdempotent bool
}

// Response is what came back from the last attempt.
type Response struct {
	Status int
	Header http.Header
	// RequestID is the provider's ID of the request (see RequestIDHeader).
	RequestID string
	// Attempts counts the tries of the call, Request.Tried included.
	Attempts int
}

// Do sends r, retrying throttled and transient failures under c.Retry: at
// most Retry.Attempts tries in all, each wait Retry.Wait (a server's
// Retry-After up to Retry.Max). On a 2xx answer it decodes a non-empty body
// into out (when out is non-nil). It returns an *actions.DirectoryError for
// every failure but a request that cannot be built and a final Authorize
// error; when ctx ends, the last error is returned (it wraps ctx's error when
// ctx ended during a try).
func (c *Client) Do(ctx context.Context, r Request, out any) (Response, error) {
	var body []byte
	if r.Body != nil {
		b, err := json.Marshal(r.Body)
		if err != nil {
			return Response{}, fmt.Errorf("%s: encode request: %w", r.Op, err)
		}
		body = b
	}
	tries, err := r.Tried, r.After
	var res Response
	for tries < c.Retry.Attempts {
		if tries > 0 && err != nil {
			ok, after := c.retryable(r, err)
			if !ok || c.Sleep(ctx, c.Retry.Wait(tries, after)) != nil {
				break
			}
		}
		tries++
		res, err = c.attempt(ctx, r, body, out)
		if err == nil {
			break
		}
		c.logFailure(ctx, r.Op, tries, err)
	}
	if err == nil && tries == r.Tried {
		// The tries made elsewhere used the policy up and left no error
		// to report (Graph left the item out of a $batch answer). That is
		// final: another call would get no try either.
		err = &actions.DirectoryError{Op: r.Op, Message: fmt.Sprintf("no try left after %d", tries)}
	}
	res.Attempts = tries
	return res, err
}

// retryable reports whether r may be tried again after err, and the wait the
// server asked for: see Retryable and Request.NotIdempotent.
func (c *Client) retryable(r Request, err error) (bool, time.Duration) {
	ok, after := Retryable(err)
	if ok && r.NotIdempotent && !HasStatus(err, http.StatusTooManyRequests, http.StatusServiceUnavailable) {
		return false, 0
	}
	return ok, after
}

// attempt is one try: it waits for a used-up rate-limit window and for a
// pacer unit, then sends the request.
func (c *Client) attempt(ctx context.Context, r Request, body []byte, out any) (Response, error) {
	if err := c.waitWindow(ctx); err != nil {
		return Response{}, &actions.DirectoryError{Op: r.Op, Err: err}
	}
	if c.pacer == nil || r.Ticket != nil {
		return c.send(ctx, r, body, out)
	}
	t, err := c.pacer.Acquire(ctx, 1)
	if err != nil {
		return Response{}, &actions.DirectoryError{Op: r.Op, Err: err}
	}
	res, err := c.send(ctx, r, body, out)
	if ThrottledErr(err) {
		c.pacer.Release(t, 1, 0)
	} else {
		c.pacer.Release(t, 0, 1)
	}
	return res, err
}

// send makes one HTTP round trip.
func (c *Client) send(ctx context.Context, r Request, body []byte, out any) (Response, error) {
	actx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	u := c.BaseURL + r.Path
	switch {
	case len(r.Query) > 0:
		u += "?" + r.Query.Encode()
	case r.RawQuery != "":
		u += "?" + r.RawQuery
	}
	var bodyReader io.Reader
	if body != nil {
		bodyReader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, r.Method, u, bodyReader)
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
			switch {
			case errors.As(err, &de):
				return Response{Status: de.Status}, de
			case c.timedOut(ctx, actx):
				return Response{}, &actions.DirectoryError{Op: r.Op, Err: c.noAnswer()}
			}
			return Response{}, fmt.Errorf("%s: %w", r.Op, err)
		}
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Response{}, &actions.DirectoryError{Op: r.Op, Err: c.transportErr(ctx, actx, err)}
	}
	defer resp.Body.Close()
	now := c.Now()
	c.noteWindow(resp, now)
	res := Response{Status: resp.StatusCode, Header: resp.Header}
	if c.RequestIDHeader != "" {
		res.RequestID = resp.Header.Get(c.RequestIDHeader)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		de := c.Decode(r.Op, resp, b, now)
		if de.RetryAfter == 0 {
			de.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), now)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			if d, ok := UntilReset(resp.Header, now); ok {
				de.RetryAfter = max(de.RetryAfter, d)
			}
		}
		return res, de
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxBody))
	if err != nil {
		return res, &actions.DirectoryError{Op: r.Op, RequestID: res.RequestID, Err: c.transportErr(ctx, actx, err)}
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return res, &actions.DirectoryError{Op: r.Op, Status: resp.StatusCode, RequestID: res.RequestID,
				Message: "unreadable response body", Err: err}
		}
	}
	return res, nil
}

// timedOut reports whether the attempt's own deadline passed while the
// caller's context is alive.
func (c *Client) timedOut(parent, attempt context.Context) bool {
	return parent.Err() == nil && errors.Is(attempt.Err(), context.DeadlineExceeded)
}

// noAnswer is the error of an attempt that ran out of its time. It does not
// wrap context.DeadlineExceeded, which actions treats as final.
func (c *Client) noAnswer() error {
	return fmt.Errorf("no answer within %s", c.Timeout)
}

// transportErr keeps a per-attempt timeout retryable (see noAnswer).
func (c *Client) transportErr(parent, attempt context.Context, err error) error {
	if c.timedOut(parent, attempt) {
		return c.noAnswer()
	}
	return err
}

// logFailure logs a failed try: at warning level when the policy may try it
// again, at debug level otherwise, since the caller gets and reports that
// error. Never a body or a credential.
func (c *Client) logFailure(ctx context.Context, op string, try int, err error) {
	var de *actions.DirectoryError
	if !errors.As(err, &de) {
		c.Logger.LogAttrs(ctx, slog.LevelWarn, "directory call failed",
			slog.String("op", op), slog.Int("attempt", try), slog.String("error", err.Error()))
		return
	}
	level, msg := slog.LevelDebug, "directory call failed"
	if de.Retryable() {
		level, msg = slog.LevelWarn, "directory call failed, may retry"
	}
	c.Logger.LogAttrs(ctx, level, msg, slog.String("op", op), slog.Int("attempt", try),
		slog.Int("status", de.Status), slog.String("code", de.Code),
		slog.String("directory_request_id", de.RequestID), slog.Duration("retry_after", de.RetryAfter),
		slog.Bool("retryable", de.Retryable()), slog.String("error", err.Error()))
}

// Acquire takes Pacer units for a call that carries want requests (a
// $batch): at least one, at most want, as many as the pacer allows now. With
// pacing off it grants want at once. Give them back with Release.
func (c *Client) Acquire(ctx context.Context, want int) (Ticket, error) {
	if c.pacer == nil {
		return Ticket{n: want}, nil
	}
	return c.pacer.Acquire(ctx, want)
}

// Release gives back the units of t (see Pacer.Release).
func (c *Client) Release(t Ticket, throttled, ok int) {
	if c.pacer != nil {
		c.pacer.Release(t, throttled, ok)
	}
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
