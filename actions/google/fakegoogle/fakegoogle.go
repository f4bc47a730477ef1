package google

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
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// documented are the Directory API (directory_v1) methods of the users,
// twoStepVerification, verificationCodes and asps resources, as the
// discovery document names them; the fake refuses anything else.
var documented = []struct{ method, template string }{
	{"GET", "/admin/directory/v1/users/{userKey}"},          // users.get
	{"PUT", "/admin/directory/v1/users/{userKey}"},          // users.update
	{"PATCH", "/admin/directory/v1/users/{userKey}"},        // users.patch
	{"DELETE", "/admin/directory/v1/users/{userKey}"},       // users.delete
	{"POST", "/admin/directory/v1/users/{userKey}/signOut"}, // users.signOut
	{"POST", "/admin/directory/v1/users/{userKey}/twoStepVerification/turnOff"},
	{"GET", "/admin/directory/v1/users/{userKey}/verificationCodes"}, // verificationCodes.list
	{"POST", "/admin/directory/v1/users/{userKey}/verificationCodes/generate"},
	{"POST", "/admin/directory/v1/users/{userKey}/verificationCodes/invalidate"},
	{"GET", "/admin/directory/v1/users/{userKey}/asps"},             // asps.list
	{"GET", "/admin/directory/v1/users/{userKey}/asps/{codeId}"},    // asps.get
	{"DELETE", "/admin/directory/v1/users/{userKey}/asps/{codeId}"}, // asps.delete
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
	raw := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	for _, d := range documented {
		segs := strings.Split(strings.TrimPrefix(d.template, "/"), "/")
		if len(segs) != len(raw) {
			continue
		}
		p := map[string]string{}
		ok := true
		for i, s := range segs {
			v, err := url.PathUnescape(raw[i])
			if err != nil || v == "" {
				ok = false
				break
			}
			if strings.HasPrefix(s, "{") {
				p[s[1:len(s)-1]] = v
			} else if s != v {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		pathKnown = true
		if d.method == method {
			return d.template, p, true
		}
	}
	return "", nil, pathKnown
}

type gASP struct {
	CodeID int64
	Name   string
}

// gUser is a user of the fake Workspace account.
type gUser struct {
	ID, Email, FullName      string
	Aliases                  []string
	Admin, Delegated         bool
	Suspended                bool
	SuspensionReason         string
	Enrolled2SV, Enforced2SV bool
	BackupCodesValid         bool
	ASPs                     []gASP
	Password, HashFunction   string
	ChangeAtNext             bool
	SignOuts, Invalidations  int
}

// gFailure is a canned Google error answer.
type gFailure struct {
	status          int
	reason, message string
	header          http.Header
}

// claims are the JWT claims a token request carried.
type claims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Sub   string `json:"sub"`
	Prn   string `json:"prn"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
	Kid   string `json:"-"`
}

// fakeGoogle is an Admin SDK Directory API and an OAuth token endpoint for
// the JWT bearer flow that verifies the assertion's signature.
type fakeGoogle struct {
	t   *testing.T
	srv *httptest.Server
	pub *rsa.PublicKey

	mu           sync.Mutex
	n            int
	users        map[string]*gUser
	granted      []string          // scopes delegated to the service account
	tokens       map[string]string // access token -> subject
	assertions   []claims
	tokenFails   []gFailure
	fail         map[string][]gFailure // "METHOD template" or "METHOD path" -> answers to give first
	calls        []string
	bodies       []map[string]any // users.update bodies
	undocumented []string
}

func newFakeGoogle(t *testing.T, pub *rsa.PublicKey) *fakeGoogle {
	t.Helper()
	f := &fakeGoogle{t: t, pub: pub, users: map[string]*gUser{}, tokens: map[string]string{},
		fail: map[string][]gFailure{}, granted: []string{ScopeUser, ScopeUserSecurity}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, u := range f.undocumented {
			t.Errorf("client sent a request the Directory API does not document: %s", u)
		}
	})
	return f
}

func (f *fakeGoogle) add(u gUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[u.ID] = &u
}

func (f *fakeGoogle) user(id string) gUser {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.users[id]
}

// body is the i-th users.update body received.
func (f *fakeGoogle) body(i int) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.bodies) {
		return nil
	}
	return f.bodies[i]
}

func (f *fakeGoogle) failNext(key string, fs ...gFailure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[key] = append(f.fail[key], fs...)
}

func (f *fakeGoogle) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeGoogle) tokenRequests() []claims {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]claims(nil), f.assertions...)
}

func (f *fakeGoogle) find(key string) *gUser {
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

func (f *fakeGoogle) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if r.URL.Path == "/token" {
		f.token(w, r)
		return
	}
	call := r.Method + " " + r.URL.EscapedPath()
	f.calls = append(f.calls, call)
	subject, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		gError(w, http.StatusUnauthorized, "authError", "Invalid Credentials")
		return
	}
	tmpl, p, known := matchRoute(r.Method, r.URL.EscapedPath())
	if tmpl == "" {
		f.undocumented = append(f.undocumented, call)
		if known {
			gError(w, http.StatusMethodNotAllowed, "methodNotAllowed", "Method Not Allowed")
		} else {
			gError(w, http.StatusNotFound, "notFound", "Not Found")
		}
		return
	}
	if len(r.URL.Query()) > 0 {
		f.undocumented = append(f.undocumented, call+"?"+r.URL.RawQuery)
	}
	key := r.Method + " " + tmpl
	fkey := call // a failure for this exact path first, then for the method
	if len(f.fail[fkey]) == 0 {
		fkey = key
	}
	if q := f.fail[fkey]; len(q) > 0 {
		fl := q[0]
		f.fail[fkey] = q[1:]
		for k, vs := range fl.header {
			w.Header()[k] = vs
		}
		gError(w, fl.status, fl.reason, fl.message)
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

func (f *fakeGoogle) userJSON(u *gUser) map[string]any {
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
	return m
}

func (f *fakeGoogle) update(w http.ResponseWriter, u *gUser, body []byte) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		gError(w, http.StatusBadRequest, "parseError", "Parse Error")
		return
	}
	for k := range m {
		if !contains(userFields, k) {
			gError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("Invalid JSON payload received. Unknown name %q", k))
			return
		}
	}
	f.bodies = append(f.bodies, m)
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// token is the OAuth token endpoint of the JWT bearer flow (RFC 7523).
func (f *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	tokenErr := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		tokenErr(http.StatusBadRequest, "invalid_request", "POST a form")
		return
	}
	if len(f.tokenFails) > 0 {
		fl := f.tokenFails[0]
		f.tokenFails = f.tokenFails[1:]
		for k, vs := range fl.header {
			w.Header()[k] = vs
		}
		tokenErr(fl.status, fl.reason, fl.message)
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
	f.assertions = append(f.assertions, c)
	if c.Aud != f.srv.URL+"/token" || c.Exp <= time.Now().Unix() {
		tokenErr(http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
		return
	}
	if f.find(c.Sub) == nil {
		tokenErr(http.StatusBadRequest, "invalid_grant", "Invalid email or User ID")
		return
	}
	for _, s := range strings.Fields(c.Scope) {
		if !contains(f.granted, s) {
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
func (f *fakeGoogle) verify(jwt string) (claims, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return claims{}, fmt.Errorf("assertion has %d parts", len(parts))
	}
	var hdr struct {
		Alg, Typ, Kid string
	}
	var c claims
	for i, into := range []any{&hdr, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return claims{}, err
		}
		if err := json.Unmarshal(b, into); err != nil {
			return claims{}, err
		}
	}
	if hdr.Alg != "RS256" {
		return claims{}, fmt.Errorf("alg %q", hdr.Alg)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return claims{}, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(f.pub, crypto.SHA256, sum[:], sig); err != nil {
		return claims{}, fmt.Errorf("signature: %w", err)
	}
	c.Kid = hdr.Kid
	return c, nil
}

// sortedKeys is for stable failure messages.
func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
