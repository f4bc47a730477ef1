package okta

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// specPath is Okta's published Management API description, kept in the
// shared reference directory next to the repository.
const specPath = "../../../shared/reference/okta-management.openapi.yaml"

// openAPI is the routing part of an OpenAPI document: every path template,
// its methods and, per method, the query parameters it documents.
type openAPI struct {
	routes []route
}

type route struct {
	template string
	segs     []string
	methods  map[string]map[string]bool // METHOD -> documented query parameters
}

var (
	specOnce sync.Once
	spec     *openAPI
	specErr  error
)

func loadSpec(t *testing.T) *openAPI {
	t.Helper()
	specOnce.Do(func() {
		var b []byte
		b, specErr = os.ReadFile(filepath.FromSlash(specPath))
		if specErr != nil {
			return
		}
		spec, specErr = parseOpenAPI(b)
	})
	if specErr != nil {
		t.Fatalf("load Okta OpenAPI description (%s): %v", specPath, specErr)
	}
	return spec
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
		r := route{template: tmpl, segs: strings.Split(strings.TrimPrefix(tmpl, "/"), "/"), methods: map[string]map[string]bool{}}
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
	sort.SliceStable(s.routes, func(i, j int) bool { return literals(s.routes[i].segs) > literals(s.routes[j].segs) })
	return s, nil
}

func literals(segs []string) int {
	n := 0
	for _, s := range segs {
		if !strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n
}

// match finds the documented route for an escaped request path. It returns
// the route and the path parameters, unescaped.
func (s *openAPI) match(escapedPath string) (*route, map[string]string) {
	raw := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	for i := range s.routes {
		r := &s.routes[i]
		if len(r.segs) != len(raw) {
			continue
		}
		params := map[string]string{}
		ok := true
		for k, seg := range r.segs {
			v, err := url.PathUnescape(raw[k])
			if err != nil || v == "" {
				ok = false
				break
			}
			if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
				params[seg[1:len(seg)-1]] = v
			} else if seg != v {
				ok = false
				break
			}
		}
		if ok {
			return r, params
		}
	}
	return nil, nil
}

// fakeUser is a user of the fake org.
type fakeUser struct {
	ID, Status, Login, Email, First, Last string
	Factors                               []string // factor types
	Roles                                 []string // role types
}

// failure is a canned answer the fake gives instead of the real one.
type failure struct {
	status       int
	code, detail string
	header       http.Header
}

// fakeOkta behaves like an Okta org for the endpoints this package uses and
// refuses every path, method and query parameter that Okta's OpenAPI
// description does not document.
type fakeOkta struct {
	t     *testing.T
	spec  *openAPI
	srv   *httptest.Server
	token string

	mu           sync.Mutex
	users        map[string]*fakeUser
	meID         string
	n            int
	calls        []string
	undocumented []string
	fail         map[string][]failure // "METHOD template" -> answers to give first
	remaining    int                  // X-Rate-Limit-Remaining to report on success
	resetIn      time.Duration        // X-Rate-Limit-Reset, from now
}

func newFakeOkta(t *testing.T) *fakeOkta {
	t.Helper()
	f := &fakeOkta{
		t: t, spec: loadSpec(t), token: "00secret-okta-token-value",
		users: map[string]*fakeUser{}, fail: map[string][]failure{},
		remaining: 599, resetIn: time.Minute,
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, u := range f.undocumented {
			t.Errorf("client sent a request Okta's OpenAPI description does not document: %s", u)
		}
	})
	return f
}

func (f *fakeOkta) add(u fakeUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u.Status == "" {
		u.Status = "ACTIVE"
	}
	f.users[u.ID] = &u
}

func (f *fakeOkta) user(id string) fakeUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.users[id]
}

// failNext makes the next answers to "METHOD template" be fs, in order.
func (f *fakeOkta) failNext(key string, fs ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[key] = append(f.fail[key], fs...)
}

func (f *fakeOkta) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeOkta) writeError(w http.ResponseWriter, status int, code, summary string) {
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

func (f *fakeOkta) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	call := r.Method + " " + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		call += "?" + r.URL.RawQuery
	}
	f.calls = append(f.calls, call)
	h := w.Header()
	h.Set("X-Okta-Request-Id", fmt.Sprintf("req-%d", f.n))
	h.Set("X-Rate-Limit-Limit", "600")
	h.Set("X-Rate-Limit-Reset", strconv.FormatInt(time.Now().Add(f.resetIn).Unix(), 10))
	h.Set("X-Rate-Limit-Remaining", strconv.Itoa(f.remaining))

	if r.Header.Get("Authorization") != "SSWS "+f.token {
		f.writeError(w, http.StatusUnauthorized, "E0000011", "Invalid token provided")
		return
	}
	rt, params := f.spec.match(r.URL.EscapedPath())
	if rt == nil {
		f.undocumented = append(f.undocumented, call)
		f.writeError(w, http.StatusNotFound, "E0000022", "The endpoint does not exist.")
		return
	}
	allowed, ok := rt.methods[r.Method]
	if !ok {
		f.undocumented = append(f.undocumented, call+" (method)")
		f.writeError(w, http.StatusMethodNotAllowed, "E0000022", "The endpoint does not support the provided HTTP method")
		return
	}
	for k := range r.URL.Query() {
		if !allowed[k] {
			f.undocumented = append(f.undocumented, call+" (query parameter "+k+")")
			f.writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: unknown parameter "+k)
			return
		}
	}
	key := r.Method + " " + rt.template
	if q := f.fail[key]; len(q) > 0 {
		fl := q[0]
		f.fail[key] = q[1:]
		for k, vs := range fl.header {
			h[k] = vs
		}
		f.writeError(w, fl.status, fl.code, fl.detail)
		return
	}
	f.route(w, r, key, params)
}

func (f *fakeOkta) find(idOrLogin string) *fakeUser {
	if idOrLogin == "me" {
		idOrLogin = f.meID
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

func (u *fakeUser) json() map[string]any {
	return map[string]any{
		"id": u.ID, "status": u.Status,
		"profile": map[string]any{"login": u.Login, "email": u.Email, "firstName": u.First, "lastName": u.Last},
	}
}

func (f *fakeOkta) route(w http.ResponseWriter, r *http.Request, key string, p map[string]string) {
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
		writeJSON(w, http.StatusOK, map[string]any{"tempPassword": fmt.Sprintf("Tmp%04dpw!", f.n)})
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
			list = append(list, map[string]any{"id": fmt.Sprintf("fac%d", i), "factorType": ft, "status": "ACTIVE"})
		}
		writeJSON(w, http.StatusOK, list)
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
func (f *fakeOkta) search(w http.ResponseWriter, r *http.Request) {
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
