package fakeokta

import (
	"net/http"
	"strings"
	"testing"
)

// TestFakeRefusesUndocumentedRequests checks the fake itself: a path, a
// method or a query parameter the OpenAPI description lacks is refused.
func TestFakeRefusesUndocumentedRequests(t *testing.T) {
	s := spec.Must(t)
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

// TestFailNextByPath: a failure for one user's path leaves the others alone;
// a template's failure hits whoever comes first.
func TestFailNextByPath(t *testing.T) {
	f := New(t)
	f.AddUser(User{ID: "00u1", Login: "a@example.com", Email: "a@example.com"})
	f.AddUser(User{ID: "00u2", Login: "b@example.com", Email: "b@example.com"})
	f.FailNext("POST /api/v1/users/00u2/lifecycle/suspend", Failure{Status: 403, Code: "E0000006", Detail: "no"})
	f.FailNext("POST /api/v1/users/{id}/lifecycle/unsuspend", Failure{Status: 500, Code: "E0000009", Detail: "oops"})
	post := func(path string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, f.URL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "SSWS "+Token)
		resp, err := f.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, step := range []struct {
		path string
		want int
	}{
		{"/api/v1/users/00u1/lifecycle/suspend", 200},
		{"/api/v1/users/00u2/lifecycle/suspend", 403},
		{"/api/v1/users/00u2/lifecycle/suspend", 200},
		{"/api/v1/users/00u1/lifecycle/unsuspend", 500},
		{"/api/v1/users/00u1/lifecycle/unsuspend", 200},
	} {
		if got := post(step.path); got != step.want {
			t.Errorf("POST %s = %d, want %d", step.path, got, step.want)
		}
	}
	if u := f.User("00u2"); u.Status != "SUSPENDED" {
		t.Errorf("00u2 is %s", u.Status)
	}
}
