package fakeokta

import (
	"strings"
	"testing"
)

// TestFakeRefusesUndocumentedRequests checks the fake itself: a path, a
// method or a query parameter the OpenAPI description lacks is refused.
func TestFakeRefusesUndocumentedRequests(t *testing.T) {
	s := loadSpec(t)
	tests := []struct {
		method, path, query string
		ok                  bool
	}{
		{"POST", "/api/v1/users/00u1/lifecycle/suspend", "", true},
		{"DELETE", "/api/v1/users/00u1/sessions", "oauthTokens=true&forgetDevices=true", true},
		{"GET", "/api/v1/users/alice@example.com", "", true},
		{"GET", "/api/v1/users/00u1/roles", "", true},
		{"POST", "/api/v1/users/00u1/lifecycle/bogus", "", false},
		{"GET", "/api/v1/users/00u1/lifecycle/suspend", "", false},
		{"DELETE", "/api/v1/users/00u1/sessions", "everything=true", false},
	}
	for _, tt := range tests {
		rt, _ := s.match(tt.path)
		ok := rt != nil
		if ok {
			_, ok = rt.methods[tt.method]
		}
		if ok && tt.query != "" {
			for _, kv := range strings.Split(tt.query, "&") {
				ok = ok && rt.methods[tt.method][strings.SplitN(kv, "=", 2)[0]]
			}
		}
		if ok != tt.ok {
			t.Errorf("%s %s?%s documented = %v, want %v", tt.method, tt.path, tt.query, ok, tt.ok)
		}
	}
}
