package entra

import (
	"context"
	"strings"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/actions/directories/internal/dirtest"
)

func TestManager(t *testing.T) {
	d, g, _ := setup(t)
	boss := g.AddUser(fakegraph.User{UPN: "boss@contoso.com", Mail: "boss.mail@contoso.com", DisplayName: "Boss"})
	ada := g.AddUser(fakegraph.User{UPN: "ada@contoso.com", DisplayName: "Ada", Manager: boss.ID})
	alone := g.AddUser(fakegraph.User{UPN: "alone@contoso.com", DisplayName: "Alone"})

	for _, tc := range []struct {
		name    string
		id      string
		want    actions.DirectoryUser
		wantErr string
		is      error // the sentinel the error must be
	}{
		{"has a manager", ada.ID, actions.DirectoryUser{ID: boss.ID, Email: "boss.mail@contoso.com", DisplayName: "Boss"}, "", nil},
		{"none set: Graph answers 404", alone.ID, actions.DirectoryUser{}, "none set", actions.ErrNoManager},
		{"unknown user", "00000000-0000-0000-0000-00000000dead", actions.DirectoryUser{}, "none set", actions.ErrNoManager},
		{"empty id", "", actions.DirectoryUser{}, "empty user id", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Manager(context.Background(), tc.id)
			dirtest.User(t, got, err, tc.want, tc.wantErr, tc.is)
		})
	}
	if !hasCall(g.Calls(), "GET /users/"+ada.ID+"/manager?$select=id%2CuserPrincipalName%2Cmail%2CdisplayName") {
		t.Errorf("no manager call in\n%s", strings.Join(g.Calls(), "\n"))
	}
}

func TestManagerGraphFailure(t *testing.T) {
	d, g, _ := setup(t)
	ada := g.AddUser(fakegraph.User{UPN: "ada@contoso.com"})
	g.Inject("/manager", 403, "", 1)
	_, err := d.Manager(context.Background(), ada.ID)
	dirtest.Status(t, err, 403)
}

// Entra has no admin-initiated push: the directory does not offer the push
// verification method, and a policy listing it is refused.
func TestNoPush(t *testing.T) {
	d, _, _ := setup(t)
	if actions.SupportsVerify(d, actions.VerifyPush) || !actions.SupportsVerify(d, actions.VerifyManager) {
		t.Error("Entra must support target and manager verification, not push")
	}
	pol, err := actions.ParsePolicy("p.yaml", []byte("roles: {h: [U0HELP1]}\nactions:\n  reset-password: {request: [h], approve: [h], verify: [target, push]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := actions.CheckVerification(pol, d); len(p) != 1 || !strings.Contains(p[0], "reset-password.verify lists push") {
		t.Errorf("problems %q, want the push of reset-password named", p)
	}
}
