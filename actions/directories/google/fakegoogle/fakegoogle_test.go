package fakegoogle

import "testing"

func TestFakeRefusesUndocumentedRequests(t *testing.T) {
	tests := []struct {
		method, path string
		ok           bool
	}{
		{"POST", "/admin/directory/v1/users/a@example.com/signOut", true},
		{"DELETE", "/admin/directory/v1/users/1/asps/12", true},
		{"PUT", "/admin/directory/v1/users/1", true},
		{"GET", "/admin/directory/v1/users/1/signOut", false},
		{"POST", "/admin/directory/v1/users/1/twoStepVerification/turnOn", false},
		{"POST", "/admin/directory/v1/users/1/asps", false},
	}
	for _, tt := range tests {
		tmpl, _, _ := matchRoute(tt.method, tt.path)
		if (tmpl != "") != tt.ok {
			t.Errorf("%s %s documented = %v, want %v", tt.method, tt.path, tmpl != "", tt.ok)
		}
	}
}
