package actions_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mfadesk/mfadesk/actions"
	"github.com/mfadesk/mfadesk/actions/mock"
)

// The service's logic (policy refusals, submission problems, the questions
// the bot asks) needs no database: these tests run it over mock.Store. What
// a database guarantees (exactly once, crashes, concurrent replicas) is
// tested on SQLite and PostgreSQL in workflow_test.go, exactlyonce_test.go
// and storage/.

// memory is a mock.Store that keeps requests and events in maps, with the
// Update contract's visible behaviour (fn's error writes nothing; Version
// goes up) and none of a database's guarantees.
type memory struct {
	mock.Store
	mu       sync.Mutex
	requests map[string]actions.Request
	events   []actions.Event
}

func newMemory() *memory {
	m := &memory{requests: map[string]actions.Request{}}
	m.CreateRequestFn = func(_ context.Context, r actions.Request, evs []actions.Event) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.requests[r.ID] = r.Clone()
		m.events = append(m.events, evs...)
		return nil
	}
	m.RequestFn = func(_ context.Context, id string) (actions.Request, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		r, ok := m.requests[id]
		if !ok {
			return actions.Request{}, fmt.Errorf("request %s: %w", id, actions.ErrNotFound)
		}
		return r.Clone(), nil
	}
	m.UpdateFn = func(_ context.Context, id string, fn func(actions.Request) (actions.Request, []actions.Event, error)) (actions.Request, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		r, ok := m.requests[id]
		if !ok {
			return actions.Request{}, fmt.Errorf("request %s: %w", id, actions.ErrNotFound)
		}
		n, evs, err := fn(r.Clone())
		if err != nil {
			return actions.Request{}, err
		}
		n.Version = r.Version + 1
		m.requests[id] = n.Clone()
		m.events = append(m.events, evs...)
		return n, nil
	}
	m.AppendEventsFn = func(_ context.Context, evs ...actions.Event) error {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.events = append(m.events, evs...)
		return nil
	}
	return m
}

// refused counts the refused events for request id ("" for submissions).
func (m *memory) refused(id, actor string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.events {
		if e.Kind == actions.EventRefused && e.RequestID == id && (actor == "" || e.Actor == actor) {
			n++
		}
	}
	return n
}

// mockDir is a mock.Directory that knows every email but unknown, and
// whose users listed in admins hold an admin role.
func mockDir(unknown, admins []string) *mock.Directory {
	return &mock.Directory{
		NameValue: "fake",
		SupportsFn: func(a actions.Action) actions.Support {
			if a == actions.DeleteAppPasswords {
				return actions.Manual
			}
			return actions.Automated
		},
		ManualStepsFn: func(actions.Action) string { return "1. open the portal\n2. click delete" },
		ResolveUserFn: func(_ context.Context, email string) (actions.DirectoryUser, error) {
			if slices.Contains(unknown, email) {
				return actions.DirectoryUser{}, fmt.Errorf("%s: %w", email, actions.ErrUnknownUser)
			}
			return actions.DirectoryUser{ID: "id-" + email, Email: email}, nil
		},
		IsPrivilegedFn: func(_ context.Context, id string) (bool, error) {
			return slices.Contains(admins, id), nil
		},
	}
}

type mockRig struct {
	store  *memory
	dir    *mock.Directory
	notify *mock.Notifier
	svc    *actions.Service
	now    *clock
}

func newMockRig(t *testing.T, dir *mock.Directory) *mockRig {
	t.Helper()
	pol := mustPolicy(t, policyYAML)
	r := &mockRig{store: newMemory(), dir: dir, now: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)},
		notify: &mock.Notifier{
			ChangedFn:     func(context.Context, actions.Request) {},
			ManualStepsFn: func(context.Context, actions.Request, string) error { return nil },
		}}
	r.svc = actions.NewService(r.store, dir, pol, actions.ServiceOptions{Notifier: r.notify, Now: r.now.Now})
	return r
}

func (r *mockRig) submit(t *testing.T, a actions.Action, targets []actions.Person) actions.Request {
	t.Helper()
	return submitRequest(t, r.svc, a, targets)
}

func TestServiceRefusals(t *testing.T) {
	r := newMockRig(t, mockDir(nil, nil))
	ts := people(1)
	req := r.submit(t, actions.ResetPassword, ts)
	for _, tt := range []struct {
		name string
		by   actions.Person
		want error
	}{
		{"self approval", requester, actions.ErrForbidden},
		{"no role", actions.Person{SlackID: "U0NOBODY", Email: "x@example.com"}, actions.ErrForbidden},
		{"target approves", ts[0], actions.ErrForbidden},
	} {
		if _, err := r.svc.Approve(t.Context(), req.ID, tt.by); !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := r.svc.Approve(t.Context(), "RNOSUCH", approver); !errors.Is(err, actions.ErrNotFound) {
		t.Errorf("unknown id: err = %v", err)
	}
	if got, _ := r.svc.Get(t.Context(), req.ID); got.State != actions.StatePending {
		t.Errorf("state = %s after refusals", got.State)
	}
	if n := r.store.refused(req.ID, ""); n != 3 {
		t.Errorf("refused events = %d, want 3", n)
	}
	for _, e := range r.store.events {
		if e.Kind == actions.EventRefused && (e.Action != actions.ResetPassword || e.Actor == "" || e.Detail == "") {
			t.Errorf("refused event lacks action, actor or reason: %+v", e)
		}
	}

	// An unauthorized requester is refused with an audit event and nothing stored.
	_, err := r.svc.Submit(t.Context(), actions.Draft{Requester: approver, Action: actions.ResetPassword, Targets: ts, Reason: "x"})
	var v *actions.ValidationError
	if !errors.As(err, &v) || v.Field(actions.FieldAction) == "" {
		t.Fatalf("unauthorized submit: %v", err)
	}
	if n := r.store.refused("", approver.SlackID); n != 1 {
		t.Errorf("refused submission events = %d, want 1", n)
	}
	// A typing mistake is not a policy refusal: no audit event.
	if _, err := r.svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: actions.ResetPassword, Targets: ts, Reason: " "}); !errors.As(err, &v) {
		t.Fatalf("empty reason: %v", err)
	}
	if n := r.store.refused("", ""); n != 1 {
		t.Errorf("refused submission events = %d after a typing mistake, want still 1", n)
	}
	if n := r.store.Calls("CreateRequest"); n != 1 {
		t.Errorf("%d requests stored, want 1", n)
	}
}

func TestServiceSubmitProblems(t *testing.T) {
	ts := people(3)
	r := newMockRig(t, mockDir([]string{ts[1].Email}, []string{"id-" + ts[2].Email}))
	for _, tt := range []struct {
		name    string
		targets []actions.Person
		action  actions.Action
		field   string
	}{
		{"unknown user", ts[:2], actions.RevokeMFASessions, actions.FieldTargets},
		{"privileged target", []actions.Person{ts[0], ts[2]}, actions.RevokeMFASessions, actions.FieldTargets},
		{"action not in policy", ts[:1], actions.BlockSignIn, actions.FieldAction},
	} {
		_, err := r.svc.Submit(t.Context(), actions.Draft{Requester: requester, Action: tt.action, Targets: tt.targets, Reason: "r"})
		var v *actions.ValidationError
		if !errors.As(err, &v) || v.Field(tt.field) == "" {
			t.Errorf("%s: err = %v, want a problem with %s", tt.name, err, tt.field)
		}
	}
	if n := r.store.Calls("CreateRequest"); n != 0 {
		t.Errorf("%d requests stored, want none", n)
	}
	// A privileged requester may act on the admin.
	req, err := r.svc.Submit(t.Context(), actions.Draft{Requester: actions.Person{SlackID: "U0PAUTH"}, Action: actions.RevokeMFASessions,
		Targets: []actions.Person{ts[2]}, Reason: "compromised admin"})
	if err != nil || !req.Privileged() {
		t.Fatalf("privileged submit: %+v, %v", req, err)
	}
	if _, err := r.svc.Approve(t.Context(), req.ID, approver); !errors.Is(err, actions.ErrForbidden) {
		t.Errorf("authentication admin approved a privileged request: %v", err)
	}
	if _, err := r.svc.Approve(t.Context(), req.ID, globalAdm); err != nil {
		t.Errorf("global admin: %v", err)
	}
}

func TestServiceQuestions(t *testing.T) {
	r := newMockRig(t, mockDir(nil, nil))
	ts := people(1)
	req := r.submit(t, actions.RevokeMFASessions, ts)
	nobody := actions.Person{SlackID: "U0NOBODY", Email: "x@example.com"}

	for _, c := range []struct {
		name string
		by   actions.Person
		want error
	}{
		{"requester", requester, nil},
		{"approver", approver, nil},
		{"no role", nobody, actions.ErrNotFound},
		{"target without a role", ts[0], actions.ErrNotFound},
	} {
		if _, err := r.svc.Status(t.Context(), req.ID, c.by); !errors.Is(err, c.want) {
			t.Errorf("Status by %s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := r.svc.Status(t.Context(), "RNOSUCHID00", approver); !errors.Is(err, actions.ErrNotFound) {
		t.Errorf("Status of an unknown ID: %v", err)
	}

	for _, c := range []struct {
		name    string
		by      actions.Person
		want    error
		refused int // refused events recorded
	}{
		{"approver", approver, nil, 0},
		{"requester", requester, actions.ErrForbidden, 1},
		{"no role", nobody, actions.ErrForbidden, 1},
	} {
		before := r.store.refused(req.ID, "")
		got, err := r.svc.AuthorizeDeny(t.Context(), req.ID, c.by)
		if !errors.Is(err, c.want) || (err == nil && got.ID != req.ID) {
			t.Errorf("AuthorizeDeny by %s: %v %v, want %v", c.name, got.ID, err, c.want)
		}
		if n := r.store.refused(req.ID, "") - before; n != c.refused {
			t.Errorf("AuthorizeDeny by %s recorded %d refusals, want %d", c.name, n, c.refused)
		}
	}
	if cur, _ := r.svc.Get(t.Context(), req.ID); cur.State != actions.StatePending {
		t.Errorf("AuthorizeDeny changed the request to %s", cur.State)
	}

	r.now.Advance(2 * time.Hour)
	if _, err := r.svc.AuthorizeDeny(t.Context(), req.ID, approver); !errors.Is(err, actions.ErrExpired) {
		t.Errorf("AuthorizeDeny past the deadline: %v", err)
	}
	if cur, _ := r.svc.Get(t.Context(), req.ID); cur.State != actions.StateExpired {
		t.Errorf("past the deadline the request is %s, want expired", cur.State)
	}

	if got := r.svc.MaxTargets(); got != 50 {
		t.Errorf("MaxTargets = %d, want the policy's 50", got)
	}
	if r.svc.ManualSteps(actions.DeleteAppPasswords) == "" {
		t.Error("ManualSteps: the directory's steps are missing")
	}
	var v *actions.ValidationError
	if err := r.svc.CheckDraft(actions.Draft{Requester: requester, Action: actions.RevokeMFASessions}); !errors.As(err, &v) {
		t.Errorf("CheckDraft of a draft without targets or reason: %v", err)
	}
}
