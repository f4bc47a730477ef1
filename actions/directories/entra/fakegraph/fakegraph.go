// Package fakegraph is a fake Microsoft Graph v1.0 on httptest for the
// endpoints mfadesk calls (users, authentication methods, Temporary Access
// Passes, revokeSignInSessions, directory roles, JSON batching), and a fake
// Microsoft Entra token authority over TLS (Authority).
//
// The fake Graph refuses (400, with a Graph error body) any property,
// navigation or action that Graph's published metadata does not define: it
// reads the CSDL excerpt kept in shared/reference beside the repository. It
// answers with Graph's error bodies and request-id headers, pages with
// absolute @odata.nextLink URLs, accepts one bearer token (Token), and can be
// told to fail requests (Inject), to throttle with a token bucket
// (SetThrottle) and to answer slowly (SetLatency). It records every request
// (Calls).
package fakegraph

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// AllRoles is every application permission mfadesk asks for: the roles claim
// of the token the fake accepts by default.
var AllRoles = []string{"User.Read.All", "RoleManagement.Read.Directory", "User-PasswordProfile.ReadWrite.All",
	"UserAuthenticationMethod.ReadWrite.All", "User.RevokeSessions.All", "User.EnableDisableAccount.All"}

// Token returns an unsigned JWT whose roles claim is roles, shaped like an
// app-only Graph token (mfadesk reads the claim, never the signature).
func Token(roles ...string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v) // maps of strings always marshal
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "RS256", "typ": "JWT"}) + "." +
		enc(map[string]any{"aud": "https://graph.microsoft.com", "tid": "tenant", "roles": roles}) + ".c2lnbmF0dXJl"
}

// Server behaves like Microsoft Graph v1.0 for the endpoints mfadesk calls.
// Create it with New; it is safe for concurrent use.
type Server struct {
	model *csdlModel
	srv   *httptest.Server

	calls     fakeapi.Log[string]
	faults    fakeapi.Faults      // matched on the log line, or "$batch"
	token     fakeapi.Var[string] // the bearer token it accepts
	pageSize  fakeapi.Var[int]
	latency   fakeapi.Var[time.Duration]
	bucket    fakeapi.Var[*tokenBucket]
	throttled atomic.Int64 // 429s answered by the bucket

	mu    sync.Mutex
	users map[string]*User // by object ID
	// assigned and eligible are role assignments and PIM eligibilities by
	// principal ID (a user or a group), besides User.Roles.
	assigned map[string][]Assignment
	eligible map[string][]Assignment
	seq      int
}

// User is a user of the fake tenant.
type User struct {
	ID, UPN, Mail, DisplayName string
	AccountEnabled             bool
	// Password and ForceChange are the last passwordProfile set.
	Password    string
	ForceChange bool
	// Methods are the registered authentication methods but the password,
	// which every user has (PasswordMethodID).
	Methods       []*Method
	DefaultMethod string // a method ID
	// Roles are the display names of the directory roles the user holds
	// (active, tenant-wide, built-in); AssignRole and MakeEligible add
	// other kinds of role assignment.
	Roles []string
	// Groups are the IDs of the groups the user is a member of, directly or
	// not (transitiveMemberOf).
	Groups []string
	// Manager is the object ID of the user's manager (the manager
	// navigation); empty for none.
	Manager string
	// Revoked counts revokeSignInSessions calls.
	Revoked int
}

// Method is an authentication method.
type Method struct {
	ID        string
	Type      string // e.g. phoneAuthenticationMethod
	PhoneType string // mobile, alternateMobile, office
	Name      string
	// Secret, Start, Lifetime (minutes) and Once describe a Temporary Access
	// Pass.
	Secret   string
	Start    time.Time
	Lifetime int
	Once     bool
}

// clone copies u and its methods.
func (u *User) clone() User {
	c := *u
	c.Methods = make([]*Method, len(u.Methods))
	for i, m := range u.Methods {
		mc := *m
		c.Methods[i] = &mc
	}
	c.Roles = slices.Clone(u.Roles)
	c.Groups = slices.Clone(u.Groups)
	return c
}

// New starts a fake Graph, stopped when t ends. It fails t when Graph's
// metadata (shared/reference/graph-v1.0-excerpt.csdl.xml beside the module
// root) cannot be read. It accepts Token(AllRoles...) until SetToken.
func New(t testing.TB) *Server {
	t.Helper()
	g := &Server{model: metadata.Must(t), users: map[string]*User{},
		assigned: map[string][]Assignment{}, eligible: map[string][]Assignment{}}
	g.token.Set(Token(AllRoles...))
	g.pageSize.Set(100)
	g.srv = fakeapi.Start(t, g)
	return g
}

// URL is the Graph root without a version, for MFADESK_GRAPH_URL.
func (g *Server) URL() string { return g.srv.URL }

// Token is the bearer token the fake accepts.
func (g *Server) Token() string { return g.token.Get() }

// SetToken makes the fake accept tok, and only tok.
func (g *Server) SetToken(tok string) { g.token.Set(tok) }

// AddUser adds u, with an object ID made up when u.ID is empty, and returns
// it as stored.
func (g *Server) AddUser(u User) User {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u.ID == "" {
		u.ID = fmt.Sprintf("00000000-0000-0000-0000-%012d", len(g.users)+1)
	}
	stored := u.clone()
	g.users[u.ID] = &stored
	return stored.clone()
}

// User returns a copy of the user with object ID id as it stands now, or the
// zero User.
func (g *Server) User(id string) User { return fakeapi.Copy(&g.mu, g.users, id, (*User).clone) }

// Inject makes the next times requests whose log line (see Calls) contains
// match answer status with a Graph error body, and Retry-After when
// retryAfter is not empty. Match "$batch" fails whole batches.
func (g *Server) Inject(match string, status int, retryAfter string, times int) {
	code := map[int]string{429: "TooManyRequests", 503: "serviceNotAvailable", 504: "gatewayTimeout", 403: "Authorization_RequestDenied"}[status]
	g.faults.Add(fakeapi.Fault{Match: match, Status: status, Code: code, RetryAfter: retryAfter, Times: times})
}

// Calls returns the requests received, oldest first, as "METHOD path?query"
// below /v1.0 ("GET /users/{id}?$select=id"); the requests inside a $batch
// follow its "POST /$batch" line as "batch: METHOD path?query".
func (g *Server) Calls() []string { return g.calls.All() }

// SetPageSize sets how many items a page of a collection holds (100).
func (g *Server) SetPageSize(n int) { g.pageSize.Set(n) }

// SetLatency makes every HTTP request take d before it is answered.
func (g *Server) SetLatency(d time.Duration) { g.latency.Set(d) }

// SetThrottle installs a fresh token bucket: rate requests a second, in
// bursts of burst, each request inside a $batch counting on its own; past it
// the fake answers 429 with Retry-After in whole seconds, as Graph does.
func (g *Server) SetThrottle(rate, burst float64) { g.bucket.Set(newTokenBucket(rate, burst)) }

// Throttled counts the 429s the token bucket has answered.
func (g *Server) Throttled() int { return int(g.throttled.Load()) }

// fakeReq is a request to the fake, outer or inside a $batch.
type fakeReq struct {
	method string
	path   string // escaped, below /v1.0
	query  url.Values
	raw    string // the query as sent
	header http.Header
	body   []byte
	batch  bool
}

type fakeResp struct {
	status int
	header http.Header
	body   any
}

// ServeHTTP answers one Graph request.
func (g *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if latency := g.latency.Get(); latency > 0 {
		time.Sleep(latency)
	}
	if r.Header.Get("Authorization") != "Bearer "+g.token.Get() {
		writeFake(w, g.errResp(401, "InvalidAuthenticationToken", "Access token is missing or invalid."))
		return
	}
	body, _ := io.ReadAll(r.Body)
	path, ok := strings.CutPrefix(r.URL.EscapedPath(), "/v1.0")
	if !ok {
		writeFake(w, g.errResp(400, "BadRequest", "Invalid version."))
		return
	}
	req := fakeReq{method: r.Method, path: path, query: r.URL.Query(), raw: r.URL.RawQuery, header: r.Header, body: body}
	if path == "/$batch" && r.Method == http.MethodPost {
		writeFake(w, g.batch(req))
		return
	}
	writeFake(w, g.handle(req))
}

func writeFake(w http.ResponseWriter, r fakeResp) {
	for k, vs := range r.header {
		w.Header()[k] = vs
	}
	if r.body == nil {
		w.WriteHeader(r.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.status)
	_ = json.NewEncoder(w).Encode(r.body)
}

// errResp is a Graph error answer; the request ID is in the header and in
// innerError, as Graph does.
func (g *Server) errResp(status int, code, msg string) fakeResp {
	g.mu.Lock()
	g.seq++
	id := fmt.Sprintf("req-%04d", g.seq)
	g.mu.Unlock()
	return fakeResp{status: status, header: http.Header{"Request-Id": {id}}, body: map[string]any{
		"error": map[string]any{"code": code, "message": msg,
			"innerError": map[string]any{"request-id": id, "date": "2026-01-01T00:00:00"}},
	}}
}

func (g *Server) ok(status int, body any) fakeResp {
	g.mu.Lock()
	g.seq++
	id := fmt.Sprintf("req-%04d", g.seq)
	g.mu.Unlock()
	return fakeResp{status: status, header: http.Header{"Request-Id": {id}}, body: body}
}

// handle serves one request (outer or inside a batch).
func (g *Server) handle(r fakeReq) fakeResp {
	line := r.method + " " + r.path
	if r.raw != "" {
		line += "?" + r.raw
	}
	if r.batch {
		line = "batch: " + line
	}
	g.calls.Add(line)
	if hit, ok := g.faults.TakeContained(line); ok {
		resp := g.errResp(hit.Status, hit.Code, "Injected failure.")
		hit.WriteHeaders(resp.header)
		return resp
	}
	if bucket := g.bucket.Get(); bucket != nil {
		if ok, wait := bucket.take(); !ok {
			g.throttled.Add(1)
			resp := g.errResp(429, "TooManyRequests", "Too many requests.")
			resp.header.Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(wait.Seconds())))))
			return resp
		}
	}
	return g.route(r)
}

func (g *Server) route(r fakeReq) fakeResp {
	segs := strings.Split(strings.TrimPrefix(r.path, "/"), "/")
	if segs[0] == "roleManagement" {
		return g.roleManagement(r, segs[1:])
	}
	if segs[0] == "users" && len(segs) == 1 {
		if r.method != http.MethodGet {
			return g.errResp(405, "Request_BadRequest", "Method not allowed.")
		}
		return g.listUsers(r)
	}
	var key string
	var rest []string
	switch {
	case strings.HasPrefix(segs[0], "users('") && strings.HasSuffix(segs[0], "')"):
		k, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(segs[0], "users('"), "')"))
		if err != nil || strings.Contains(strings.ReplaceAll(k, "''", ""), "'") {
			return g.errResp(400, "BadRequest", "Bad key literal.")
		}
		key, rest = strings.ReplaceAll(k, "''", "'"), segs[1:]
	case segs[0] == "users" && len(segs) >= 2:
		k, err := url.PathUnescape(segs[1])
		if err != nil {
			return g.errResp(400, "BadRequest", "Bad escape.")
		}
		if strings.HasPrefix(k, "$") {
			// Graph reads /users/$x as a system segment.
			return g.errResp(400, "BadRequest", "Unsupported segment '"+k+"'; address such users as users('"+k+"').")
		}
		key, rest = k, segs[2:]
	default:
		return g.errResp(400, "BadRequest", "Resource not found for the segment '"+segs[0]+"'.")
	}
	g.mu.Lock()
	u := g.users[key]
	if u == nil {
		for _, c := range g.users {
			if strings.EqualFold(c.UPN, key) {
				u = c
			}
		}
	}
	g.mu.Unlock()
	if u == nil {
		return g.errResp(404, "Request_ResourceNotFound", "Resource '"+key+"' does not exist or one of its queried reference-property objects are not present.")
	}
	switch {
	case len(rest) == 0 && r.method == http.MethodGet:
		return g.ok(200, g.userJSON(u, r.query.Get("$select")))
	case len(rest) == 0 && r.method == http.MethodPatch:
		return g.patchUser(u, r)
	case len(rest) == 0:
		return g.errResp(405, "Request_BadRequest", "Method not allowed.")
	case rest[0] == "authentication":
		return g.authentication(u, r, rest[1:])
	case rest[0] == "transitiveMemberOf":
		return g.roles(u, r, rest[1:])
	case rest[0] == "manager" && len(rest) == 1:
		return g.manager(u, r)
	}
	if _, isNav := g.model.nav("user", rest[0]); isNav || len(rest) > 1 {
		return g.errResp(400, "BadRequest", "The fake does not serve "+r.path)
	}
	if r.method != http.MethodPost || !g.model.boundAction(rest[0], "user") {
		return g.errResp(400, "BadRequest", "Resource not found for the segment '"+rest[0]+"'.")
	}
	if rest[0] != "revokeSignInSessions" {
		return g.errResp(501, "NotImplemented", "The fake does not do "+rest[0])
	}
	g.mu.Lock()
	u.Revoked++
	g.mu.Unlock()
	return g.ok(200, map[string]any{"@odata.context": g.srv.URL + "/v1.0/$metadata#Edm.Boolean", "value": true})
}

func (g *Server) userJSON(u *User, sel string) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return selectFields(map[string]any{"id": u.ID, "userPrincipalName": u.UPN, "mail": fakeapi.NullIfEmpty(u.Mail),
		"displayName": u.DisplayName, "accountEnabled": u.AccountEnabled}, sel)
}

func (g *Server) patchUser(u *User, r fakeReq) fakeResp {
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		return g.errResp(400, "BadRequest", "Unreadable JSON.")
	}
	if err := g.model.checkBody("user", body); err != nil {
		return g.errResp(400, "Request_BadRequest", err.Error())
	}
	pp, hasPP := body["passwordProfile"].(map[string]any)
	pw, _ := pp["password"].(string)
	if hasPP && !ComplexEnough(pw) {
		return g.errResp(400, "Request_BadRequest", "The specified password does not comply with password complexity requirements.")
	}
	g.mu.Lock()
	if v, ok := body["accountEnabled"].(bool); ok {
		u.AccountEnabled = v
	}
	if hasPP {
		u.Password = pw
		u.ForceChange, _ = pp["forceChangePasswordNextSignIn"].(bool)
	}
	g.mu.Unlock()
	return g.ok(204, nil)
}

// ComplexEnough is Entra's password rule as the fake applies it: 8 to 256
// characters, three of the four classes upper case, lower case, digits and
// others.
func ComplexEnough(pw string) bool {
	var upper, lower, digit, other int
	for _, c := range pw {
		switch {
		case c >= 'A' && c <= 'Z':
			upper = 1
		case c >= 'a' && c <= 'z':
			lower = 1
		case c >= '0' && c <= '9':
			digit = 1
		default:
			other = 1
		}
	}
	return len(pw) >= 8 && len(pw) <= 256 && upper+lower+digit+other >= 3
}

// listUsers answers /users?$filter=mail eq '…'.
func (g *Server) listUsers(r fakeReq) fakeResp {
	f := r.query.Get("$filter")
	lit, ok := strings.CutPrefix(f, "mail eq '")
	if !ok || !strings.HasSuffix(lit, "'") {
		return g.errResp(400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause.")
	}
	lit = strings.TrimSuffix(lit, "'")
	if strings.Contains(strings.ReplaceAll(lit, "''", ""), "'") {
		return g.errResp(400, "BadRequest", "Syntax error: unterminated string literal.")
	}
	mail := strings.ReplaceAll(lit, "''", "'")
	g.mu.Lock()
	var ids []string
	for id, u := range g.users {
		if strings.EqualFold(u.Mail, mail) {
			ids = append(ids, id)
		}
	}
	g.mu.Unlock()
	sort.Strings(ids)
	items := make([]any, len(ids))
	for i, id := range ids {
		g.mu.Lock()
		u := g.users[id]
		g.mu.Unlock()
		items[i] = g.userJSON(u, r.query.Get("$select"))
	}
	return g.page(r, items)
}

// page answers one page of items, with an absolute @odata.nextLink.
func (g *Server) page(r fakeReq, items []any) fakeResp {
	skip, _ := strconv.Atoi(r.query.Get("$skiptoken"))
	size := g.pageSize.Get()
	end := min(skip+size, len(items))
	if skip > len(items) {
		skip = len(items)
	}
	body := map[string]any{"value": items[skip:end]}
	if end < len(items) {
		q := url.Values{}
		for k, v := range r.query {
			q[k] = v
		}
		q.Set("$skiptoken", strconv.Itoa(end))
		body["@odata.nextLink"] = g.srv.URL + "/v1.0" + r.path + "?" + q.Encode()
	}
	return g.ok(200, body)
}

// manager serves GET /users/{id}/manager as Graph does: the manager as a
// directoryObject (with its @odata.type), honouring $select; 404 when none is
// set. The CSDL must define the navigation.
func (g *Server) manager(u *User, r fakeReq) fakeResp {
	if _, ok := g.model.nav("user", "manager"); !ok {
		return g.errResp(400, "BadRequest", "Resource not found for the segment 'manager'.")
	}
	if r.method != http.MethodGet {
		return g.errResp(405, "Request_BadRequest", "Method not allowed.")
	}
	g.mu.Lock()
	m := g.users[u.Manager]
	g.mu.Unlock()
	if m == nil {
		return g.errResp(404, "Request_ResourceNotFound", "Resource 'manager' does not exist or one of its queried reference-property objects are not present.")
	}
	body := g.userJSON(m, r.query.Get("$select"))
	body["@odata.type"] = "#microsoft.graph.user"
	return g.ok(200, body)
}
