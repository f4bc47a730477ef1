package fakeokta

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// push is an Okta Verify push in flight.
type push struct {
	user, factor string
	number       int // the correct answer with number matching, else 0
	polls        int // WAITING answers left
	result       string
}

// provider is the provider Okta reports for a factor type.
func provider(factorType string) string {
	switch factorType {
	case "push", "token:software:totp", "signed_nonce":
		return "OKTA"
	case "token:hardware":
		return "YUBICO"
	}
	return "OKTA"
}

// Pushes returns the pushes sent so far, as "user factor number".
func (f *Server) Pushes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, p := range f.pushes {
		out = append(out, p.user+" "+p.factor+" "+strconv.Itoa(p.number))
	}
	return out
}

// verifyPush answers POST /api/v1/users/{userId}/factors/{factorId}/verify
// for a push factor as Okta does: 201 WAITING with the poll link and, when
// the body asks for useNumberMatchingChallenge, the correct answer. The body
// may hold only that property (UserFactorVerifyRequest's push variant), and
// a push needs a User-Agent header.
func (f *Server) verifyPush(w http.ResponseWriter, r *http.Request, u *User, factorID string) {
	i, err := strconv.Atoi(strings.TrimPrefix(factorID, "fac"))
	if !strings.HasPrefix(factorID, "fac") || err != nil || i < 0 || i >= len(u.Factors) {
		f.writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+factorID+" (UserFactor)")
		return
	}
	if u.Factors[i] != "push" {
		f.writeError(w, http.StatusNotImplemented, "E0000015", "the fake verifies push factors only")
		return
	}
	if r.Header.Get("User-Agent") == "" {
		f.writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: User-Agent is required to verify a push factor")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	var req map[string]any
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			f.writeError(w, http.StatusBadRequest, "E0000003", "The request body was not well-formed.")
			return
		}
	}
	for k := range req {
		if k != "useNumberMatchingChallenge" {
			f.undocumented.Add("POST verify (body property " + k + ")")
			f.writeError(w, http.StatusBadRequest, "E0000001", "Api validation failed: unknown property "+k)
			return
		}
	}
	p := &push{user: u.ID, factor: factorID, polls: u.PushPolls, result: u.Push}
	if p.result == "" {
		p.result = "TIMEOUT"
	}
	if nm, _ := req["useNumberMatchingChallenge"].(bool); nm {
		p.number = 10 + f.n%90
	}
	tx := fmt.Sprintf("v2mst%04d", f.n)
	f.pushes[tx] = p
	out := map[string]any{
		"factorResult": "WAITING", "expiresAt": time.Now().Add(5 * time.Minute).UTC().Format(time.RFC3339),
		"profile": map[string]any{"credentialId": u.Login},
		"_links": map[string]any{
			"poll":   map[string]any{"href": f.srv.URL + "/api/v1/users/" + u.ID + "/factors/" + factorID + "/transactions/" + tx},
			"cancel": map[string]any{"href": f.srv.URL + "/api/v1/users/" + u.ID + "/factors/" + factorID + "/transactions/" + tx},
		},
	}
	if p.number != 0 {
		out["_embedded"] = map[string]any{"challenge": map[string]any{"correctAnswer": p.number}}
	}
	writeJSON(w, http.StatusCreated, out)
}

// pollPush answers GET …/factors/{factorId}/transactions/{transactionId}:
// WAITING for the user's PushPolls polls, then their answer.
func (f *Server) pollPush(w http.ResponseWriter, u *User, factorID, tx string) {
	p := f.pushes[tx]
	if p == nil || p.user != u.ID || p.factor != factorID {
		f.writeError(w, http.StatusNotFound, "E0000007", "Not found: Resource not found: "+tx+" (Transaction)")
		return
	}
	result := p.result
	if p.polls > 0 {
		p.polls--
		result = "WAITING"
	}
	out := map[string]any{"factorResult": result, "profile": map[string]any{"credentialId": u.Login}}
	if result == "WAITING" && p.number != 0 {
		out["_embedded"] = map[string]any{"challenge": map[string]any{"correctAnswer": p.number}}
	}
	writeJSON(w, http.StatusOK, out)
}
