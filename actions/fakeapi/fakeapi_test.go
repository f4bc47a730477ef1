package fakeapi

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a TB that records what a helper reports instead of failing
// the test that runs it.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	fatal    bool
	cleanups []func()
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...); r.fatal = true }

// end runs the cleanups, last registered first, as a test's end does.
func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestStart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(TB, http.Handler) *httptest.Server
		tls   bool
	}{
		{"plain", Start, false},
		{"TLS", StartTLS, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &recorder{TB: t}
			srv := tc.start(r, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "hi") }))
			if strings.HasPrefix(srv.URL, "https://") != tc.tls {
				t.Errorf("URL %s", srv.URL)
			}
			resp, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "hi" {
				t.Errorf("body %q", b)
			}
			r.end()
			if _, err := srv.Client().Get(srv.URL); err == nil {
				t.Error("the server still answers after the test ended")
			}
		})
	}
}

func TestFaults(t *testing.T) {
	var fs Faults
	fs.Add(Fault{Match: "GET /users/{id}", Status: 503, Times: 2},
		Fault{Match: "GET /users/7", Status: 403, Times: 1},
		Fault{Match: "/users", Status: 429, RetryAfter: "3", Times: 0})
	type take struct {
		keys   []string
		status int // 0: no fault
	}
	for i, step := range []take{
		{[]string{"GET /users/7", "GET /users/{id}"}, 403}, // the path's own fault first
		{[]string{"GET /users/7", "GET /users/{id}"}, 503},
		{[]string{"GET /users/8", "GET /users/{id}"}, 503},
		{[]string{"GET /users/7", "GET /users/{id}"}, 0}, // all spent
		{[]string{"/users"}, 0},                          // Times 0 answers nothing
	} {
		f, ok := fs.Take(step.keys...)
		if ok != (step.status != 0) || f.Status != step.status {
			t.Errorf("step %d: Take(%q) = %+v, %v; want status %d", i, step.keys, f, ok, step.status)
		}
	}
	fs.Add(Fault{Match: "/revoke", Status: 429, RetryAfter: "3", Header: http.Header{"X-Extra": {"1"}}, Times: 1})
	if _, ok := fs.Take("POST /users/1/revoke"); ok {
		t.Error("Take matched a key that only contains the fault's Match")
	}
	f, ok := fs.TakeContained("POST /users/1/revoke")
	if !ok || f.Status != 429 {
		t.Fatalf("TakeContained = %+v, %v", f, ok)
	}
	h := http.Header{"X-Extra": {"0"}, "Content-Type": {"application/json"}}
	f.WriteHeaders(h)
	want := http.Header{"X-Extra": {"1"}, "Retry-After": {"3"}, "Content-Type": {"application/json"}}
	if diff := cmp.Diff(want, h); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if _, ok := fs.TakeContained("POST /users/1/revoke"); ok {
		t.Error("a spent fault answered again")
	}
}

func TestLogAndVar(t *testing.T) {
	var l Log[string]
	var v Var[int]
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.Add(fmt.Sprint(i))
			v.Set(v.Get() + 0)
		}()
	}
	wg.Wait()
	all := l.All()
	if len(all) != 20 {
		t.Fatalf("%d calls logged, want 20", len(all))
	}
	all[0] = "changed"
	if l.All()[0] == "changed" {
		t.Error("All shares the log's storage")
	}
	v.Set(7)
	if v.Get() != 7 {
		t.Errorf("Var = %d", v.Get())
	}
}

func TestNullIfEmpty(t *testing.T) {
	if v := NullIfEmpty(""); v != nil {
		t.Errorf(`NullIfEmpty("") = %#v, want nil`, v)
	}
	if v := NullIfEmpty("x"); v != "x" {
		t.Errorf(`NullIfEmpty("x") = %#v`, v)
	}
}

func TestCopyAndStore(t *testing.T) {
	type rec struct{ list []string }
	clone := func(r *rec) rec { return rec{list: append([]string(nil), r.list...)} }
	var mu sync.Mutex
	m := map[string]*rec{}
	in := rec{list: []string{"a"}}
	Store(&mu, m, "k", in, clone)
	in.list[0] = "changed by the test"
	got := Copy(&mu, m, "k", clone)
	if !cmp.Equal(got.list, []string{"a"}) {
		t.Errorf("stored %q: Store kept the caller's list", got.list)
	}
	got.list[0] = "changed again"
	if m["k"].list[0] != "a" {
		t.Error("Copy handed out the stored list")
	}
	if z := Copy(&mu, m, "none", clone); z.list != nil {
		t.Errorf("Copy of a missing key = %+v, want the zero value", z)
	}
}

func TestSpec(t *testing.T) {
	calls := 0
	lines := NewSpec("Graph's licence", "graph-v1.0.LICENSE", func(b []byte) (int, error) {
		calls++
		return strings.Count(string(b), "\n"), nil
	})
	for range 2 {
		n, err := lines.Load()
		if err != nil || n == 0 {
			t.Fatalf("Load = %d, %v", n, err)
		}
	}
	if calls != 1 {
		t.Errorf("parsed %d times, want once", calls)
	}

	broken := NewSpec("Broken", "graph-v1.0.LICENSE", func([]byte) (int, error) { return 0, errors.New("no good") })
	missing := NewSpec("Missing", "no-such-description.json", func([]byte) (int, error) { return 1, nil })
	for _, tc := range []struct {
		spec *Spec[int]
		want []string
	}{
		{broken, []string{"Broken: ", "graph-v1.0.LICENSE: no good"}},
		{missing, []string{"Missing: find no-such-description.json: ", "shared/reference/no-such-description.json does not exist"}},
	} {
		r := &recorder{TB: t}
		tc.spec.Must(r)
		if !r.fatal || len(r.errs) != 1 {
			t.Fatalf("Must reported %q, fatal %v", r.errs, r.fatal)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.errs[0], w) {
				t.Errorf("error %q lacks %q", r.errs[0], w)
			}
		}
	}
}

func TestUndocumentedFailsAtCleanup(t *testing.T) {
	r := &recorder{TB: t}
	var u Undocumented
	u.FailAtCleanup(r, "Okta's OpenAPI description")
	u.Add("GET /api/v1/bogus")
	u.Add("POST /api/v1/users (query parameter x)")
	if len(r.errs) != 0 {
		t.Fatalf("reported before the end: %q", r.errs)
	}
	r.end()
	want := []string{
		"client sent a request Okta's OpenAPI description does not document: GET /api/v1/bogus",
		"client sent a request Okta's OpenAPI description does not document: POST /api/v1/users (query parameter x)",
	}
	if diff := cmp.Diff(want, r.errs); diff != "" {
		t.Errorf("reports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[0][len("client sent a request Okta's OpenAPI description does not document: "):], u.List()[0]); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
}

func TestPathTemplate(t *testing.T) {
	tests := []struct {
		template, path string
		want           map[string]string // nil: no match
	}{
		{"/api/v1/users/{id}", "/api/v1/users/00u1", map[string]string{"id": "00u1"}},
		{"/api/v1/users/{id}", "/api/v1/users/a%40example.com", map[string]string{"id": "a@example.com"}},
		{"/api/v1/users/{id}", "/api/v1/users/a%2Fb", map[string]string{"id": "a/b"}},
		{"/u/{userKey}/asps/{codeId}", "/u/1/asps/12", map[string]string{"userKey": "1", "codeId": "12"}},
		{"/api/v1/users/{id}", "/api/v1/users/", nil},
		{"/api/v1/users/{id}", "/api/v1/users/%zz", nil},
		{"/api/v1/users/{id}", "/api/v1/users/1/roles", nil},
		{"/api/v1/users/me", "/api/v1/users/you", nil},
		{"/api/v1/users/{id", "/api/v1/users/x", nil},
	}
	for _, tt := range tests {
		got, ok := ParsePathTemplate(tt.template).Match(Segments(tt.path))
		if ok != (tt.want != nil) || !cmp.Equal(got, tt.want) {
			t.Errorf("%s ~ %s = %v, %v; want %v", tt.template, tt.path, got, ok, tt.want)
		}
	}
	if n := ParsePathTemplate("/api/v1/users/{id}/lifecycle/suspend").Literals(); n != 5 {
		t.Errorf("Literals = %d, want 5", n)
	}
}

func TestCapturedLogAndSecrets(t *testing.T) {
	logger, buf := DebugLogger()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); logger.Debug("may retry", "attempt", i) }()
	}
	wg.Wait()
	if n := strings.Count(buf.String(), "level=DEBUG msg=\"may retry\""); n != 10 {
		t.Fatalf("%d debug lines captured, want 10:\n%s", n, buf.String())
	}
	for _, tc := range []struct {
		secrets []string
		want    []string
	}{
		{[]string{"hunter2", "PRIVATE KEY"}, nil},
		{[]string{"attempt=3", "hunter2"}, []string{`log contains the secret "attempt=3"`}},
		{[]string{""}, []string{"NoSecrets: an empty secret to look for in the log"}},
	} {
		r := &recorder{TB: t}
		NoSecrets(r, "log", buf.String(), tc.secrets...)
		if len(r.errs) != len(tc.want) {
			t.Fatalf("NoSecrets(%q) reported %q, want %q", tc.secrets, r.errs, tc.want)
		}
		for i, w := range tc.want {
			if !strings.HasPrefix(r.errs[i], w) {
				t.Errorf("NoSecrets(%q) reported %q, want it to start %q", tc.secrets, r.errs[i], w)
			}
		}
	}
}
