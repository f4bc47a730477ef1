package google

import (
	"context"
	"net/http"
	"testing"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/google/fakegoogle"
	"github.com/mfadesk/mfadesk/actions/directories/internal/dirtest"
)

func TestManager(t *testing.T) {
	alice := actions.DirectoryUser{ID: "101", Email: "alice@example.com", DisplayName: "Alice A"}
	tests := []struct {
		name    string
		manager string // the user's relation of type manager
		want    actions.DirectoryUser
		wantErr error
	}{
		{"relation of type manager", "alice@example.com", alice, nil},
		{"manager named by alias", "ali@example.com", alice, nil},
		{"no relation", "", actions.DirectoryUser{}, actions.ErrNoManager},
		{"manager unknown to Google", "gone@example.com", actions.DirectoryUser{}, actions.ErrNoManager},
		{"manager suspended", "carol@example.com", actions.DirectoryUser{}, actions.ErrNoManager},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.f.AddUser(fakegoogle.User{ID: "200", Email: "eve@example.com", Manager: tt.manager})
			got, err := e.d.Manager(context.Background(), "200")
			dirtest.User(t, got, err, tt.want, "", tt.wantErr)
		})
	}
}

func TestManagerFailure(t *testing.T) {
	e := setup(t)
	e.f.FailNext("GET /admin/directory/v1/users/{userKey}", fakegoogle.Failure{Status: http.StatusForbidden, Reason: "forbidden", Message: "Not Authorized to access this resource/api"})
	_, err := e.d.Manager(context.Background(), "101")
	dirtest.Status(t, err, http.StatusForbidden)
}

// Google has no admin-initiated push either.
func TestNoPush(t *testing.T) {
	e := setup(t)
	if actions.SupportsVerify(e.d, actions.VerifyPush) || !actions.SupportsVerify(e.d, actions.VerifyTarget) {
		t.Error("Google must support target and manager verification, not push")
	}
}
