// Package fakeapi is test support for mfadesk's fake servers
// (actions/directories/entra/fakegraph, actions/directories/google/fakegoogle,
// actions/directories/okta/fakeokta and bot/fakeslack): the scaffolding they
// share, in the spirit of go-github's setup().
//
//   - Start and StartTLS start the httptest server and close it when the
//     test ends.
//   - Faults is the failure-injection table (match, status, Retry-After,
//     times), Log the call log, Var a setting a test changes while the fake
//     serves, Copy and Store the copies of records a fake hands tests,
//     NullIfEmpty the null a service answers for an unset string.
//   - Spec reads the published API description a fake checks requests
//     against (from shared/reference, see Reference) once per process;
//     Undocumented collects what a client sent that the description does
//     not document and fails the test at its end; PathTemplate matches
//     request paths against the description's path templates. What each
//     description says (Graph's CSDL, Okta's OpenAPI, the Directory API's
//     methods, Slack's Web API excerpt) stays in its fake.
//   - LockedBuffer and DebugLogger capture a logger's output, NoSecrets
//     checks captured text for secrets.
//
// Production code never imports it: only tests, the fakes, other test
// support (actions/directories/internal/dirtest) and `mfadesk demo` (which
// serves bot/fakeslack) do; TestImportedOnlyByTestsFakesAndDemo checks that.
// It does not import testing, so that the demo does not link it: TB is the
// part of testing.TB it needs.
package fakeapi

import (
	"net/http"
	"net/http/httptest"
	"sync"
)

// TB is the part of testing.TB the scaffold uses; *testing.T and
// *testing.B satisfy it.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Start serves h on a new httptest server on 127.0.0.1, closed when t ends.
func Start(t TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// StartTLS is Start over TLS, with httptest's certificate (valid for
// 127.0.0.1): the server's Client trusts it.
func StartTLS(t TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Log is a call log: what a fake received, oldest first. Its zero value is
// ready; it is safe for concurrent use.
type Log[T any] struct {
	mu    sync.Mutex
	calls []T
}

// Add appends c.
func (l *Log[T]) Add(c T) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// All returns a copy of the log, oldest first.
func (l *Log[T]) All() []T {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]T(nil), l.calls...)
}

// Var is a setting of a fake that a test may change while the fake serves
// (a page size, a token, a latency). Its zero value holds T's zero value; it
// is safe for concurrent use. It must not be copied after first use.
type Var[T any] struct {
	mu sync.Mutex
	v  T
}

// Get returns the value.
func (x *Var[T]) Get() T {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.v
}

// Set replaces the value.
func (x *Var[T]) Set(v T) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.v = v
}

// NullIfEmpty is s, or nil (JSON's null) when s is empty: how the services
// answer a string property that is not set.
func NullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Copy returns a copy, made by clone, of the record m holds under key, or
// T's zero value when it holds none, with mu (the lock that guards m) held:
// what a fake hands a test, so that the test never shares a record the
// fake's handlers change.
func Copy[T any](mu *sync.Mutex, m map[string]*T, key string, clone func(*T) T) T {
	mu.Lock()
	defer mu.Unlock()
	if p := m[key]; p != nil {
		return clone(p)
	}
	var zero T
	return zero
}

// Store puts a copy of v, made by clone, in m under key, with mu (the lock
// that guards m) held, replacing what m held there.
func Store[T any](mu *sync.Mutex, m map[string]*T, key string, v T, clone func(*T) T) {
	c := clone(&v)
	mu.Lock()
	defer mu.Unlock()
	m[key] = &c
}
