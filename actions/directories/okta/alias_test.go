package okta

import (
	"context"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/okta/fakeokta"
)

// An Okta login and a different profile.email are two addresses of one user:
// people found through either are the same person (README, "Who is who").
func TestAliasesResolveToOneUser(t *testing.T) {
	d, f, _ := setup(t)
	f.AddUser(fakeokta.User{ID: "00udave", Login: "dave@corp.example.com", Email: "dave.smith@example.com", First: "Dave"})
	var people []actions.Person
	for i, email := range []string{"dave@corp.example.com", "dave.smith@example.com", "alice@example.com"} {
		u, err := d.ResolveUser(context.Background(), email)
		if err != nil {
			t.Fatalf("ResolveUser(%s): %v", email, err)
		}
		people = append(people, actions.Person{SlackID: []string{"U1", "U2", "U3"}[i], Email: email, DirectoryID: u.ID})
	}
	if people[0].DirectoryID != "00udave" || !actions.SamePerson(people[0], people[1]) || actions.SamePerson(people[0], people[2]) {
		t.Errorf("people = %+v: the login and the email are not one person, or another user is", people)
	}
}
