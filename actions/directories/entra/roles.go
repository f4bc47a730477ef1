package entra

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// roleCollections are the role management collections that say a principal
// holds a Microsoft Entra role: active assignments (built-in and custom
// roles, tenant-wide or scoped to an administrative unit) and PIM
// eligibilities, which the principal can activate at will.
var roleCollections = []struct{ op, path string }{
	{"list role assignments", "/roleManagement/directory/roleAssignments"},
	{"list role eligibilities", "/roleManagement/directory/roleEligibilityScheduleInstances"},
}

// groupType is the @odata.type of a group among a user's memberships.
const groupType = "#microsoft.graph.group"

// IsPrivileged reports whether the user holds a Microsoft Entra role in any
// form (README, "Microsoft Entra ID"): an active assignment of a built-in or
// custom role at any scope (tenant or administrative unit), a PIM-eligible
// assignment, or either of those held by a group the user belongs to
// (role-assignable groups). It needs RoleManagement.Read.Directory (or
// Directory.Read.All) and GroupMember.Read.All (or Directory.Read.All) for
// the memberships. It returns a *actions.DirectoryError when Graph fails (404
// for an unknown user): the caller fails closed.
func (d *Directory) IsPrivileged(ctx context.Context, userID string) (bool, error) {
	if userID == "" {
		return false, errors.New("is privileged: empty user id")
	}
	held, err := d.holdsRole(ctx, userID)
	if err != nil || held {
		return held, wrapPrivileged(userID, err)
	}
	groups, err := d.groupsOf(ctx, userID)
	if err != nil {
		return false, wrapPrivileged(userID, err)
	}
	for _, g := range groups {
		if held, err := d.holdsRole(ctx, g); err != nil || held {
			return held, wrapPrivileged(userID, err)
		}
	}
	return false, nil
}

func wrapPrivileged(userID string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("is privileged %s: %w", userID, err)
}

// holdsRole reports whether principalID (a user or a group) has an active or
// an eligible role assignment, at any scope.
func (d *Directory) holdsRole(ctx context.Context, principalID string) (bool, error) {
	for _, c := range roleCollections {
		q := query{"$filter": "principalId eq " + odataString(principalID), "$select": "id,roleDefinitionId,directoryScopeId"}
		held := false
		err := d.list(ctx, c.op, c.path, q, func(json.RawMessage) error {
			held = true
			return errStop
		})
		if err != nil || held {
			return held, err
		}
	}
	return false, nil
}

// groupsOf lists the IDs of the groups the user belongs to, directly or
// through other groups.
func (d *Directory) groupsOf(ctx context.Context, userID string) ([]string, error) {
	var ids []string
	q := query{"$select": "id"}
	err := d.list(ctx, "list memberships", userPath(userID)+"/transitiveMemberOf", q, func(raw json.RawMessage) error {
		var o struct {
			Type string `json:"@odata.type"`
			ID   string `json:"id"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return fmt.Errorf("decode membership: %w", err)
		}
		if o.Type == groupType && o.ID != "" {
			ids = append(ids, o.ID)
		}
		return nil
	})
	return ids, err
}
