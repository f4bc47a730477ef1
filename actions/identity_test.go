package actions_test

import (
	"testing"

	"github.com/mfadesk/mfadesk/actions"
)

func TestSameEmail(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"kate@desk.example", "kate@desk.example", true},
		{"Kate@Desk.Example", "kate@desk.example", true},
		{" kate@desk.example ", "KATE@DESK.EXAMPLE", true},
		{"Kate@deſk.example", "kate@desk.example", false},      // long s folds to s in Unicode
		{"\u212Aate@desk.example", "kate@desk.example", false}, // Kelvin sign folds to k
		{"kate@desk.example", "kate@desk.example.", false},
		{"", "", false},
		{"", "kate@desk.example", false},
		{"jürgen@desk.example", "jürgen@desk.example", true}, // not ASCII: only exactly equal
		{"Jürgen@desk.example", "jürgen@desk.example", false},
	}
	for _, tt := range tests {
		if got := actions.SameEmail(tt.a, tt.b); got != tt.want {
			t.Errorf("SameEmail(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := actions.SameEmail(tt.b, tt.a); got != tt.want {
			t.Errorf("SameEmail(%q, %q) = %v, want %v (not symmetric)", tt.b, tt.a, got, tt.want)
		}
		if ka, kb := actions.EmailKey(tt.a), actions.EmailKey(tt.b); (ka != "" && ka == kb) != tt.want {
			t.Errorf("EmailKey(%q) = %q, EmailKey(%q) = %q: equal keys %v, want %v", tt.a, ka, tt.b, kb, ka == kb, tt.want)
		}
	}
}

func TestSamePerson(t *testing.T) {
	tests := []struct {
		name string
		a, b actions.Person
		want bool
	}{
		{"same Slack ID", actions.Person{SlackID: "U1"}, actions.Person{SlackID: "U1", Email: "x@e.example"}, true},
		{"same email, other case", actions.Person{SlackID: "U1", Email: "Auth1@E.example"}, actions.Person{SlackID: "U2", Email: "auth1@e.example"}, true},
		{"alias: same directory user", actions.Person{SlackID: "U1", Email: "auth1.alias@e.example", DirectoryID: "d1"},
			actions.Person{SlackID: "U2", Email: "auth1@e.example", DirectoryID: "d1"}, true},
		{"different people", actions.Person{SlackID: "U1", Email: "a@e.example", DirectoryID: "d1"},
			actions.Person{SlackID: "U2", Email: "b@e.example", DirectoryID: "d2"}, false},
		{"empty directory IDs do not match", actions.Person{SlackID: "U1", Email: "a@e.example"},
			actions.Person{SlackID: "U2", Email: "b@e.example"}, false},
		{"Unicode folding does not match", actions.Person{SlackID: "U1", Email: "Kate@deſk.example"},
			actions.Person{SlackID: "U2", Email: "kate@desk.example"}, false},
		{"all empty", actions.Person{}, actions.Person{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := actions.SamePerson(tt.a, tt.b); got != tt.want {
				t.Errorf("SamePerson = %v, want %v", got, tt.want)
			}
			if got := tt.b.Is(tt.a); got != tt.want {
				t.Errorf("Is (reversed) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPolicyEmailMembersASCII(t *testing.T) {
	pol, err := actions.ParsePolicy("p.yaml", []byte(`
roles:
  helpdesk: [Kate@Desk.example]
actions:
  revoke-mfa-sessions: {request: [helpdesk], approve: [helpdesk]}
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		email string
		want  bool
	}{
		{"kate@desk.example", true},
		{"KATE@DESK.EXAMPLE", true},
		{"Kate@deſk.example", false},
		{"\u212Aate@desk.example", false},
	}
	for _, tt := range tests {
		if got := pol.HasRole(actions.Person{SlackID: "U0X", Email: tt.email}, "helpdesk"); got != tt.want {
			t.Errorf("HasRole(%q) = %v, want %v", tt.email, got, tt.want)
		}
	}
	_, err = actions.ParsePolicy("p.yaml", []byte(`
roles:
  helpdesk: ["kate@deſk.example"]
actions:
  revoke-mfa-sessions: {request: [helpdesk], approve: [helpdesk]}
`))
	if err == nil || !contains(err.Error(), "p.yaml:3: roles.helpdesk") || !contains(err.Error(), "plain ASCII") {
		t.Errorf("non-ASCII member: err = %v, want one naming the line and plain ASCII", err)
	}
}
