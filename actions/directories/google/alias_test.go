package google

import (
	"context"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
)

// A Google alias and the primary address are one user: people found through
// either are the same person (README, "Who is who").
func TestAliasesResolveToOneUser(t *testing.T) {
	e := setup(t)
	primary, err := e.d.ResolveUser(context.Background(), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	alias, err := e.d.ResolveUser(context.Background(), "ali@example.com")
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.d.ResolveUser(context.Background(), "dan@example.com")
	if err != nil {
		t.Fatal(err)
	}
	a := actions.Person{SlackID: "U1", Email: "alice@example.com", DirectoryID: primary.ID}
	b := actions.Person{SlackID: "U2", Email: "ali@example.com", DirectoryID: alias.ID}
	c := actions.Person{SlackID: "U3", Email: "dan@example.com", DirectoryID: other.ID}
	if primary.ID != "101" || !actions.SamePerson(a, b) || actions.SamePerson(a, c) {
		t.Errorf("primary %s, alias %s, other %s: the alias is not the same person, or another user is", primary.ID, alias.ID, other.ID)
	}
}
