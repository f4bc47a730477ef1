package entra

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// maxBody bounds what is read of one Graph response.
const maxBody = 8 << 20

// maxPages bounds how many @odata.nextLink pages one listing follows.
const maxPages = 1000

// errNoAnswer is a call that timed out before Graph answered. It does not wrap
// context.DeadlineExceeded, so that the retry policy treats it as transient.
var errNoAnswer = errors.New("no answer from Graph within the call timeout")

// reply is what a successful call returned.
type reply struct {
	status    int
	requestID string
	body      []byte
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code       string         `json:"code"`
		Message    string         `json:"message"`
		InnerError map[string]any `json:"innerError"`
	} `json:"error"`
}

// call is one Graph request.
type call struct {
	op     string // what is being done, for errors and logs
	method string
	url    string // absolute
	hdr    http.Header
	body   any // encoded as JSON when not nil
	out    any // the JSON answer is decoded into it when not nil
	// paced says the caller already holds pacer units for the request (a
	// $batch); otherwise each attempt takes one.
	paced bool
}

// do sends c, retrying it under the retry policy, and decodes a JSON answer
// into c.out. Any answer other than 2xx is a *actions.DirectoryError.
func (d *Directory) do(ctx context.Context, c call) (reply, error) {
	var payload []byte
	if c.body != nil {
		var err error
		if payload, err = json.Marshal(c.body); err != nil {
			return reply{}, fmt.Errorf("%s: encode request: %w", c.op, err)
		}
	}
	var r reply
	attempt := 0
	_, err := d.cfg.Retry.Do(ctx, d.cfg.Sleep, func(ctx context.Context) error {
		attempt++
		var err error
		r, err = d.paced(ctx, c, payload)
		if err != nil {
			d.logFailure(c.op, attempt, err)
		}
		return err
	})
	if err != nil {
		return r, err
	}
	if c.out != nil && len(bytes.TrimSpace(r.body)) > 0 {
		if err := json.Unmarshal(r.body, c.out); err != nil {
			return r, &actions.DirectoryError{Op: c.op, Status: r.status, RequestID: r.requestID,
				Err: fmt.Errorf("decode answer: %w", err)}
		}
	}
	return r, nil
}

// paced is one attempt under the pacer.
func (d *Directory) paced(ctx context.Context, c call, payload []byte) (reply, error) {
	if c.paced {
		return d.once(ctx, c, payload)
	}
	t, err := d.pace.acquire(ctx, 1)
	if err != nil {
		return reply{}, &actions.DirectoryError{Op: c.op, Err: err}
	}
	r, err := d.once(ctx, c, payload)
	if throttledErr(err) {
		d.pace.release(t, 1, 0)
	} else {
		d.pace.release(t, 0, 1)
	}
	return r, err
}

// throttledErr reports whether Graph answered err to say it is overloaded.
func throttledErr(err error) bool {
	var de *actions.DirectoryError
	return errors.As(err, &de) && isThrottle(de.Status)
}

func isThrottle(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// logFailure logs a failed attempt: at warning level when it is throttling or
// a transient failure (the retry policy may try again), at debug level
// otherwise, since the caller gets and reports that error. Never a body.
func (d *Directory) logFailure(op string, attempt int, err error) {
	var de *actions.DirectoryError
	if !errors.As(err, &de) {
		d.log.Warn("graph call failed", "op", op, "attempt", attempt, "error", err.Error())
		return
	}
	level := slog.LevelDebug
	if de.Retryable() {
		level = slog.LevelWarn
	}
	d.log.Log(context.Background(), level, "graph call failed", "op", op, "attempt", attempt, "status", de.Status,
		"code", de.Code, "graph_request_id", de.RequestID, "retry_after", de.RetryAfter.String(),
		"retryable", de.Retryable())
}

// once is one HTTP attempt.
func (d *Directory) once(parent context.Context, c call, payload []byte) (reply, error) {
	op := c.op
	ctx, cancel := context.WithTimeout(parent, d.cfg.CallTimeout)
	defer cancel()
	noAnswer := func(err error) error {
		if parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = errNoAnswer
		}
		return &actions.DirectoryError{Op: op, Err: err}
	}
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}})
	if err != nil {
		if parent.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return reply{}, noAnswer(err)
		}
		// Not a DirectoryError: a credential that is refused stays refused.
		return reply{}, fmt.Errorf("%s: get Graph token: %s", op, credentialProblem(err))
	}
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, rd)
	if err != nil {
		return reply{}, fmt.Errorf("%s: %w", op, err)
	}
	for k, vs := range c.hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "mfadesk")
	req.Header.Set("client-request-id", newRequestID())
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.hc.Do(req)
	if err != nil {
		return reply{}, noAnswer(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return reply{}, noAnswer(fmt.Errorf("read answer: %w", err))
	}
	r := reply{status: resp.StatusCode, requestID: resp.Header.Get("request-id"), body: data}
	if resp.StatusCode/100 != 2 {
		return r, d.answerError(op, resp.StatusCode, resp.Header, data)
	}
	return r, nil
}

// answerError turns a non-2xx Graph answer into a DirectoryError.
func (d *Directory) answerError(op string, status int, h http.Header, body []byte) *actions.DirectoryError {
	de := &actions.DirectoryError{
		Op:         op,
		Status:     status,
		RequestID:  h.Get("request-id"),
		RetryAfter: httpapi.ParseRetryAfter(h.Get("Retry-After"), d.cfg.Now()),
	}
	var ge graphError
	if json.Unmarshal(body, &ge) == nil {
		de.Code, de.Message = ge.Error.Code, ge.Error.Message
		if de.RequestID == "" {
			if id, ok := ge.Error.InnerError["request-id"].(string); ok {
				de.RequestID = id
			}
		}
	}
	return de
}

// list reads a collection, following @odata.nextLink, and hands each item
// to each. each may return errStop to end the listing early.
func (d *Directory) list(ctx context.Context, op, firstURL string, hdr http.Header, each func(json.RawMessage) error) error {
	next := firstURL
	for page := 0; next != ""; page++ {
		if page == maxPages {
			return fmt.Errorf("%s: more than %d pages", op, maxPages)
		}
		var p struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if _, err := d.do(ctx, call{op: op, method: http.MethodGet, url: next, hdr: hdr, out: &p}); err != nil {
			return err
		}
		for _, v := range p.Value {
			if err := each(v); err != nil {
				if errors.Is(err, errStop) {
					return nil
				}
				return err
			}
		}
		if p.NextLink != "" && !strings.HasPrefix(p.NextLink, d.root+"/") {
			// The bearer token only ever goes to GraphURL.
			return fmt.Errorf("%s: next page link points outside %s", op, d.root)
		}
		next = p.NextLink
	}
	return nil
}

var errStop = errors.New("stop listing")

// url joins the version base, an already escaped path and a query.
func (d *Directory) url(path string, q query) string {
	return d.base + path + q.encode()
}

// query is a set of OData query options. Keys keep their "$"; values are
// percent-encoded with %20 for spaces, as Graph documents.
type query map[string]string

func (q query) encode() string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(escapeQuery(k))
		b.WriteByte('=')
		b.WriteString(escapeQuery(q[k]))
	}
	return b.String()
}

func escapeQuery(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"), "%24", "$")
}

// userPath addresses a user by object ID or user principal name. A UPN that
// starts with "$" must be written /users('$x@y') (Graph would otherwise read
// it as a system segment); "#" (guests' #EXT#) and other reserved characters
// are percent-encoded.
func userPath(idOrUPN string) string {
	if strings.HasPrefix(idOrUPN, "$") {
		return "/users('" + url.PathEscape(strings.ReplaceAll(idOrUPN, "'", "''")) + "')"
	}
	return "/users/" + url.PathEscape(idOrUPN)
}

// odataString quotes s as an OData string literal.
func odataString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
