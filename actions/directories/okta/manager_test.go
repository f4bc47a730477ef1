package okta

import (
	"context"
	"net/http"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/internal/dirtest"
	"github.com/mfadesk/mfadesk/actions/directories/okta/fakeokta"
)

func TestManager(t *testing.T) {
	alice := actions.DirectoryUser{ID: "00ualice", Email: "alice@example.com", DisplayName: "Alice A"}
	tests := []struct {
		name               string
		managerID, manager string // profile.managerId and profile.manager
		want               actions.DirectoryUser
		wantErr            error
	}{
		{"profile.managerId", "00ualice", "", alice, nil},
		{"managerId wins over manager", "00ualice", "bob@example.com", alice, nil},
		{"profile.manager holding a login", "", "alice@example.com", alice, nil},
		{"profile.manager a display name only", "", "Alice A", actions.DirectoryUser{}, actions.ErrNoManager},
		{"none", "", "", actions.DirectoryUser{}, actions.ErrNoManager},
		{"manager unknown", "00ugone", "", actions.DirectoryUser{}, actions.ErrNoManager},
		{"manager suspended", "00ucarol", "", actions.DirectoryUser{}, actions.ErrNoManager},
		{"manager deprovisioned", "00ughost", "", actions.DirectoryUser{}, actions.ErrNoManager},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, f, _ := setup(t)
			f.AddUser(fakeokta.User{ID: "00ueve", Login: "eve@example.com", ManagerID: tt.managerID, Manager: tt.manager})
			got, err := d.Manager(context.Background(), "00ueve")
			dirtest.User(t, got, err, tt.want, "", tt.wantErr)
		})
	}
}

func TestManagerFailure(t *testing.T) {
	d, f, _ := setup(t)
	f.FailNext("GET /api/v1/users/{id}", fakeokta.Failure{Status: http.StatusForbidden, Code: "E0000006", Detail: "You do not have permission to perform the requested action"})
	_, err := d.Manager(context.Background(), "00ualice")
	dirtest.Status(t, err, http.StatusForbidden)
}
