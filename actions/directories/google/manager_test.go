package google

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/directories/google/fakegoogle"
	"github.com/mfadesk/mfadesk/actions/directories/internal/httpapi"
)

func TestManager(t *testing.T) {
	tests := []struct {
		name      string
		user      fakegoogle.User
		want      actions.DirectoryUser
		noManager bool
		wantErr   bool
	}{
		{name: "relation of type manager", user: fakegoogle.User{ID: "200", Email: "eve@example.com", Manager: "alice@example.com"},
			want: actions.DirectoryUser{ID: "101", Email: "alice@example.com", DisplayName: "Alice A"}},
		{name: "manager named by alias", user: fakegoogle.User{ID: "200", Email: "eve@example.com", Manager: "ali@example.com"},
			want: actions.DirectoryUser{ID: "101", Email: "alice@example.com", DisplayName: "Alice A"}},
		{name: "no relation", user: fakegoogle.User{ID: "200", Email: "eve@example.com"}, noManager: true},
		{name: "manager unknown to Google", user: fakegoogle.User{ID: "200", Email: "eve@example.com", Manager: "gone@example.com"}, noManager: true},
		{name: "manager suspended", user: fakegoogle.User{ID: "200", Email: "eve@example.com", Manager: "carol@example.com"}, noManager: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.f.AddUser(tt.user)
			got, err := e.d.Manager(context.Background(), tt.user.ID)
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
	e := setup(t)
	e.f.FailNext("GET /admin/directory/v1/users/{userKey}", fakegoogle.Failure{Status: http.StatusForbidden, Reason: "forbidden", Message: "Not Authorized to access this resource/api"})
	_, err := e.d.Manager(context.Background(), "101")
	if err == nil || errors.Is(err, actions.ErrNoManager) || !httpapi.HasStatus(err, http.StatusForbidden) {
		t.Fatalf("err = %v, want a 403 that is not ErrNoManager", err)
	}
}

// Google has no admin-initiated push either.
func TestNoPush(t *testing.T) {
	e := setup(t)
	if actions.SupportsVerify(e.d, actions.VerifyPush) || !actions.SupportsVerify(e.d, actions.VerifyTarget) {
		t.Error("Google must support target and manager verification, not push")
	}
}
