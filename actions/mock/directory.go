package mock

import (
	"context"

	"github.com/mfadesk/mfadesk/actions"
)

// Directory is an actions.Directory whose methods call the matching Fn
// field. NameValue is what Name returns ("mock" when empty).
type Directory struct {
	calls
	NameValue      string
	SupportsFn     func(a actions.Action) actions.Support
	ManualStepsFn  func(a actions.Action) string
	ResolveUserFn  func(ctx context.Context, email string) (actions.DirectoryUser, error)
	IsPrivilegedFn func(ctx context.Context, userID string) (bool, error)
	PerformFn      func(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error)
	ManagerFn      func(ctx context.Context, userID string) (actions.DirectoryUser, error)
}

var _ actions.Directory = (*Directory)(nil)

// Name returns NameValue, or "mock".
func (d *Directory) Name() string {
	if d.NameValue == "" {
		return "mock"
	}
	return d.NameValue
}

// Supports calls SupportsFn.
func (d *Directory) Supports(a actions.Action) actions.Support {
	return called(&d.calls, "Directory", "Supports", d.SupportsFn)(a)
}

// ManualSteps calls ManualStepsFn.
func (d *Directory) ManualSteps(a actions.Action) string {
	return called(&d.calls, "Directory", "ManualSteps", d.ManualStepsFn)(a)
}

// ResolveUser calls ResolveUserFn.
func (d *Directory) ResolveUser(ctx context.Context, email string) (actions.DirectoryUser, error) {
	return called(&d.calls, "Directory", "ResolveUser", d.ResolveUserFn)(ctx, email)
}

// IsPrivileged calls IsPrivilegedFn.
func (d *Directory) IsPrivileged(ctx context.Context, userID string) (bool, error) {
	return called(&d.calls, "Directory", "IsPrivileged", d.IsPrivilegedFn)(ctx, userID)
}

// Perform calls PerformFn.
func (d *Directory) Perform(ctx context.Context, a actions.Action, t actions.Target) (actions.Performed, error) {
	return called(&d.calls, "Directory", "Perform", d.PerformFn)(ctx, a, t)
}

// Manager calls ManagerFn.
func (d *Directory) Manager(ctx context.Context, userID string) (actions.DirectoryUser, error) {
	return called(&d.calls, "Directory", "Manager", d.ManagerFn)(ctx, userID)
}
