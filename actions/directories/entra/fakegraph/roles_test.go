package fakegraph

import (
	"encoding/json"
	"net/http"
	"testing"
)

// The role management endpoints are checked against the metadata: unknown
// navigations and properties are refused as Graph refuses them.
func TestRoleManagementFollowsMetadata(t *testing.T) {
	g := New(t)
	u := g.AddUser(User{UPN: "pim@contoso.com", Groups: []string{"g1"}})
	g.MakeEligible(u.ID, Assignment{RoleDefinitionID: "r1", DirectoryScopeID: "/administrativeUnits/au1"})
	tests := []struct {
		path   string
		status int
		items  int
	}{
		{"/v1.0/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId+eq+'" + u.ID + "'&$select=id,directoryScopeId", 200, 1},
		{"/v1.0/roleManagement/directory/roleAssignments?$filter=principalId+eq+'" + u.ID + "'", 200, 0},
		{"/v1.0/roleManagement/directory/roleAssignmentz?$filter=principalId+eq+'" + u.ID + "'", 400, 0},
		{"/v1.0/roleManagement/directorie/roleAssignments?$filter=principalId+eq+'" + u.ID + "'", 400, 0},
		{"/v1.0/roleManagement/directory/roleAssignments?$filter=principalId+eq+'" + u.ID + "'&$select=scope", 400, 0},
		{"/v1.0/roleManagement/directory/roleAssignments", 400, 0},
		{"/v1.0/users/" + u.ID + "/transitiveMemberOf?$select=id", 200, 1},
		{"/v1.0/users/" + u.ID + "/transitiveMemberOf?$select=isAssignableToRole", 400, 0},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, g.URL()+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+g.Token())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Value []map[string]any `json:"value"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || len(body.Value) != tt.items {
			t.Errorf("GET %s: %d with %d items, want %d with %d", tt.path, resp.StatusCode, len(body.Value), tt.status, tt.items)
		}
	}
}
