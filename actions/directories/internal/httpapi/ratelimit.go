package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Rate-limit headers (Okta sends them on every answer; the client honours
// them from any provider): X-Rate-Limit-Remaining is how many calls the
// current window has left, X-Rate-Limit-Reset when it resets, in UTC epoch
// seconds.
const (
	headerRemaining = "X-Rate-Limit-Remaining"
	headerReset     = "X-Rate-Limit-Reset"
)

// UntilReset is how long until X-Rate-Limit-Reset. It measures from the
// answer's Date header when there is one, so that a clock skew between the
// provider and this host does not matter, and it is at least one second:
// the reset has one-second granularity. ok is false without a usable
// header.
func UntilReset(h http.Header, now time.Time) (d time.Duration, ok bool) {
	secs, err := strconv.ParseInt(strings.TrimSpace(h.Get(headerReset)), 10, 64)
	if err != nil || secs <= 0 {
		return 0, false
	}
	from := now
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		from = t
	}
	return max(time.Unix(secs, 0).Sub(from), time.Second), true
}

// noteWindow holds the next calls back when an answer says the rate-limit
// window is used up (X-Rate-Limit-Remaining: 0): until X-Rate-Limit-Reset.
// A 429 does not: its retry waits for the reset already (see send).
func (c *Client) noteWindow(resp *http.Response, now time.Time) {
	if resp.StatusCode == http.StatusTooManyRequests || strings.TrimSpace(resp.Header.Get(headerRemaining)) != "0" {
		return
	}
	d, ok := UntilReset(resp.Header, now)
	if !ok {
		return
	}
	t := now.Add(d)
	c.mu.Lock()
	if t.After(c.notBefore) {
		c.notBefore = t
	}
	c.mu.Unlock()
}

// waitWindow holds a call back until a used-up rate-limit window resets,
// at most Retry.Max.
func (c *Client) waitWindow(ctx context.Context) error {
	c.mu.Lock()
	nb := c.notBefore
	c.mu.Unlock()
	if nb.IsZero() {
		return nil
	}
	d := nb.Sub(c.Now())
	if d <= 0 {
		return nil
	}
	d = min(d, c.Retry.Max)
	c.Logger.LogAttrs(ctx, slog.LevelInfo, "rate limit used up, pausing", slog.Duration("wait", d))
	return c.Sleep(ctx, d)
}
