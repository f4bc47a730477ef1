// Package fakegoogle is a fake Google Workspace for tests, on httptest: the
// Admin SDK Directory API (directory_v1) methods of the users,
// twoStepVerification, verificationCodes and asps resources, and an OAuth
// token endpoint (/token) for the JWT bearer flow of a service account with
// domain-wide delegation, which verifies the assertion's signature against
// the service account's public key.
//
// It refuses every method the discovery document does not name (and fails
// the test that sent it), answers with Google's error bodies, can be told to
// fail API methods (FailNext) and the token endpoint (FailToken), and records
// the API calls (Calls) and token requests (TokenRequests).
package fakegoogle

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions/fakeapi"
)

// documented are the Directory API (directory_v1) methods of the users,
// twoStepVerification, verificationCodes and asps resources, as the
// discovery document names them; the fake refuses anything else.
var documented = []struct {
	method string
	path   fakeapi.PathTemplate
}{
	{"GET", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}")},          // users.get
	{"PUT", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}")},          // users.update
	{"PATCH", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}")},        // users.patch
	{"DELETE", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}")},       // users.delete
	{"POST", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}/signOut")}, // users.signOut
	{"POST", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}/twoStepVerification/turnOff")},
	{"GET", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}/verificationCodes")}, // verificationCodes.list
	{"POST", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}/verificationCodes/generate")},
	{"POST", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}/verificationCodes/invalidate")},
	{"GET", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}/asps")},             // asps.list
	{"GET", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}/asps/{codeId}")},    // asps.get
	{"DELETE", fakeapi.ParsePathTemplate("/admin/directory/v1/users/{userKey}/asps/{codeId}")}, // asps.delete
}

// userFields are the User resource's properties; a users.update body with
// any other key is refused.
var userFields = strings.Fields(`id primaryEmail password hashFunction isAdmin isDelegatedAdmin agreedToTerms
	suspended changePasswordAtNextLogin ipWhitelisted name kind etag emails externalIds relations aliases
	isMailboxSetup customerId addresses organizations lastLoginTime phones suspensionReason thumbnailPhotoUrl
	languages posixAccounts creationTime nonEditableAliases sshPublicKeys notes websites locations
	includeInGlobalAddressList keywords deletionTime gender thumbnailPhotoEtag ims customSchemas
	isEnrolledIn2Sv isEnforcedIn2Sv archived orgUnitPath recoveryEmail recoveryPhone isGuestUser guestAccountInfo`)

// matchRoute finds the documented method for a request path.
func matchRoute(method, escapedPath string) (template string, params map[string]string, pathKnown bool) {
	raw := fakeapi.Segments(escapedPath)
	for _, d := range documented {
		p, ok := d.path.Match(raw)
		if !ok {
			continue
		}
		pathKnown = true
		if d.method == method {
			return d.path.Template, p, true
		}
	}
	return "", nil, pathKnown
}

// ASP is an application-specific password (app password).
type ASP struct {
	CodeID int64
	Name   string
}

// User is a user of the fake Workspace account. Admin and Delegated are
// isAdmin and isDelegatedAdmin; only an admin may be the token's subject.
type User struct {
	ID, Email, FullName      string
	Aliases                  []string
	Admin, Delegated         bool
	Suspended                bool
	SuspensionReason         string
	Enrolled2SV, Enforced2SV bool
	BackupCodesValid         bool
	ASPs                     []ASP
	Password, HashFunction   string
	ChangeAtNext             bool
	SignOuts, Invalidations  int
	// Manager is the email in the user's relation of type "manager"
	// (relations is a User field of the discovery document); empty: none.
	Manager string
}

// Claims are the JWT claims a token request carried, and the key ID of its
// header.
type Claims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Sub   string `json:"sub"`
	Prn   string `json:"prn"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
	Kid   string `json:"-"`
}

// The scopes the fake grants unless told otherwise (SetGranted): those
// mfadesk's Google directory asks for.
const (
	ScopeUser         = "https://www.googleapis.com/auth/admin.directory.user"
	ScopeUserSecurity = "https://www.googleapis.com/auth/admin.directory.user.security"
)

// Server is an Admin SDK Directory API and an OAuth token endpoint for the
// JWT bearer flow. Create it with New; it is safe for concurrent use.
type Server struct {
	t   testing.TB
	srv *httptest.Server
	pub *rsa.PublicKey

	calls        fakeapi.Log[string]
	assertions   fakeapi.Log[Claims]
	bodies       fakeapi.Log[map[string]any] // users.update bodies
	undocumented fakeapi.Undocumented
	faults       fakeapi.Faults        // matched on "METHOD path", then "METHOD template"
	tokenFaults  fakeapi.Faults        // matched on "token"
	granted      fakeapi.Var[[]string] // scopes delegated to the service account

	mu     sync.Mutex
	n      int
	users  map[string]*User
	tokens map[string]string // access token -> subject
}

// New starts a fake Workspace account whose service account signs with the
// private key of pub, stopped when t ends. Requests the Directory API does not
// document, and assertions with a bad signature, fail t.
func New(t testing.TB, pub *rsa.PublicKey) *Server {
	t.Helper()
	f := &Server{t: t, pub: pub, users: map[string]*User{}, tokens: map[string]string{}}
	f.granted.Set([]string{ScopeUser, ScopeUserSecurity})
	f.srv = fakeapi.Start(t, http.HandlerFunc(f.serve))
	f.undocumented.FailAtCleanup(t, "the Directory API")
	return f
}

// URL is the API's base URL, for MFADESK_GOOGLE_API_URL.
func (f *Server) URL() string { return f.srv.URL }

// TokenURL is the token endpoint, for a key's token_uri.
func (f *Server) TokenURL() string { return f.srv.URL + "/token" }

// Client is an HTTP client for the server.
func (f *Server) Client() *http.Client { return f.srv.Client() }

// AddUser adds u, or replaces the user with its ID.
func (f *Server) AddUser(u User) { fakeapi.Store(&f.mu, f.users, u.ID, u, (*User).clone) }

// User returns a copy of the user with ID id as it stands now, or the zero
// User.
func (f *Server) User(id string) User { return fakeapi.Copy(&f.mu, f.users, id, (*User).clone) }

// clone copies u and its lists.
func (u *User) clone() User {
	c := *u
	c.Aliases = slices.Clone(u.Aliases)
	c.ASPs = slices.Clone(u.ASPs)
	return c
}

// Body is the i-th users.update body received (from 0), or nil.
func (f *Server) Body(i int) map[string]any {
	if bodies := f.bodies.All(); i < len(bodies) {
		return bodies[i]
	}
	return nil
}

// Failure is a canned Google error answer: Status with a Google error body
// whose first reason is Reason, and Header added.
type Failure struct {
	Status          int
	Reason, Message string
	Header          http.Header
}

// FailNext makes the next answers to key be fs, in order. key is "METHOD
// path" for one escaped path ("DELETE /admin/directory/v1/users/101/asps/12")
// or "METHOD template" for a method ("POST
// /admin/directory/v1/users/{userKey}/signOut"); a path's failures come first.
func (f *Server) FailNext(key string, fs ...Failure) { f.faults.Add(faults(key, fs)...) }

// FailToken makes the token endpoint's next answers be fs, in order, with
// OAuth error bodies (Reason is the error code).
func (f *Server) FailToken(fs ...Failure) { f.tokenFaults.Add(faults("token", fs)...) }

// faults turns failures into single-use entries of a failure table.
func faults(key string, fs []Failure) []fakeapi.Fault {
	out := make([]fakeapi.Fault, len(fs))
	for i, fl := range fs {
		out[i] = fakeapi.Fault{Match: key, Status: fl.Status, Code: fl.Reason, Message: fl.Message, Header: fl.Header, Times: 1}
	}
	return out
}

// SetGranted sets the scopes delegated to the service account (both Admin
// SDK scopes mfadesk asks for by default); a token request for any other is
// refused with unauthorized_client.
func (f *Server) SetGranted(scopes ...string) { f.granted.Set(append([]string(nil), scopes...)) }

// Calls returns the API requests received, oldest first, as "METHOD
// escaped-path" (token requests are not among them).
func (f *Server) Calls() []string { return f.calls.All() }

// TokenRequests returns the verified assertions of the token requests,
// oldest first.
func (f *Server) TokenRequests() []Claims { return f.assertions.All() }

// AccessTokens returns the access tokens issued.
func (f *Server) AccessTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, 0, len(f.tokens))
	for tok := range f.tokens {
		out = append(out, tok)
	}
	sort.Strings(out)
	return out
}

func (f *Server) find(key string) *User {
	if u, ok := f.users[key]; ok {
		return u
	}
	for _, u := range f.users {
		if strings.EqualFold(u.Email, key) {
			return u
		}
		for _, a := range u.Aliases {
			if strings.EqualFold(a, key) {
				return u
			}
		}
	}
	return nil
}

func gError(w http.ResponseWriter, status int, reason, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": status, "message": message,
		"errors": []any{map[string]any{"message": message, "domain": "global", "reason": reason}},
	}})
}

func gJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *Server) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if r.URL.Path == "/token" {
		f.token(w, r)
		return
	}
	call := r.Method + " " + r.URL.EscapedPath()
	f.calls.Add(call)
	subject, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		gError(w, http.StatusUnauthorized, "authError", "Invalid Credentials")
		return
	}
	tmpl, p, known := matchRoute(r.Method, r.URL.EscapedPath())
	if tmpl == "" {
		f.undocumented.Add(call)
		if known {
			gError(w, http.StatusMethodNotAllowed, "methodNotAllowed", "Method Not Allowed")
		} else {
			gError(w, http.StatusNotFound, "notFound", "Not Found")
		}
		return
	}
	if len(r.URL.Query()) > 0 {
		f.undocumented.Add(call + "?" + r.URL.RawQuery)
	}
	key := r.Method + " " + tmpl
	// A failure for this exact path first, then for the method.
	if fl, ok := f.faults.Take(call, key); ok {
		fl.WriteHeaders(w.Header())
		gError(w, fl.Status, fl.Code, fl.Message)
		return
	}
	if actor := f.find(subject); actor == nil || (!actor.Admin && !actor.Delegated) {
		gError(w, http.StatusForbidden, "forbidden", "Not Authorized to access this resource/api")
		return
	}
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPost && len(body) > 0 {
		gError(w, http.StatusBadRequest, "invalid", "The request body must be empty")
		return
	}
	u := f.find(p["userKey"])
	if u == nil {
		gError(w, http.StatusNotFound, "notFound", "Resource Not Found: userKey")
		return
	}
	switch key {
	case "GET /admin/directory/v1/users/{userKey}":
		gJSON(w, f.userJSON(u))
	case "PUT /admin/directory/v1/users/{userKey}":
		f.update(w, u, body)
	case "POST /admin/directory/v1/users/{userKey}/signOut":
		u.SignOuts++
		w.WriteHeader(http.StatusNoContent)
	case "POST /admin/directory/v1/users/{userKey}/twoStepVerification/turnOff":
		if !u.Enrolled2SV {
			gError(w, http.StatusBadRequest, "invalid", "Two Step Verification is not enabled for the user")
			return
		}
		u.Enrolled2SV = false
		w.WriteHeader(http.StatusNoContent)
	case "POST /admin/directory/v1/users/{userKey}/verificationCodes/invalidate":
		u.BackupCodesValid = false
		u.Invalidations++
		w.WriteHeader(http.StatusNoContent)
	case "GET /admin/directory/v1/users/{userKey}/asps":
		items := []any{}
		for _, a := range u.ASPs {
			items = append(items, map[string]any{"kind": "admin#directory#asp", "codeId": a.CodeID, "name": a.Name, "userKey": u.ID})
		}
		gJSON(w, map[string]any{"kind": "admin#directory#aspList", "items": items})
	case "DELETE /admin/directory/v1/users/{userKey}/asps/{codeId}":
		code, err := strconv.ParseInt(p["codeId"], 10, 64)
		if err != nil {
			gError(w, http.StatusBadRequest, "invalid", "Invalid value for codeId")
			return
		}
		for i, a := range u.ASPs {
			if a.CodeID == code {
				u.ASPs = append(u.ASPs[:i], u.ASPs[i+1:]...)
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		gError(w, http.StatusNotFound, "notFound", "Resource Not Found: codeId")
	default:
		gError(w, http.StatusNotImplemented, "notImplemented", "the fake does not implement "+key)
	}
}

func (f *Server) userJSON(u *User) map[string]any {
	m := map[string]any{
		"kind": "admin#directory#user", "id": u.ID, "primaryEmail": u.Email,
		"name":    map[string]any{"fullName": u.FullName},
		"isAdmin": u.Admin, "isDelegatedAdmin": u.Delegated, "suspended": u.Suspended,
		"changePasswordAtNextLogin": u.ChangeAtNext,
		"isEnrolledIn2Sv":           u.Enrolled2SV, "isEnforcedIn2Sv": u.Enforced2SV,
	}
	if u.Suspended && u.SuspensionReason != "" {
		m["suspensionReason"] = u.SuspensionReason
	}
	if u.Manager != "" {
		m["relations"] = []map[string]any{{"value": u.Manager, "type": "manager"}}
	}
	return m
}

func (f *Server) update(w http.ResponseWriter, u *User, body []byte) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		gError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	for k := range m {
		if !slices.Contains(userFields, k) {
			gError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid JSON payload received. Unknown name %q", k))
			return
		}
	}
	f.bodies.Add(m)
	if pw, ok := m["password"].(string); ok {
		if len(pw) < 8 || len(pw) > 100 {
			gError(w, http.StatusBadRequest, "invalid", "Invalid Password")
			return
		}
		u.Password = pw
		u.HashFunction, _ = m["hashFunction"].(string)
	}
	if v, ok := m["changePasswordAtNextLogin"].(bool); ok {
		u.ChangeAtNext = v
	}
	if v, ok := m["suspended"].(bool); ok {
		u.Suspended = v
		u.SuspensionReason = ""
		if v {
			u.SuspensionReason = "ADMIN"
		}
	}
	gJSON(w, f.userJSON(u))
}

// token is the OAuth token endpoint of the JWT bearer flow (RFC 7523).
func (f *Server) token(w http.ResponseWriter, r *http.Request) {
	tokenErr := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		tokenErr(http.StatusBadRequest, "invalid_request", "POST a form")
		return
	}
	if fl, ok := f.tokenFaults.Take("token"); ok {
		fl.WriteHeaders(w.Header())
		tokenErr(fl.Status, fl.Code, fl.Message)
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		tokenErr(http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type")
		return
	}
	c, err := f.verify(r.PostForm.Get("assertion"))
	if err != nil {
		tokenErr(http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature.")
		f.t.Errorf("token request: %v", err)
		return
	}
	f.assertions.Add(c)
	if c.Aud != f.srv.URL+"/token" || c.Exp <= time.Now().Unix() {
		tokenErr(http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
		return
	}
	if f.find(c.Sub) == nil {
		tokenErr(http.StatusBadRequest, "invalid_grant", "Invalid email or User ID")
		return
	}
	for _, s := range strings.Fields(c.Scope) {
		if !slices.Contains(f.granted.Get(), s) {
			tokenErr(http.StatusUnauthorized, "unauthorized_client",
				"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
			return
		}
	}
	tok := fmt.Sprintf("ya29.fake-%d", f.n)
	f.tokens[tok] = c.Sub
	gJSON(w, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3599})
}

// verify checks an RS256 JWT against the service account's public key and
// returns its claims.
func (f *Server) verify(jwt string) (Claims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("assertion has %d parts", len(parts))
	}
	var hdr struct {
		Alg, Typ, Kid string
	}
	var c Claims
	for i, into := range []any{&hdr, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return Claims{}, err
		}
		if err := json.Unmarshal(b, into); err != nil {
			return Claims{}, err
		}
	}
	if hdr.Alg != "RS256" {
		return Claims{}, fmt.Errorf("alg %q", hdr.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return Claims{}, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, sum[:], sig); err != nil {
		return Claims{}, fmt.Errorf("signature: %w", err)
	}
	c.Kid = hdr.Kid
	return c, nil
}
