package google

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// apiError is Google's JSON error body.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Status  string `json:"status"`
		Errors  []struct {
			Message string `json:"message"`
			Domain  string `json:"domain"`
			Reason  string `json:"reason"`
		} `json:"errors"`
	} `json:"error"`
}

// throttleReasons are the 403 reasons by which Google says "slow down"
// rather than "not allowed".
var throttleReasons = map[string]bool{"rateLimitExceeded": true, "userRateLimitExceeded": true}

// decodeError turns a Google error answer into an *actions.DirectoryError
// whose Code is the first reason (or the status name). A 403 whose reason is
// a rate limit is reported as 429, the status actions retries, with the
// original status kept in the message.
func decodeError(op string, resp *http.Response, body []byte, _ time.Time) *actions.DirectoryError {
	var e apiError
	_ = json.Unmarshal(body, &e) // an unreadable body leaves the HTTP status alone
	de := &actions.DirectoryError{Op: op, Status: resp.StatusCode, Message: e.Error.Message, Code: e.Error.Status}
	for _, x := range e.Error.Errors {
		if x.Reason != "" {
			de.Code = x.Reason
			break
		}
	}
	if resp.StatusCode == http.StatusForbidden {
		for _, x := range e.Error.Errors {
			if throttleReasons[x.Reason] {
				de.Status = http.StatusTooManyRequests
				de.Code = x.Reason
				de.Message = strings.TrimSpace(de.Message + " (HTTP 403)")
				break
			}
		}
	}
	return de
}

// token gets an access token. Every failure is a *actions.DirectoryError:
// the token endpoint's OAuth refusal such as unauthorized_client (the
// delegation lacks a scope) is final, its 429 or 5xx and a failure to reach
// it are retried.
func (d *Directory) token() (*oauth2.Token, error) {
	tok, err := d.ts.Token()
	if err == nil {
		return tok, nil
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return nil, &actions.DirectoryError{Op: "get access token", Err: err}
	}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(re.Body, &body)
	de := &actions.DirectoryError{Op: "get access token", Status: re.Response.StatusCode,
		Code: cmp.Or(body.Error, re.ErrorCode), Message: cmp.Or(body.Description, re.ErrorDescription)}
	if de.Status == http.StatusTooManyRequests {
		de.RetryAfter = httpapi.ParseRetryAfter(re.Response.Header.Get("Retry-After"), d.now())
	}
	return nil, de
}
