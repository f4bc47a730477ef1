package entra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

// maxBody bounds what is read of one Graph response.
const maxBody = 8 << 20

// maxPages bounds how many @odata.nextLink pages one listing follows.
const maxPages = 1000

// version prefixes every Graph path: mfadesk calls v1.0 only.
const version = "/v1.0"

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
	path   string // below /v1.0, escaped
	query  query
	body   any // encoded as JSON when not nil
	out    any // the JSON answer is decoded into it when not nil
}

// request is c as the shared client's request.
func (c call) request() httpapi.Request {
	return httpapi.Request{Op: c.op, Method: c.method, Path: version + c.path, RawQuery: c.query.encode(), Body: c.body}
}

// do sends c through the shared client, which retries it under the retry
// policy, and decodes a JSON answer into c.out. Any answer other than 2xx
// is a *actions.DirectoryError.
func (d *Directory) do(ctx context.Context, c call) (httpapi.Response, error) {
	return d.api.Do(ctx, c.request(), c.out)
}

// authorize puts a Graph token and a fresh client-request-id on one attempt.
// A token that cannot be had is a final error (a credential that is refused
// stays refused), except when the attempt ran out of time: the shared client
// makes that a transient "no answer".
func (d *Directory) authorize(ctx context.Context, req *http.Request) error {
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}})
	if err != nil {
		return fmt.Errorf("get Graph token: %s", credentialProblem(err))
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("client-request-id", newRequestID())
	return nil
}

// decode is the shared client's Decoder for Graph.
func (d *Directory) decode(op string, resp *http.Response, body []byte, _ time.Time) *actions.DirectoryError {
	return d.answerError(op, resp.StatusCode, resp.Header, body)
}

// answerError turns a non-2xx Graph answer, or an item of a $batch answer,
// into a DirectoryError.
func (d *Directory) answerError(op string, status int, h http.Header, body []byte) *actions.DirectoryError {
	de := &actions.DirectoryError{
		Op:         op,
		Status:     status,
		RequestID:  h.Get("request-id"),
		RetryAfter: httpapi.ParseRetryAfter(h.Get("Retry-After"), d.api.Now()),
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

// list reads the collection at path, following @odata.nextLink, and hands
// each item to each. each may return errStop to end the listing early.
func (d *Directory) list(ctx context.Context, op, path string, q query, each func(json.RawMessage) error) error {
	req := call{op: op, method: http.MethodGet, path: path, query: q}.request()
	for page := 0; ; page++ {
		if page == maxPages {
			return fmt.Errorf("%s: more than %d pages", op, maxPages)
		}
		var p struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if _, err := d.api.Do(ctx, req, &p); err != nil {
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
		if p.NextLink == "" {
			return nil
		}
		rest, ok := strings.CutPrefix(p.NextLink, d.root+"/")
		if !ok {
			// The bearer token only ever goes to GraphURL.
			return fmt.Errorf("%s: next page link points outside %s", op, d.root)
		}
		req.Path, req.RawQuery, _ = strings.Cut("/"+rest, "?")
	}
}

var errStop = errors.New("stop listing")

// query is a set of OData query options. Keys keep their "$"; values are
// percent-encoded with %20 for spaces, as Graph documents.
type query map[string]string

// encode is the query without its "?", "" when q is empty.
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
		if i > 0 {
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
