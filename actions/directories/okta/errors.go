package okta

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/mfadesk/mfadesk/actions"
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
// keeps Okta's request ID (or, failing that, the errorId). The shared client
// adds the wait: until X-Rate-Limit-Reset for a 429.
func decodeError(op string, resp *http.Response, body []byte, _ time.Time) *actions.DirectoryError {
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
	return de
}
