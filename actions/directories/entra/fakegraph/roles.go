package fakegraph

import (
	"fmt"
	"net/http"
	"strings"
)

// Assignment is one role assignment or PIM eligibility: a role definition
// (built-in or custom) at a directory scope ("/" for the tenant,
// "/administrativeUnits/{id}" for an administrative unit).
type Assignment struct {
	RoleDefinitionID string
	DirectoryScopeID string
}

// AssignRole gives principalID (a user or a group) an active role
// assignment, listed by roleManagement/directory/roleAssignments.
func (g *Server) AssignRole(principalID string, a Assignment) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.assigned[principalID] = append(g.assigned[principalID], a)
}

// MakeEligible gives principalID a PIM-eligible role assignment, listed by
// roleManagement/directory/roleEligibilityScheduleInstances.
func (g *Server) MakeEligible(principalID string, a Assignment) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.eligible[principalID] = append(g.eligible[principalID], a)
}

// roleManagement serves GET /roleManagement/directory/{roleAssignments |
// roleEligibilityScheduleInstances}?$filter=principalId eq '…' with an
// optional $select, after checking the path's navigations and the queried
// properties against the metadata.
func (g *Server) roleManagement(r fakeReq, segs []string) fakeResp {
	if len(segs) != 2 {
		return g.errResp(400, "BadRequest", "The fake serves only /roleManagement/directory/{collection}.")
	}
	app, ok := g.model.nav("roleManagement", segs[0])
	if !ok {
		return g.errResp(400, "BadRequest", "Resource not found for the segment '"+segs[0]+"'.")
	}
	typ, ok := g.model.nav(app, segs[1])
	if !ok {
		return g.errResp(400, "BadRequest", "Resource not found for the segment '"+segs[1]+"'.")
	}
	if r.method != http.MethodGet {
		return g.errResp(405, "Request_BadRequest", "Method not allowed.")
	}
	var source map[string][]Assignment
	switch {
	case segs[0] == "directory" && segs[1] == "roleAssignments":
		source = g.assigned
	case segs[0] == "directory" && segs[1] == "roleEligibilityScheduleInstances":
		source = g.eligible
	default:
		return g.errResp(501, "NotImplemented", "The fake does not serve "+r.path)
	}
	lit, ok := strings.CutPrefix(r.query.Get("$filter"), "principalId eq '")
	if _, isProp := g.model.prop(typ, "principalId"); !ok || !isProp || !strings.HasSuffix(lit, "'") {
		return g.errResp(400, "BadRequest", "Invalid filter clause: the fake answers principalId eq '…'.")
	}
	principal := strings.ReplaceAll(strings.TrimSuffix(lit, "'"), "''", "'")
	sel := r.query.Get("$select")
	for _, f := range strings.Split(sel, ",") {
		if _, ok := g.model.prop(typ, f); sel != "" && !ok {
			return g.errResp(400, "BadRequest", "Could not find a property named '"+f+"' on type 'microsoft.graph."+typ+"'.")
		}
	}
	g.mu.Lock()
	list := append([]Assignment(nil), source[principal]...)
	if u := g.users[principal]; u != nil && segs[1] == "roleAssignments" {
		for _, name := range u.Roles {
			list = append(list, Assignment{RoleDefinitionID: "builtin-" + name, DirectoryScopeID: "/"})
		}
	}
	g.mu.Unlock()
	items := make([]any, len(list))
	for i, a := range list {
		all := map[string]any{"id": fmt.Sprintf("%s-%s-%d", segs[1], principal, i), "principalId": principal,
			"roleDefinitionId": a.RoleDefinitionID, "directoryScopeId": a.DirectoryScopeID}
		items[i] = selectFields(all, sel)
	}
	return g.page(r, items)
}

func selectFields(all map[string]any, sel string) map[string]any {
	if sel == "" {
		return all
	}
	out := map[string]any{}
	for _, f := range strings.Split(sel, ",") {
		if v, ok := all[f]; ok {
			out[f] = v
		}
	}
	return out
}

// roles serves /users/{id}/transitiveMemberOf, with or without an OData cast
// (which needs ConsistencyLevel: eventual and $count=true): the user's
// directory roles and groups as directoryObjects.
func (g *Server) roles(u *User, r fakeReq, rest []string) fakeResp {
	if len(rest) > 1 || r.method != http.MethodGet {
		return g.errResp(400, "BadRequest", "Unsupported segment.")
	}
	cast := ""
	if len(rest) == 1 {
		cast = strings.TrimPrefix(rest[0], "microsoft.graph.")
		if cast == rest[0] || !g.model.isEntity(cast) {
			return g.errResp(400, "BadRequest", "Unknown type cast '"+rest[0]+"'.")
		}
		if r.header.Get("ConsistencyLevel") != "eventual" || r.query.Get("$count") != "true" {
			return g.errResp(400, "Request_UnsupportedQuery", "OData cast needs ConsistencyLevel: eventual and $count=true.")
		}
	}
	sel := r.query.Get("$select")
	for _, f := range strings.Split(sel, ",") {
		if _, ok := g.model.prop(orDefault(cast, "directoryObject"), f); sel != "" && !ok {
			return g.errResp(400, "BadRequest", "Could not find a property named '"+f+"'.")
		}
	}
	g.mu.Lock()
	var items []any
	if cast == "" || cast == "directoryRole" {
		for i, name := range u.Roles {
			items = append(items, selectTyped(map[string]any{"@odata.type": "#microsoft.graph.directoryRole",
				"id": fmt.Sprintf("role-%d", i), "displayName": name}, sel))
		}
	}
	if cast == "" {
		for _, id := range u.Groups {
			items = append(items, selectTyped(map[string]any{"@odata.type": "#microsoft.graph.group", "id": id}, sel))
		}
	}
	g.mu.Unlock()
	return g.page(r, items)
}

// selectTyped is selectFields keeping @odata.type, as Graph does for
// collections of a base type.
func selectTyped(all map[string]any, sel string) map[string]any {
	out := selectFields(all, sel)
	out["@odata.type"] = all["@odata.type"]
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
