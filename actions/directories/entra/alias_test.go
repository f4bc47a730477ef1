package entra

import (
	"context"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
)

// A user's sign-in name (UPN) and mail are two addresses of one directory
// user: people found through either are the same person (README, "Who is
// who").
func TestAliasesResolveToOneUser(t *testing.T) {
	d, g, _ := setup(t)
	u := g.AddUser(fakegraph.User{UPN: "auth1@contoso.com", Mail: "auth1.alias@contoso.com", DisplayName: "Auth One"})
	other := g.AddUser(fakegraph.User{UPN: "auth2@contoso.com", Mail: "auth2@contoso.com"})
	var people []actions.Person
	for i, email := range []string{"auth1@contoso.com", "AUTH1.alias@contoso.com", "auth2@contoso.com"} {
		du, err := d.ResolveUser(context.Background(), email)
		if err != nil {
			t.Fatalf("ResolveUser(%s): %v", email, err)
		}
		people = append(people, actions.Person{SlackID: []string{"U1", "U2", "U3"}[i], Email: email, DirectoryID: du.ID})
	}
	if people[0].DirectoryID != u.ID || people[1].DirectoryID != u.ID || people[2].DirectoryID != other.ID {
		t.Fatalf("directory IDs = %s, %s, %s", people[0].DirectoryID, people[1].DirectoryID, people[2].DirectoryID)
	}
	if !actions.SamePerson(people[0], people[1]) || actions.SamePerson(people[0], people[2]) {
		t.Error("UPN and mail of one user are not one person, or two users are")
	}
}
