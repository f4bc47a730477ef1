package okta

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// requestIDHeader carries Okta's ID of each request; support asks for it.
const requestIDHeader = "X-Okta-Request-Id"

// apiError is Okta's error body (components/schemas/Error).
type apiError struct {
	ErrorCode    string `json:"errorCode"`
	ErrorSummary string `json:"errorSummary"`
	ErrorID      string `json:"errorId"`
	ErrorCauses  []struct {
		ErrorSummary string `json:"errorSummary"`
	} `json:"errorCauses"`
}

// decodeError turns an Okta error answer into an *actions.DirectoryError that
// keeps Okta's request ID (or, failing that, the errorId). A 429 carries the
// wait until X-Rate-Limit-Reset.
func decodeError(op string, resp *http.Response, body []byte, now time.Time) *actions.DirectoryError {
	var e apiError
	_ = json.Unmarshal(body, &e) // an unreadable body leaves the HTTP status alone
	msg := e.ErrorSummary
	for _, c := range e.ErrorCauses {
		if c.ErrorSummary != "" && !strings.Contains(msg, c.ErrorSummary) {
			msg += "; " + c.ErrorSummary
		}
	}
	de := &actions.DirectoryError{
		Op:        op,
		Status:    resp.StatusCode,
		Code:      e.ErrorCode,
		Message:   msg,
		RequestID: resp.Header.Get(requestIDHeader),
	}
	if de.RequestID == "" {
		de.RequestID = e.ErrorID
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		if d, ok := untilReset(resp.Header, now); ok {
			de.RetryAfter = max(d, httpapi.ParseRetryAfter(resp.Header.Get("Retry-After"), now))
		}
	}
	return de
}

// pace holds the next call back when an answer says the rate-limit window is
// used up (X-Rate-Limit-Remaining: 0): until X-Rate-Limit-Reset.
func pace(resp *http.Response, now time.Time) time.Time {
	if resp.StatusCode == http.StatusTooManyRequests {
		return time.Time{} // the retry waits for the reset already
	}
	if strings.TrimSpace(resp.Header.Get("X-Rate-Limit-Remaining")) != "0" {
		return time.Time{}
	}
	d, ok := untilReset(resp.Header, now)
	if !ok {
		return time.Time{}
	}
	return now.Add(d)
}

// untilReset is how long until X-Rate-Limit-Reset (UTC epoch seconds). It
// measures from the answer's Date header when there is one, so that a clock
// skew between Okta and this host does not matter, and it is at least one
// second: the reset has one-second granularity.
func untilReset(h http.Header, now time.Time) (time.Duration, bool) {
	secs, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Rate-Limit-Reset")), 10, 64)
	if err != nil || secs <= 0 {
		return 0, false
	}
	from := now
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		from = t
	}
	return max(time.Unix(secs, 0).Sub(from), time.Second), true
}
