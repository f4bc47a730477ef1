package fakegraph

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// PasswordMethodID is the fixed ID Graph gives every user's password method.
const PasswordMethodID = "28c10230-6103-485e-b985-444c60001490"

// authentication serves /users/{id}/authentication/…; the segment after
// authentication must be a navigation of microsoft.graph.authentication.
func (g *Server) authentication(u *User, r fakeReq, rest []string) fakeResp {
	if len(rest) == 0 {
		return g.errResp(400, "BadRequest", "The fake does not serve the authentication entity itself.")
	}
	target, ok := g.model.nav("authentication", rest[0])
	if !ok {
		return g.errResp(400, "BadRequest", "Resource not found for the segment '"+rest[0]+"'.")
	}
	switch {
	case rest[0] == "methods" && len(rest) == 1 && r.method == http.MethodGet:
		g.mu.Lock()
		items := []any{map[string]any{"@odata.type": "#microsoft.graph.passwordAuthenticationMethod", "id": PasswordMethodID, "password": nil}}
		for _, m := range u.Methods {
			items = append(items, methodJSON(m))
		}
		g.mu.Unlock()
		return g.page(r, items)
	case rest[0] == "temporaryAccessPassMethods" && len(rest) == 1 && r.method == http.MethodPost:
		return g.createTAP(u, r, target)
	case len(rest) == 2 && r.method == http.MethodDelete:
		id, err := url.PathUnescape(rest[1])
		if err != nil {
			return g.errResp(400, "BadRequest", "Bad escape.")
		}
		return g.deleteMethod(u, target, id)
	}
	return g.errResp(405, "BadRequest", "The fake does not serve "+r.method+" "+r.path)
}

func methodJSON(m *Method) map[string]any {
	j := map[string]any{"@odata.type": "#microsoft.graph." + m.Type, "id": m.ID}
	if m.Type == "phoneAuthenticationMethod" {
		j["phoneType"], j["phoneNumber"] = m.PhoneType, "+1 5555550100"
	}
	if m.Name != "" {
		j["displayName"] = m.Name
	}
	return j
}

func (g *Server) deleteMethod(u *User, typ, id string) fakeResp {
	g.mu.Lock()
	idx := -1
	for i, m := range u.Methods {
		if m.ID == id && m.Type == typ {
			idx = i
		}
	}
	if id == PasswordMethodID {
		g.mu.Unlock()
		return g.errResp(400, "badRequest", "The password method can't be deleted.")
	}
	if idx < 0 {
		g.mu.Unlock()
		return g.errResp(404, "itemNotFound", "No such authentication method.")
	}
	m := u.Methods[idx]
	others := len(u.Methods) - 1
	if m.ID == u.DefaultMethod && others > 0 {
		g.mu.Unlock()
		return g.errResp(400, "badRequest", "This is the user's default method; it can't go while other methods are registered.")
	}
	if m.Type == "phoneAuthenticationMethod" && m.PhoneType == "mobile" {
		for _, o := range u.Methods {
			if o.Type == m.Type && o.PhoneType == "alternateMobile" {
				g.mu.Unlock()
				return g.errResp(400, "badRequest", "An alternate mobile phone needs a mobile phone; remove the alternate first.")
			}
		}
	}
	u.Methods = append(u.Methods[:idx:idx], u.Methods[idx+1:]...)
	if m.ID == u.DefaultMethod {
		u.DefaultMethod = ""
	}
	g.mu.Unlock()
	return g.ok(204, nil)
}

func (g *Server) createTAP(u *User, r fakeReq, typ string) fakeResp {
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		return g.errResp(400, "BadRequest", "Unreadable JSON.")
	}
	if err := g.model.checkBody(typ, body); err != nil {
		return g.errResp(400, "Request_BadRequest", err.Error())
	}
	lifetime := 60
	if v, ok := body["lifetimeInMinutes"].(float64); ok {
		lifetime = int(v)
	}
	if lifetime < 10 || lifetime > 43200 {
		return g.errResp(400, "badRequest", "lifetimeInMinutes is outside what the policy allows.")
	}
	once, _ := body["isUsableOnce"].(bool)
	g.mu.Lock()
	g.seq++
	m := &Method{ID: fmt.Sprintf("tap-%d", g.seq), Type: typ, Secret: fmt.Sprintf("TAP%06d!x", g.seq),
		Start: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Lifetime: lifetime, Once: once}
	kept := u.Methods[:0:0]
	for _, o := range u.Methods {
		if o.Type != typ {
			kept = append(kept, o)
		}
	}
	u.Methods = append(kept, m)
	g.mu.Unlock()
	return g.ok(201, map[string]any{
		"@odata.type": "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
		"id":          m.ID, "temporaryAccessPass": m.Secret, "lifetimeInMinutes": lifetime,
		"startDateTime": m.Start.Format(time.RFC3339), "isUsableOnce": once, "isUsable": true,
		"methodUsabilityReason": "EnabledByPolicy", "createdDateTime": m.Start.Format(time.RFC3339),
	})
}

// MethodTypes lists the types of the methods user id has left, the password
// aside, without the AuthenticationMethod suffix and with the phone type:
// "phone:mobile", "fido2".
func (g *Server) MethodTypes(id string) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for _, m := range g.users[id].Methods {
		t := strings.TrimSuffix(m.Type, "AuthenticationMethod")
		if m.PhoneType != "" {
			t += ":" + m.PhoneType
		}
		out = append(out, t)
	}
	return out
}
