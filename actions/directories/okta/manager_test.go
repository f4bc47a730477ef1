package okta

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
	"github.com/mfadesk/mfadesk/actions/directories/okta/fakeokta"
)

func TestManager(t *testing.T) {
	alice := actions.DirectoryUser{ID: "00ualice", Email: "alice@example.com", DisplayName: "Alice A"}
	tests := []struct {
		name      string
		user      fakeokta.User
		want      actions.DirectoryUser
		noManager bool
	}{
		{name: "profile.managerId", user: fakeokta.User{ID: "00ueve", Login: "eve@example.com", ManagerID: "00ualice"}, want: alice},
		{name: "managerId wins over manager", user: fakeokta.User{ID: "00ueve", Login: "eve@example.com", ManagerID: "00ualice", Manager: "bob@example.com"}, want: alice},
		{name: "profile.manager holding a login", user: fakeokta.User{ID: "00ueve", Login: "eve@example.com", Manager: "alice@example.com"}, want: alice},
		{name: "profile.manager a display name only", user: fakeokta.User{ID: "00ueve", Login: "eve@example.com", Manager: "Alice A"}, noManager: true},
		{name: "none", user: fakeokta.User{ID: "00ueve", Login: "eve@example.com"}, noManager: true},
		{name: "manager unknown", user: fakeokta.User{ID: "00ueve", Login: "eve@example.com", ManagerID: "00ugone"}, noManager: true},
		{name: "manager suspended", user: fakeokta.User{ID: "00ueve", Login: "eve@example.com", ManagerID: "00ucarol"}, noManager: true},
		{name: "manager deprovisioned", user: fakeokta.User{ID: "00ueve", Login: "eve@example.com", ManagerID: "00ughost"}, noManager: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f, _ := setup(t)
			f.AddUser(tt.user)
			got, err := d.Manager(context.Background(), tt.user.ID)
			if tt.noManager {
				if !errors.Is(err, actions.ErrNoManager) {
					t.Fatalf("err = %v, want ErrNoManager", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("manager (-want +got):\n%s", diff)
			}
		})
	}
}

func TestManagerFailure(t *testing.T) {
	d, f, _ := setup(t)
	f.FailNext("GET /api/v1/users/{id}", fakeokta.Failure{Status: http.StatusForbidden, Code: "E0000006", Detail: "You do not have permission to perform the requested action"})
	_, err := d.Manager(context.Background(), "00ualice")
	if err == nil || errors.Is(err, actions.ErrNoManager) || !httpapi.HasStatus(err, http.StatusForbidden) {
		t.Fatalf("err = %v, want a 403 that is not ErrNoManager", err)
	}
}
