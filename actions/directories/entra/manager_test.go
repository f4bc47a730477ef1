package entra

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/entra/fakegraph"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

func TestManager(t *testing.T) {
	d, g, _ := setup(t)
	boss := g.AddUser(fakegraph.User{UPN: "boss@contoso.com", Mail: "boss.mail@contoso.com", DisplayName: "Boss"})
	ada := g.AddUser(fakegraph.User{UPN: "ada@contoso.com", DisplayName: "Ada", Manager: boss.ID})
	alone := g.AddUser(fakegraph.User{UPN: "alone@contoso.com", DisplayName: "Alone"})

	for _, tc := range []struct {
		name      string
		id        string
		want      actions.DirectoryUser
		wantErr   string
		noManager bool
	}{
		{"has a manager", ada.ID, actions.DirectoryUser{ID: boss.ID, Email: "boss.mail@contoso.com", DisplayName: "Boss"}, "", false},
		{"none set: Graph answers 404", alone.ID, actions.DirectoryUser{}, "none set", true},
		{"unknown user", "00000000-0000-0000-0000-00000000dead", actions.DirectoryUser{}, "none set", true},
		{"empty id", "", actions.DirectoryUser{}, "empty user id", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := d.Manager(context.Background(), tc.id)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				if errors.Is(err, actions.ErrNoManager) != tc.noManager {
					t.Errorf("errors.Is(ErrNoManager) = %v, want %v", !tc.noManager, tc.noManager)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("manager (-want +got):\n%s", diff)
			}
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
	if err == nil || errors.Is(err, actions.ErrNoManager) || !httpapi.HasStatus(err, 403) {
		t.Fatalf("error = %v, want a 403 DirectoryError that is not ErrNoManager", err)
	}
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
