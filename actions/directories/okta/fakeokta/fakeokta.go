// Package fakeokta is a fake Okta org for tests, on httptest: the Management
// API endpoints mfadesk calls (users, lifecycle operations, factors,
// sessions, roles), checked against Okta's published OpenAPI description
// kept in shared/reference beside the repository. Every path, method and
// query parameter the description does not document is refused (and fails
// the test that sent it).
//
// It checks the SSWS token, answers with Okta's error bodies and its
// X-Okta-Request-Id and X-Rate-Limit-* headers, can be told to fail
// (FailNext), and records every call (Calls).
package fakeokta

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// spec is Okta's published Management API description, kept in
// shared/reference beside the repository.
var spec = fakeapi.NewSpec("Okta OpenAPI description", "okta-management.openapi.yaml", parseOpenAPI)

// openAPI is the routing part of an OpenAPI document: every path template,
// its methods and, per method, the query parameters it documents.
type openAPI struct {
	routes []route
}

type route struct {
	fakeapi.PathTemplate
	methods map[string]map[string]bool // METHOD -> documented query parameters
}

func mapping(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func parseOpenAPI(b []byte) (*openAPI, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	root := doc.Content[0]
	paths := mapping(root, "paths")
	if paths == nil {
		return nil, fmt.Errorf("no paths")
	}
	sharedParams := mapping(mapping(root, "components"), "parameters")
	// queryParams collects the names of query parameters in a parameters
	// list, following $ref into components/parameters.
	queryParams := func(list *yaml.Node, into map[string]bool) {
		if list == nil {
			return
		}
		for _, p := range list.Content {
			if ref := mapping(p, "$ref"); ref != nil {
				p = mapping(sharedParams, strings.TrimPrefix(ref.Value, "#/components/parameters/"))
			}
			if in := mapping(p, "in"); in != nil && in.Value == "query" {
				into[mapping(p, "name").Value] = true
			}
		}
	}
	s := &openAPI{}
	for i := 0; i+1 < len(paths.Content); i += 2 {
		tmpl, item := paths.Content[i].Value, paths.Content[i+1]
		r := route{PathTemplate: fakeapi.ParsePathTemplate(tmpl), methods: map[string]map[string]bool{}}
		common := map[string]bool{}
		queryParams(mapping(item, "parameters"), common)
		for j := 0; j+1 < len(item.Content); j += 2 {
			m := strings.ToUpper(item.Content[j].Value)
			switch m {
			case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
			default:
				continue
			}
			q := map[string]bool{}
			for k := range common {
				q[k] = true
			}
			queryParams(mapping(item.Content[j+1], "parameters"), q)
			r.methods[m] = q
		}
		s.routes = append(s.routes, r)
	}
	// Most literal segments first, so /users/me-like literals beat {id}.
	sort.SliceStable(s.routes, func(i, j int) bool { return s.routes[i].Literals() > s.routes[j].Literals() })
	return s, nil
}

// match finds the documented route for an escaped request path. It returns
// the route and the path parameters, unescaped.
func (s *openAPI) match(escapedPath string) (*route, map[string]string) {
	raw := fakeapi.Segments(escapedPath)
	for i := range s.routes {
		if params, ok := s.routes[i].Match(raw); ok {
			return &s.routes[i], params
		}
	}
	return nil, nil
}

// User is a user of the fake org. Status is ACTIVE unless set.
type User struct {
	ID, Status, Login, Email, First, Last string
	Factors                               []string // factor types
	Roles                                 []string // role types
	// Push is how the user answers an Okta Verify push: "SUCCESS",
	// "REJECTED" or "TIMEOUT" (empty: TIMEOUT), after PushPolls polls that
	// answer WAITING.
	Push      string
	PushPolls int
	// ManagerID and Manager are profile.managerId and profile.manager.
	ManagerID, Manager string
	// TempPassword is the last temporary password
	// expire_password_with_temp_password handed out.
	TempPassword string
}

// Token is the API token the fake accepts (Authorization: SSWS Token).
const Token = "00secret-okta-token-value"

// Server behaves like an Okta org for the endpoints mfadesk uses. Create it
// with New; it is safe for concurrent use.
type Server struct {
	spec  *openAPI
	srv   *httptest.Server
	token string

	calls        fakeapi.Log[string]
	undocumented fakeapi.Undocumented
	faults       fakeapi.Faults // matched on "METHOD path", then "METHOD template"
	doneFaults   fakeapi.Faults // the same, answered after the request is done
	meID         fakeapi.Var[string]
	remaining    fakeapi.Var[int]           // X-Rate-Limit-Remaining to report on success
	resetIn      fakeapi.Var[time.Duration] // X-Rate-Limit-Reset, from now

	mu     sync.Mutex
	users  map[string]*User
	n      int
	pushes map[string]*push // transaction ID -> push in flight
}

// New starts a fake org with no users, stopped when t ends. It reports 599
// calls remaining in a window that resets in a minute. It fails t when the
// OpenAPI description cannot be read, and when a request it does not
// document arrives.
func New(t testing.TB) *Server {
	t.Helper()
	f := &Server{spec: spec.Must(t), token: Token, users: map[string]*User{}, pushes: map[string]*push{}}
	f.remaining.Set(599)
	f.resetIn.Set(time.Minute)
	f.srv = fakeapi.Start(t, http.HandlerFunc(f.serve))
	f.undocumented.FailAtCleanup(t, "Okta's OpenAPI description")
	return f
}

// URL is the org's base URL, for OKTA_ORG_URL.
func (f *Server) URL() string { return f.srv.URL }

// Client is an HTTP client for the server.
func (f *Server) Client() *http.Client { return f.srv.Client() }

// AddUser adds u, or replaces the user with its ID.
func (f *Server) AddUser(u User) {
	u.Status = cmp.Or(u.Status, "ACTIVE")
	fakeapi.Store(&f.mu, f.users, u.ID, u, (*User).clone)
}

// User returns a copy of the user with ID id as it stands now, or the zero
// User.
func (f *Server) User(id string) User { return fakeapi.Copy(&f.mu, f.users, id, (*User).clone) }

// clone copies u and its lists.
func (u *User) clone() User {
	c := *u
	c.Factors = slices.Clone(u.Factors)
	c.Roles = slices.Clone(u.Roles)
	return c
}

// SetMe makes the user with ID id the owner of the API token ("me").
func (f *Server) SetMe(id string) { f.meID.Set(id) }

// SetRemaining sets the X-Rate-Limit-Remaining successful answers carry.
func (f *Server) SetRemaining(n int) { f.remaining.Set(n) }

// SetResetIn sets X-Rate-Limit-Reset to d after each answer.
func (f *Server) SetResetIn(d time.Duration) { f.resetIn.Set(d) }

// Failure is a canned Okta error answer given instead of the real one:
// Status with errorCode Code and errorSummary Detail, and Header added (it
// overrides the fake's own headers). With Done the fake does the request
// first and then answers with the failure instead of its own answer, as a
// proxy or server that failed after acting does.
type Failure struct {
	Status       int
	Code, Detail string
	Header       http.Header
	Done         bool
}

// FailNext makes the next answers to key be fs, in order. key is "METHOD
// path" for one escaped path, without the query
// ("POST /api/v1/users/00u1/lifecycle/suspend"), or "METHOD template" as the
// OpenAPI description names the path
// ("POST /api/v1/users/{id}/lifecycle/suspend"); a path's failures come
// first.
func (f *Server) FailNext(key string, fs ...Failure) {
	for _, fl := range fs {
		t := &f.faults
		if fl.Done {
			t = &f.doneFaults
		}
		t.Add(fakeapi.Fault{Match: key, Status: fl.Status, Code: fl.Code, Message: fl.Detail, Header: fl.Header, Times: 1})
	}
}

// Calls returns the requests received, oldest first, as "METHOD
// escaped-path?query".
func (f *Server) Calls() []string { return f.calls.All() }

func (f *Server) writeError(w http.ResponseWriter, status int, code, summary string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errorCode": code, "errorSummary": summary, "errorLink": code,
		"errorId": fmt.Sprintf("oae%04d", f.n), "errorCauses": []any{},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	call := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	f.calls.Add(call)
	h := w.Header()
	h.Set("X-Okta-Request-Id", fmt.Sprintf("req-%d", f.n))
	h.Set("X-Rate-Limit-Limit", "600")
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(f.resetIn.Get()).Unix(), 10))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(f.remaining.Get()))

	if r.Header.Get("Authorization") != "SSWS "+f.token {
		f.writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	rt, params := f.spec.match(r.URL.EscapedPath())
	if rt == nil {
		f.undocumented.Add(call)
		f.writeError(w, http.StatusNotFound, "E0000022", "The endpoint does not exist.")
		return
	}
	allowed, ok := rt.methods[r.Method]
	if !ok {
		f.undocumented.Add(call + " (method)")
		f.writeError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	for k := range r.URL.Query() {
		if !allowed[k] {
			f.undocumented.Add(call + " (query parameter " + k + ")")
			f.writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: unknown parameter "+k)
			return
		}
	}
	key := r.Method + " " + rt.Template
	// A failure for this exact path first, then for the template.
	if fl, ok := f.faults.Take(r.Method+" "+r.URL.EscapedPath(), key); ok {
		fl.WriteHeaders(h)
		f.writeError(w, fl.Status, fl.Code, fl.Message)
		return
	}
	if fl, ok := f.doneFaults.Take(r.Method+" "+r.URL.EscapedPath(), key); ok {
		f.route(httptest.NewRecorder(), r, key, params)
		fl.WriteHeaders(h)
		f.writeError(w, fl.Status, fl.Code, fl.Message)
		return
	}
	f.route(w, r, key, params)
}

func (f *Server) find(idOrLogin string) *User {
	if idOrLogin == "me" {
		idOrLogin = f.meID.Get()
	}
	if u, ok := f.users[idOrLogin]; ok {
		return u
	}
	for _, u := range f.users {
		if strings.EqualFold(u.Login, idOrLogin) {
			return u
		}
	}
	return nil
}

func (u *User) json() map[string]any {
	return map[string]any{
		"id": u.ID, "status": u.Status,
		"profile": map[string]any{"login": u.Login, "email": u.Email, "firstName": u.First, "lastName": u.Last,
			"managerId": fakeapi.NullIfEmpty(u.ManagerID), "manager": fakeapi.NullIfEmpty(u.Manager)},
	}
}

func (f *Server) route(w http.ResponseWriter, r *http.Request, key string, p map[string]string) {
	id := p["id"]
	if id == "" {
		id = p["userId"]
	}
	if key == "GET /api/v1/users" {
		f.search(w, r)
		return
	}
	u := f.find(id)
	if u == nil {
		f.writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+id+" (User)")
		return
	}
	switch key {
	case "GET /api/v1/users/{id}":
		writeJSON(w, http.StatusOK, u.json())
	case "POST /api/v1/users/{id}/lifecycle/expire_password_with_temp_password":
		if u.Status != "ACTIVE" && u.Status != "PASSWORD_EXPIRED" {
			f.writeError(w, http.StatusForbidden, "E0000038", "This operation is not allowed in the user's current status.")
			return
		}
		u.Status = "PASSWORD_EXPIRED"
		u.TempPassword = fmt.Sprintf("Tmp%04dpw!", f.n)
		writeJSON(w, http.StatusOK, map[string]any{"tempPassword": u.TempPassword})
	case "POST /api/v1/users/{id}/lifecycle/reset_factors":
		if len(u.Factors) == 0 {
			f.writeError(w, http.StatusForbidden, "E0000038", "This operation is not allowed in the user's current status.")
			return
		}
		u.Factors = nil
		w.WriteHeader(http.StatusOK)
	case "GET /api/v1/users/{userId}/factors":
		list := []map[string]any{}
		for i, ft := range u.Factors {
			list = append(list, map[string]any{"id": fmt.Sprintf("fac%d", i), "factorType": ft, "provider": provider(ft), "status": "ACTIVE"})
		}
		writeJSON(w, http.StatusOK, list)
	case "POST /api/v1/users/{userId}/factors/{factorId}/verify":
		f.verifyPush(w, r, u, p["factorId"])
	case "GET /api/v1/users/{userId}/factors/{factorId}/transactions/{transactionId}":
		f.pollPush(w, u, p["factorId"], p["transactionId"])
	case "DELETE /api/v1/users/{userId}/sessions":
		w.WriteHeader(http.StatusNoContent)
	case "POST /api/v1/users/{id}/lifecycle/suspend":
		if u.Status != "ACTIVE" {
			f.writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: Cannot suspend a user that is not active")
			return
		}
		u.Status = "SUSPENDED"
		w.WriteHeader(http.StatusOK)
	case "POST /api/v1/users/{id}/lifecycle/unsuspend":
		if u.Status != "SUSPENDED" {
			f.writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: Cannot unsuspend a user that is not suspended")
			return
		}
		u.Status = "ACTIVE"
		w.WriteHeader(http.StatusOK)
	case "GET /api/v1/users/{userId}/roles":
		list := []map[string]any{}
		for i, rt := range u.Roles {
			list = append(list, map[string]any{"id": fmt.Sprintf("ra%d", i), "type": rt, "label": rt,
				"assignmentType": "USER", "status": "ACTIVE"})
		}
		writeJSON(w, http.StatusOK, list)
	default:
		f.writeError(w, http.StatusNotImplemented, "E0000015", "the fake does not implement "+key)
	}
}

// search supports the one expression this package sends:
// profile.email eq "<string literal>".
func (f *Server) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("search")
	const prefix = `profile.email eq "`
	if !strings.HasPrefix(q, prefix) || !strings.HasSuffix(q, `"`) || len(q) < len(prefix)+1 {
		f.writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
		return
	}
	lit := q[len(prefix) : len(q)-1]
	var val strings.Builder
	for i := 0; i < len(lit); i++ {
		switch c := lit[i]; {
		case c == '\\' && i+1 < len(lit):
			i++
			val.WriteByte(lit[i])
		case c == '"' || c == '\\':
			f.writeError(w, http.StatusBadRequest, "E0000031", "Invalid search criteria.")
			return
		default:
			val.WriteByte(c)
		}
	}
	ids := make([]string, 0, len(f.users))
	for id := range f.users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	list := []map[string]any{}
	for _, id := range ids {
		if u := f.users[id]; strings.EqualFold(u.Email, val.String()) {
			list = append(list, u.json())
		}
	}
	writeJSON(w, http.StatusOK, list)
}
